import { EventEmitter } from 'node:events'
import { errors } from '../errors.js'
import { awaitAnswer, httpError, rpcError } from './answer.js'
import { cacheVerdict, cachedVerdict, classifyProbe, LEGACY_VERSIONS, MODERN_VERSIONS, PROBE_ID, type Verdict } from './era.js'
import { honoredFilter, Subscription, wanted, type ListenFilter, type ListenOptions } from './listen.js'
import { readSse } from './sse.js'
import { createSend, type HttpAnswer, type HttpSend } from './transport.js'
import type { ConnectOptions, Era, RequestOptions, RpcMessage, ServerRequestHandlers } from './types.js'

const PV = 'io.modelcontextprotocol/protocolVersion'
const CAPS = 'io.modelcontextprotocol/clientCapabilities'
const INFO = 'io.modelcontextprotocol/clientInfo'
const LOG_LEVEL = 'io.modelcontextprotocol/logLevel'
const ACCEPT = 'application/json, text/event-stream'

type Resolved = Required<Omit<ConnectOptions, 'onLog' | 'mode' | 'agent'>> & Pick<ConnectOptions, 'onLog' | 'mode' | 'agent'>

/** Payload of the `session-reset` event: the server forgot a session, a new one replaced it. */
export interface SessionReset {
  previousSessionId: string
  sessionId: string | undefined
  /** The request that met the 404 and was sent again on the new session. */
  method: string
}

/**
 * A connection to one MCP endpoint, in the era the server speaks: a 2025 session (the id
 * kept and sent for you, re-initialized on a 404, ended with DELETE on `close()`), or
 * stateless 2026-07-28 requests. Events: `session-reset` ({@link SessionReset}),
 * `notification` (every server notification), `warning` (a failure the caller did not
 * wait for: a server→client request that could not be answered, a GET stream given up).
 */
export class McpClient extends EventEmitter {
  /** The endpoint. */
  readonly url: string
  /** `'legacy'` (2025 sessions) or `'modern'` (2026-07-28). */
  era: Era = 'legacy'
  /** The negotiated revision. */
  protocolVersion = LEGACY_VERSIONS[0]!
  /** The 2025 session id, when the server issued one. */
  sessionId: string | undefined
  /** `serverInfo`, `capabilities` and `instructions` from `initialize` or `server/discover`. */
  serverInfo: Record<string, any> | undefined
  capabilities: Record<string, any> = {}
  instructions: string | undefined

  readonly #o: Resolved
  readonly #target: URL
  readonly #send: HttpSend
  readonly #closePool: () => void
  #nextId = 1
  #nextToken = 1
  #closed = false
  #stream: AbortController | undefined
  /** Settles once the GET stream got its first answer (or gave up). */
  #streamOpened: Promise<void> = Promise.resolve()
  /** A subscription wants the 2025 GET stream even when `openStream` is off. */
  #listening = false
  readonly #subscriptions = new Set<Subscription>()
  readonly #progress = new Map<string, (p: { progress: number, total?: number, message?: string }) => void>()

  /** Use {@link connect}. */
  constructor (url: string | URL, options: ConnectOptions = {}) {
    super()
    this.url = String(url)
    this.#o = {
      headers: {},
      clientInfo: { name: 'fastify-mcp-streamable-client', version: '1' },
      connectTimeoutMs: 10_000,
      requestTimeoutMs: 60_000,
      handlers: {},
      logLevel: 'info',
      openStream: true,
      maxInputRounds: 10,
      maxEventChars: 4 << 20,
      maxResumes: 5,
      ...options
    }
    this.#target = new URL(this.url)
    const pool = createSend(this.#o.agent === undefined ? {} : this.#target.protocol === 'https:' ? { https: this.#o.agent as import('node:https').Agent } : { http: this.#o.agent })
    this.#send = pool.send
    this.#closePool = pool.close
  }

  /** Choose the era and, on 2025, open the session. */
  async open (): Promise<void> {
    const mode = this.#o.mode ?? 'auto'
    if (mode === 'legacy') return this.#initialize()
    let verdict = cachedVerdict(this.url, mode)
    if (verdict === undefined) {
      verdict = await this.#probe(typeof mode === 'object' ? [mode.pin] : MODERN_VERSIONS)
      if (typeof mode === 'object' && verdict.era !== 'modern') {
        throw new errors.FST_MCP_ERA_NEGOTIATION(this.url, `pinned to ${mode.pin}, but the server does not offer it (it answered the server/discover probe as a 2025-only server)`)
      }
      cacheVerdict(this.url, mode, verdict)
    }
    if (verdict.era === 'legacy') return this.#initialize()
    this.era = 'modern'
    this.protocolVersion = verdict.version!
    const discover = verdict.discover ?? await this.request('server/discover')
    this.#describe(discover, discover._meta?.['io.modelcontextprotocol/serverInfo'])
  }

  /** `tools/list` (one page; pass the `nextCursor` to get the next). */
  listTools (cursor?: string, options?: RequestOptions): Promise<Record<string, any>> {
    return this.request('tools/list', cursor === undefined ? {} : { cursor }, options)
  }

  /** `tools/call`: the `CallToolResult` (a tool failure is `isError: true`, not an exception). */
  callTool (name: string, args: Record<string, unknown> = {}, options?: RequestOptions): Promise<Record<string, any>> {
    return this.request('tools/call', { name, arguments: args }, options)
  }

  /** `resources/read`: `{ contents }`. */
  readResource (uri: string, options?: RequestOptions): Promise<Record<string, any>> {
    return this.request('resources/read', { uri }, options)
  }

  /** `resources/list` (one page). */
  listResources (cursor?: string, options?: RequestOptions): Promise<Record<string, any>> {
    return this.request('resources/list', cursor === undefined ? {} : { cursor }, options)
  }

  /** `prompts/get`: `{ description?, messages }`. */
  getPrompt (name: string, args: Record<string, string> = {}, options?: RequestOptions): Promise<Record<string, any>> {
    return this.request('prompts/get', { name, arguments: args }, options)
  }

  /** `prompts/list` (one page). */
  listPrompts (cursor?: string, options?: RequestOptions): Promise<Record<string, any>> {
    return this.request('prompts/list', cursor === undefined ? {} : { cursor }, options)
  }

  /**
   * Hear of list changes and resource updates, with one API in both eras: on 2026-07-28 a
   * `subscriptions/listen` stream (resolves once the server acknowledged it); on a 2025
   * session the notifications of the session's GET stream (opened if it is not), with
   * `resources/subscribe` for `resourceSubscriptions`. `notifications` on the result is what
   * the server agreed to send: the flags it advertises.
   */
  async listen (filter: ListenFilter, options: ListenOptions = {}): Promise<Subscription> {
    if (this.#closed) throw new errors.FST_MCP_CLIENT_CLOSED('subscriptions/listen', '')
    return this.era === 'modern' ? this.#modernListen(filter, options) : this.#legacyListen(filter, options)
  }

  async #legacyListen (filter: ListenFilter, options: ListenOptions): Promise<Subscription> {
    const honored = honoredFilter(filter, this.capabilities)
    const uris = honored.resourceSubscriptions ?? []
    const subscribe = async (method: 'resources/subscribe' | 'resources/unsubscribe'): Promise<void> => {
      for (const uri of uris) await this.request(method, { uri })
    }
    const onNotification = (message: RpcMessage): void => { if (wanted(honored, message)) subscription.push(message) }
    // A new session (the old one was forgotten) knows nothing of the old one's subscriptions.
    const onReset = (): void => { void subscribe('resources/subscribe').catch((err: unknown) => this.emit('warning', err)) }
    const subscription = new Subscription(honored, options, async () => {
      this.off('notification', onNotification)
      this.off('session-reset', onReset)
      if (!this.#closed) await subscribe('resources/unsubscribe')
    })
    this.on('notification', onNotification)
    this.on('session-reset', onReset)
    try {
      await subscribe('resources/subscribe')
    } catch (err) {
      await subscription.close()
      throw err
    }
    this.#listening = true
    if (this.sessionId !== undefined && this.#stream === undefined) this.#openStream(this.sessionId)
    // Resolve once the server holds the stream: a change made right after is not missed.
    await this.#streamOpened
    this.#track(subscription)
    return subscription
  }

  #track (subscription: Subscription): void {
    this.#subscriptions.add(subscription)
    void subscription.ended.then(() => this.#subscriptions.delete(subscription))
  }

  async #modernListen (filter: ListenFilter, options: ListenOptions): Promise<Subscription> {
    const id = `listen:${this.#nextId++}`
    const method = 'subscriptions/listen'
    const body = { jsonrpc: '2.0', id, method, params: { notifications: filter, _meta: this.#envelope() } }
    const stream = new AbortController()
    const ackTimer = setTimeout(() => stream.abort(new errors.FST_MCP_REQUEST_TIMEOUT(method, this.#o.requestTimeoutMs)), this.#o.requestTimeoutMs)
    const fail = (err: unknown): never => { throw stream.signal.aborted ? stream.signal.reason : err }
    let res: HttpAnswer
    try {
      res = await this.#post(body, this.#modernHeaders(method), stream.signal).catch(fail)
      if (!res.ok) throw await httpError(res, method)
      if (!(res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
        // Refused in-band (a bad filter, the server's subscription limit): a JSON error.
        const answer = await awaitAnswer(res, { id, what: method, onMessage: () => {}, maxEventChars: this.#o.maxEventChars, maxResumes: 0, signal: stream.signal }).catch(fail)
        throw answer.error === undefined ? new errors.FST_MCP_BAD_RESPONSE(method, 'a JSON answer instead of a stream') : rpcError(method, answer.error)
      }
    } catch (err) {
      clearTimeout(ackTimer)
      stream.abort()
      throw err
    }
    let acknowledged!: (subscription: Subscription) => void
    let refused!: (err: unknown) => void
    const ready = new Promise<Subscription>((resolve, reject) => { acknowledged = resolve; refused = reject })
    let subscription: Subscription | undefined
    const completed = new AbortController()
    const teardown = async (): Promise<void> => {
      stream.abort()
      // As the official client does: the stream closed is the cancellation, the notification says so.
      if (!this.#closed) await this.notify('notifications/cancelled', { requestId: id, reason: 'subscription closed by the client' })
    }
    void readSse(res.body, {
      maxEventChars: this.#o.maxEventChars,
      onEvent: (event) => {
        if (event.data === '') return
        const message = JSON.parse(event.data) as RpcMessage
        if (subscription === undefined) {
          if (message.method !== 'notifications/subscriptions/acknowledged') throw new errors.FST_MCP_BAD_RESPONSE(method, `the stream began with ${message.method ?? 'a response'}, not the acknowledgement`)
          clearTimeout(ackTimer)
          subscription = new Subscription(message.params?.notifications ?? {}, options, teardown)
          this.#track(subscription)
          acknowledged(subscription)
        } else if (message.id === id && message.method === undefined) {
          subscription.finish('completed')
          completed.abort()
        } else if (message.method !== undefined && message.id === undefined) {
          subscription.push(message)
          this.#onMessage(message)
        }
      },
      stop: completed.signal
    }).then(() => {
      subscription?.finish('broken')
      refused(new errors.FST_MCP_BAD_RESPONSE(method, 'the stream ended before the acknowledgement'))
    }, (err: unknown) => {
      clearTimeout(ackTimer)
      if (subscription === undefined) refused(stream.signal.aborted && stream.signal.reason !== undefined ? stream.signal.reason : err)
      else if (!subscription.done) {
        subscription.finish('broken')
        this.emit('warning', err)
      }
    })
    return ready
  }

  /**
   * Any request; resolves with its result, rejects with `FST_MCP_RPC_ERROR` (a JSON-RPC
   * error, `rpcCode`), `FST_MCP_HTTP_STATUS` (`status`, with the fix in the message),
   * `FST_MCP_REQUEST_TIMEOUT`, or the signal's reason.
   */
  async request (method: string, params: Record<string, any> = {}, options: RequestOptions = {}): Promise<Record<string, any>> {
    if (this.#closed) throw new errors.FST_MCP_CLIENT_CLOSED(method, '')
    let token: string | undefined
    if (options.onProgress !== undefined) {
      token = `p${this.#nextToken++}`
      this.#progress.set(token, options.onProgress)
    }
    try {
      return this.era === 'modern'
        ? await this.#modernRequest(method, params, token, options)
        : await this.#legacyRequest(method, params, token, options, false)
    } finally {
      if (token !== undefined) this.#progress.delete(token)
    }
  }

  /** A notification (2025: on the session; 2026-07-28: with the envelope). */
  async notify (method: string, params: Record<string, any> = {}): Promise<void> {
    const message = this.era === 'modern'
      ? { jsonrpc: '2.0', method, params: { ...params, _meta: { ...params._meta, ...this.#envelope() } } }
      : { jsonrpc: '2.0', method, params }
    const res = await this.#post(message, this.#headers(), AbortSignal.timeout(this.#o.requestTimeoutMs))
    if (!res.ok) throw await httpError(res, method)
    res.cancel()
  }

  /** End the session (DELETE; a 405 means the server keeps no sessions to end) and stop the GET stream. */
  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    for (const subscription of this.#subscriptions) await subscription.close()
    this.#stream?.abort()
    if (this.era === 'legacy' && this.sessionId !== undefined) {
      const res = await this.#send(this.#target, { method: 'DELETE', headers: this.#headers(), signal: AbortSignal.timeout(this.#o.connectTimeoutMs) }).catch(() => undefined)
      res?.cancel()
    }
    this.#closePool()
  }

  async #probe (wanted: readonly string[]): Promise<Verdict> {
    const message = { jsonrpc: '2.0', id: PROBE_ID, method: 'server/discover', params: { _meta: this.#envelope(wanted[0]) } }
    const signal = AbortSignal.timeout(this.#o.connectTimeoutMs)
    let res: HttpAnswer
    try {
      res = await this.#post(message, this.#modernHeaders('server/discover', undefined, wanted[0]!), signal)
    } catch (err) {
      throw new errors.FST_MCP_ERA_NEGOTIATION(this.url, `the server/discover probe got no answer (${causeOf(err)}). Check that the server runs and the URL (often ending in /mcp) is right.`)
    }
    return classifyProbe(res, this.url, wanted, signal)
  }

  /** The 2025 handshake: initialize, the session id from the answer's header, initialized, the GET stream. */
  async #initialize (): Promise<void> {
    this.era = 'legacy'
    this.sessionId = undefined
    this.#stream?.abort()
    const message = { jsonrpc: '2.0', id: this.#nextId++, method: 'initialize', params: { protocolVersion: LEGACY_VERSIONS[0], capabilities: this.#capabilities(), clientInfo: this.#o.clientInfo } }
    const signal = AbortSignal.timeout(this.#o.connectTimeoutMs)
    let res: HttpAnswer
    try {
      res = await this.#post(message, { ...this.#o.headers, 'content-type': 'application/json', accept: ACCEPT }, signal)
    } catch (err) {
      throw new errors.FST_MCP_HTTP_STATUS(`no answer to initialize at ${this.url} (${causeOf(err)})`, 'Check that the server runs and the URL (often ending in /mcp) is right.')
    }
    if (!res.ok) throw await httpError(res, 'initialize')
    // Headers are case-insensitive here: `mcp-session-id`, `Mcp-Session-Id`, … all match.
    const sessionId = res.headers.get('mcp-session-id') ?? undefined
    const answer = await awaitAnswer(res, { id: message.id, what: 'initialize', onMessage: (m) => this.#onMessage(m), maxEventChars: this.#o.maxEventChars, maxResumes: 0, signal })
    if (answer.error !== undefined) throw rpcError('initialize', answer.error)
    const result = answer.result ?? {}
    if (!LEGACY_VERSIONS.includes(result.protocolVersion)) {
      throw new errors.FST_MCP_ERA_NEGOTIATION(this.url, `the server chose protocol version "${String(result.protocolVersion)}", which this client does not speak (${LEGACY_VERSIONS.join(', ')})`)
    }
    this.protocolVersion = result.protocolVersion
    this.sessionId = sessionId
    this.#describe(result, result.serverInfo)
    await this.notify('notifications/initialized')
    if ((this.#o.openStream || this.#listening) && sessionId !== undefined) this.#openStream(sessionId)
  }

  #describe (result: Record<string, any>, serverInfo: Record<string, any> | undefined): void {
    this.serverInfo = serverInfo
    this.capabilities = result.capabilities ?? {}
    this.instructions = result.instructions
  }

  async #legacyRequest (method: string, params: Record<string, any>, token: string | undefined, options: RequestOptions, replayed: boolean): Promise<Record<string, any>> {
    const id = this.#nextId++
    const body = { jsonrpc: '2.0', id, method, params: token === undefined ? params : { ...params, _meta: { ...params._meta, progressToken: token } } }
    const sessionId = this.sessionId
    return this.#withDeadline(method, options, () => {
      // 2025 cancellation: tell the server, which stops the handler and sends nothing more.
      if (sessionId !== undefined && this.sessionId === sessionId) void this.notify('notifications/cancelled', { requestId: id, reason: 'cancelled by the client' }).catch(() => {})
    }, async (signal) => {
      const res = await this.#post(body, this.#headers(), signal)
      if (res.status === 404 && sessionId !== undefined && !replayed) {
        // The server never ran the request (it knows no such session): a new session, and the request once more.
        res.cancel()
        await this.#initialize()
        this.emit('session-reset', { previousSessionId: sessionId, sessionId: this.sessionId, method } satisfies SessionReset)
        return this.#legacyRequest(method, params, token, options, true)
      }
      if (!res.ok) throw await httpError(res, method)
      const answer = await awaitAnswer(res, {
        id,
        what: method,
        onMessage: (m) => this.#onMessage(m),
        resume: (lastEventId) => this.#send(this.#target, { method: 'GET', headers: { ...this.#headers(), accept: 'text/event-stream', 'last-event-id': lastEventId }, signal }),
        maxEventChars: this.#o.maxEventChars,
        maxResumes: this.#o.maxResumes,
        signal
      })
      if (answer.error !== undefined) throw rpcError(method, answer.error)
      return answer.result ?? {}
    })
  }

  async #modernRequest (method: string, params: Record<string, any>, token: string | undefined, options: RequestOptions): Promise<Record<string, any>> {
    let extra: Record<string, unknown> = {}
    for (let round = 0; ; round++) {
      const id = this.#nextId++
      const meta = { ...params._meta, ...this.#envelope(), ...(token === undefined ? {} : { progressToken: token }) }
      const body = { jsonrpc: '2.0', id, method, params: { ...params, ...extra, _meta: meta } }
      // 2026-07-28 cancellation is closing the stream, which aborting the request does.
      const result = await this.#withDeadline(method, options, () => {}, async (signal) => {
        const res = await this.#post(body, this.#modernHeaders(method, params), signal)
        if (!res.ok) throw await httpError(res, method)
        // A server must not send requests on a 2026-07-28 stream: only notifications are handled.
        const answer = await awaitAnswer(res, { id, what: method, onMessage: (m) => { if (m.id === undefined) this.#onMessage(m) }, maxEventChars: this.#o.maxEventChars, maxResumes: 0, signal })
        if (answer.error !== undefined) throw rpcError(method, answer.error)
        return answer.result ?? {}
      })
      if (result.resultType !== 'input_required') return result
      if (round + 1 >= this.#o.maxInputRounds) throw new errors.FST_MCP_RPC_ERROR(method, `the server still asked for input after ${this.#o.maxInputRounds} rounds`)
      const inputResponses: Record<string, unknown> = {}
      for (const [key, request] of Object.entries((result.inputRequests ?? {}) as Record<string, { method: string, params?: Record<string, any> }>)) {
        inputResponses[key] = await this.#fulfil(request.method, request.params ?? {})
      }
      extra = { inputResponses, ...(result.requestState === undefined ? {} : { requestState: result.requestState }) }
    }
  }

  /** Run one exchange under the request's timeout and signal. */
  async #withDeadline<T> (method: string, options: RequestOptions, onCancel: () => void, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const ms = options.timeoutMs ?? this.#o.requestTimeoutMs
    const controller = new AbortController()
    const timer = setTimeout(() => { onCancel(); controller.abort(new errors.FST_MCP_REQUEST_TIMEOUT(method, ms)) }, ms)
    const onAbort = (): void => { onCancel(); controller.abort(options.signal!.reason) }
    if (options.signal?.aborted === true) { clearTimeout(timer); throw options.signal.reason }
    options.signal?.addEventListener('abort', onAbort, { once: true })
    try {
      return await run(controller.signal)
    } catch (err) {
      throw controller.signal.aborted ? controller.signal.reason : err
    } finally {
      clearTimeout(timer)
      options.signal?.removeEventListener('abort', onAbort)
    }
  }

  #post (message: unknown, headers: Record<string, string>, signal: AbortSignal): Promise<HttpAnswer> {
    return this.#send(this.#target, { method: 'POST', headers, body: JSON.stringify(message), signal })
  }

  #headers (): Record<string, string> {
    const headers: Record<string, string> = { ...this.#o.headers, 'content-type': 'application/json', accept: ACCEPT, 'mcp-protocol-version': this.protocolVersion }
    if (this.sessionId !== undefined) headers['mcp-session-id'] = this.sessionId
    return headers
  }

  #modernHeaders (method: string, params?: Record<string, any>, version = this.protocolVersion): Record<string, string> {
    const headers: Record<string, string> = { ...this.#o.headers, 'content-type': 'application/json', accept: ACCEPT, 'mcp-protocol-version': version, 'mcp-method': method }
    const name = method === 'resources/read' ? params?.uri : method === 'tools/call' || method === 'prompts/get' ? params?.name : undefined
    if (typeof name === 'string') headers['mcp-name'] = /^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/.test(name) ? name : `=?base64?${Buffer.from(name).toString('base64')}?=`
    return headers
  }

  #capabilities (): Record<string, unknown> {
    const h: ServerRequestHandlers = this.#o.handlers
    const caps: Record<string, unknown> = {}
    if (h.elicitation !== undefined) caps.elicitation = {}
    if (h.sampling !== undefined) caps.sampling = {}
    if (h.roots !== undefined) caps.roots = {}
    return caps
  }

  #envelope (version = this.protocolVersion): Record<string, unknown> {
    const meta: Record<string, unknown> = { [PV]: version, [CAPS]: this.#capabilities(), [INFO]: this.#o.clientInfo }
    if (this.#o.onLog !== undefined) meta[LOG_LEVEL] = this.#o.logLevel
    return meta
  }

  /** A notification or server→client request from any stream. */
  #onMessage (message: RpcMessage): void {
    if (message.method === undefined) return
    if (message.id !== undefined && message.id !== null) {
      void this.#answerServer(message)
      return
    }
    const params = message.params ?? {}
    if (message.method === 'notifications/progress') this.#progress.get(String(params.progressToken))?.(params as any)
    else if (message.method === 'notifications/message') this.#o.onLog?.(params as any)
    this.emit('notification', message)
  }

  /** Answer a 2025 server→client request with a POST on the session. */
  async #answerServer (request: RpcMessage): Promise<void> {
    let reply: Record<string, unknown>
    try {
      reply = { jsonrpc: '2.0', id: request.id, result: await this.#fulfil(request.method!, request.params ?? {}) }
    } catch (err) {
      const code = (err as { rpcCode?: number }).rpcCode ?? -32603
      reply = { jsonrpc: '2.0', id: request.id, error: { code, message: (err as Error).message } }
    }
    try {
      const res = await this.#post(reply, this.#headers(), AbortSignal.timeout(this.#o.requestTimeoutMs))
      if (!res.ok) throw await httpError(res, `the answer to ${request.method!}`)
      res.cancel()
    } catch (err) {
      this.emit('warning', err)
    }
  }

  async #fulfil (method: string, params: Record<string, any>): Promise<Record<string, any>> {
    const h = this.#o.handlers
    const handler = method === 'elicitation/create' ? h.elicitation : method === 'sampling/createMessage' ? h.sampling : method === 'roots/list' ? h.roots : method === 'ping' ? () => ({}) : undefined
    if (handler === undefined) throw Object.assign(new Error(`Method not found: ${method}`), { rpcCode: -32601 })
    return handler(params)
  }

  /** The 2025 GET stream: server notifications and requests, resumed after a break. */
  #openStream (sessionId: string): void {
    const controller = new AbortController()
    this.#stream = controller
    let opened!: () => void
    this.#streamOpened = new Promise((resolve) => { opened = resolve })
    void (async () => {
      let lastEventId: string | undefined
      let retryMs = 1000
      let failures = 0
      while (!controller.signal.aborted && this.sessionId === sessionId && failures <= this.#o.maxResumes) {
        try {
          const headers: Record<string, string> = { ...this.#headers(), accept: 'text/event-stream' }
          if (lastEventId !== undefined) headers['last-event-id'] = lastEventId
          const res = await this.#send(this.#target, { method: 'GET', headers, signal: controller.signal })
          opened()
          if (!res.ok) {
            res.cancel()
            return
          }
          await readSse(res.body, {
            maxEventChars: this.#o.maxEventChars,
            onRetry: (ms) => { retryMs = ms },
            onEvent: (event) => {
              failures = 0
              if (event.id !== undefined) lastEventId = event.id
              if (event.data !== '') this.#onMessage(JSON.parse(event.data) as RpcMessage)
            }
          })
        } catch (err) {
          opened()
          if (controller.signal.aborted) return
          failures++
        }
        await new Promise((resolve) => setTimeout(resolve, retryMs).unref())
      }
    })().catch((err: unknown) => this.emit('warning', err)).finally(opened)
  }
}

function causeOf (err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? (err as Error).message
}

/**
 * Connect to an MCP server over Streamable HTTP: probe `server/discover` (mode `'auto'`,
 * the verdict cached per URL), then speak 2026-07-28 or open a 2025 session.
 */
export async function connect (url: string | URL, options: ConnectOptions = {}): Promise<McpClient> {
  const client = new McpClient(url, options)
  await client.open()
  return client
}
