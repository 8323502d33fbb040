import { randomBytes } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { NormalizedAuth } from '../auth/options.js'
import { refuseInsufficientScope } from '../auth/scope-gate.js'
import type { JsonRpcBody, JsonRpcErrorResponse, JsonRpcMessage, JsonRpcNotification, JsonRpcRequest, JsonRpcResultResponse } from '../../schemas/jsonrpc.js'
import type { McpCore } from '../core/index.js'
import type { ListKind } from '../core/features/feature.js'
import { ErrorCode, McpError, SESSION_NOT_FOUND, errorResponse, resultResponse } from '../core/jsonrpc.js'
import type { SessionRecord } from '../core/session-record.js'
import type { SessionLifecycle } from '../core/session-lifecycle.js'
import { HEADERLESS_VERSION, SUPPORTED_VERSIONS, isSupportedVersion, negotiateVersion, revision } from '../core/versions.js'
import { errors } from '../errors.js'
import { ConnectionSet, SseConnection } from '../http/sse-connection.js'
import { quote, sendHttpError } from '../http/wire.js'
import { shortSessionId, type Logger } from '../log.js'
import { settledWithin } from '../timeout.js'
import type { EventStore } from '../stores/event-store.js'
import type { RedisDeployment } from '../stores/redis.js'
import type { SessionExpiry, SessionStore } from '../stores/session-store.js'
import { RedisCluster } from './cluster.js'
import type { StreamEnv } from './event-stream.js'
import { PostExchange, SessionCaller, SessionRequest, type ExchangeDeps, type ResponseMode, type RequestHome } from './exchange.js'
import { LocalStreams } from './local-streams.js'
import { ClientRequester, OutboundRequests, newInstanceId } from './outbound.js'
import { installSessionMethods, type RootsListChangedListener } from './session-methods.js'
import { LocalSessionStreams, type SessionStreams } from './session-streams.js'

/** What the 2025 front door reads of the plugin's options. */
export interface LegacyOptions {
  readonly stateless: boolean
  readonly responseMode: ResponseMode
  readonly sessionTtlMs: number
  readonly touchIntervalMs: number
  readonly maxInFlightRequests: number
  readonly requestTimeoutMs: number
  readonly maxPendingRequests: number
  readonly sseRetryMs: number
  readonly keepAliveMs: number
  readonly maxQueuedBytes: number
  readonly slowReaderTimeoutMs: number
  readonly maxStreamDurationMs: number
  readonly drainTimeoutMs: number
  readonly redisTimeoutMs: number
  /** Authorization, for the scopes of each operation. */
  readonly auth?: NormalizedAuth | undefined
}

/** The stores the door keeps its sessions and events in. */
export interface LegacyStores {
  readonly sessions: SessionStore
  /** Undefined when resumability is off. */
  readonly events: EventStore | undefined
  /** Other instances can read `events` (Redis, or a store the application passed). */
  readonly eventsShared: boolean
  readonly redis: RedisDeployment | undefined
}

const LIST_CHANGED: Readonly<Record<ListKind, unknown>> = Object.freeze({
  tools: Object.freeze({ jsonrpc: '2.0', method: 'notifications/tools/list_changed' }),
  prompts: Object.freeze({ jsonrpc: '2.0', method: 'notifications/prompts/list_changed' }),
  resources: Object.freeze({ jsonrpc: '2.0', method: 'notifications/resources/list_changed' })
})

const SHUTTING_DOWN = Object.freeze(errorResponse(null, ErrorCode.TransportError, 'Service Unavailable: the server is shutting down'))

/** 192 bits from the CSPRNG, base64url: visible ASCII only, as the spec requires. */
export function newSessionId (): string {
  return randomBytes(24).toString('base64url')
}

function isRequest (message: JsonRpcMessage): message is JsonRpcRequest {
  return 'method' in message && message.id !== undefined
}

function isNotification (message: JsonRpcMessage): message is JsonRpcNotification {
  return 'method' in message && message.id === undefined
}

function single (header: string | string[] | undefined): string | undefined {
  return Array.isArray(header) ? header[0] : header
}

/**
 * The 2025 front door: sessions (`initialize`, `Mcp-Session-Id`, DELETE, expiry), the GET
 * stream, resumability (`Last-Event-ID`), requests to the client over SSE, and, with Redis,
 * the link to the other instances. It turns each message into a caller description for the
 * core and carries the core's answers and announcements back.
 */
export class LegacyDoor {
  readonly #options: LegacyOptions
  readonly #log: Logger
  readonly #core: McpCore
  readonly #store: SessionStore
  readonly #events: EventStore | undefined
  readonly #lifecycle: SessionLifecycle
  readonly #home: RequestHome
  readonly #exchange: ExchangeDeps
  readonly #cluster: RedisCluster | undefined
  /** Another instance can serve a `Last-Event-ID` for this instance's streams. */
  readonly #resumableElsewhere: boolean
  /** Open GET stream connections of this instance. */
  readonly getConnections = new ConnectionSet()
  /** Open connections of streaming POST answers on this instance. */
  readonly postConnections = new ConnectionSet()
  readonly streams: LocalStreams
  readonly outbound: OutboundRequests
  readonly sessionStreams: SessionStreams
  readonly rootsListeners = new Set<RootsListChangedListener>()
  /** Set at `preClose`: new sessions and streams are refused. */
  closing = false
  #streamTouchTimer: NodeJS.Timeout | undefined
  #unsubscribeExpired: (() => void) | undefined
  #drained: Promise<void> = Promise.resolve()

  private constructor (options: LegacyOptions, log: Logger, core: McpCore, stores: LegacyStores, lifecycle: SessionLifecycle) {
    this.#options = options
    this.#log = log
    this.#lifecycle = lifecycle
    this.#core = core
    this.#store = stores.sessions
    const events = this.#events = stores.events
    const telemetry = core.dispatcher.telemetry
    const env: StreamEnv = { events, retryMs: options.sseRetryMs, logger: log, telemetry }
    const outbound = this.outbound = new OutboundRequests(options, newInstanceId(), telemetry)
    this.streams = new LocalStreams(env, (sessionId) => {
      outbound.dropSession(sessionId)
      events?.deleteSession(sessionId).catch((err: unknown) => log.warn({ err }, 'mcp: event history not deleted'))
    })
    // With Redis, the instances route to each other; GET streams are fed from the shared history.
    this.#cluster = stores.redis === undefined ? undefined : new RedisCluster(stores.redis, this.streams, outbound, options.sseRetryMs, log, telemetry)
    this.#resumableElsewhere = events !== undefined && stores.eventsShared
    this.sessionStreams = this.#cluster ?? new LocalSessionStreams(this.streams, this.#store, events, options.sseRetryMs, log, telemetry)
    this.#home = { streams: this.streams, outbound, sessionStreams: this.sessionStreams, maxInFlightRequests: options.maxInFlightRequests }
    // Stream ids end up in event ids: unique per instance, and the prefix keeps instances apart.
    const streamPrefix = 'p' + randomBytes(4).toString('base64url')
    let streamCount = 0
    this.#exchange = {
      mode: options.responseMode,
      streams: this.postConnections,
      env,
      registry: this.streams,
      newStreamId: () => streamPrefix + (streamCount++).toString(36),
      streamOptions: { keepAliveMs: options.keepAliveMs, maxQueuedBytes: options.maxQueuedBytes, slowReaderTimeoutMs: options.slowReaderTimeoutMs, logger: log }
    }
    installSessionMethods({
      dispatcher: core.dispatcher,
      store: this.#store,
      streams: this.streams,
      remote: this.#cluster,
      knowsResource: core.knowsResource,
      rootsListeners: this.rootsListeners,
      logger: log
    })
    core.announceTo({
      listChanged: (kind) => this.#notify(LIST_CHANGED[kind], (session) => session.serverCapabilities[kind]?.listChanged === true),
      resourceUpdated: (uri) => this.#notify(
        { jsonrpc: '2.0', method: 'notifications/resources/updated', params: { uri } },
        (session) => session.serverCapabilities.resources?.subscribe === true && session.subscriptions?.includes(uri) === true,
        uri
      )
    })
  }

  /**
   * Build the door and start what it runs in the background (cluster link, expiry, stream
   * touches). `lifecycle` hears each session start and end.
   */
  static async open (options: LegacyOptions, log: Logger, core: McpCore, stores: LegacyStores, lifecycle: SessionLifecycle): Promise<LegacyDoor> {
    const door = new LegacyDoor(options, log, core, stores, lifecycle)
    await door.#cluster?.start()
    door.#start()
    return door
  }

  #start (): void {
    const options = this.#options
    // The store announces expiries on every instance itself.
    this.#unsubscribeExpired = this.#store.onExpired((sessionId, expiry) => this.#expired(sessionId, expiry))
    // A client holding the GET stream open is using its session even if it sends no POST:
    // refresh those sessions on the same throttle as requests, and at least three times per
    // TTL so one late tick on a busy event loop does not expire them.
    const streamTouchMs = Math.max(1, Math.min(Math.max(options.touchIntervalMs, 1000), Math.floor(options.sessionTtlMs / 3)))
    const timer = this.#streamTouchTimer = setTimeout(() => {
      const now = Date.now()
      for (const sessionId of this.sessionStreams.connectedSessions()) {
        this.#store.touch(sessionId, now).then((alive) => {
          // Gone without a word (its record lapsed, or Redis lost its data): stop holding it open.
          if (alive === false) this.#endSession(sessionId)
        }, (err: unknown) => this.#log.warn({ err }, 'mcp: session touch failed'))
      }
      timer.refresh()
    }, streamTouchMs).unref()
  }

  /** Ask a session's client for something outside any request, over its GET stream. */
  async client (sessionId: string): Promise<ClientRequester> {
    const session = await this.#store.get(sessionId)
    if (session === undefined) throw new errors.FST_MCP_CLIENT_REQUEST('client()', 'no such session')
    return new ClientRequester(this.outbound, session, (message) => this.sessionStreams.send(sessionId, message))
  }

  // ---- shutdown ------------------------------------------------------------------------

  /** Open SSE connections of this instance (GET streams and streaming POST answers). */
  get streamCount (): number {
    return this.getConnections.size + this.postConnections.size
  }

  /**
   * `preClose`: refuse new sessions and streams, end the GET streams with `retry:` so clients
   * reconnect (to another instance, when there are several), and let running handlers
   * finish for up to `drainTimeoutMs`. A streaming POST answer is ended the same way at once
   * only where another instance can serve its resume (Redis, or an event store the
   * application shares); on a lone instance with its own memory store no one could, so it
   * stays open and carries the rest of the answer, like a JSON answer does.
   */
  beginClose (): void {
    this.closing = true
    const retryMs = this.#options.sseRetryMs
    this.getConnections.endAll(retryMs)
    if (this.#resumableElsewhere) this.postConnections.endAll(retryMs)
    this.#drained = this.#drain()
  }

  /** `onClose`: after the drain, stop the background work and the cluster link. */
  async close (): Promise<void> {
    await this.#drained
    clearTimeout(this.#streamTouchTimer)
    this.#unsubscribeExpired?.()
    await this.#cluster?.close()
  }

  // Idle means no handler running and every POST stream's end recorded (the last messages
  // may still be on their way to an event store across the network when a handler returns).
  async #drain (): Promise<void> {
    const { drainTimeoutMs, redisTimeoutMs } = this.#options
    if (await settledWithin(this.streams.whenIdle(), drainTimeoutMs)) return
    this.#log.warn({ requests: this.streams.inflightCount, drainTimeoutMs }, 'mcp: aborting handlers still running at shutdown')
    this.streams.abortAll({
      reason: 'Server shutting down',
      status: 503,
      body: SHUTTING_DOWN,
      errorFor: (id) => errorResponse(id, ErrorCode.TransportError, 'Server shutting down: the request was aborted')
    })
    // The aborted streams store their error answers and ends; bounded, should a store hang.
    await settledWithin(this.streams.whenIdle(), redisTimeoutMs)
  }

  // ---- sessions ending -------------------------------------------------------------------

  // A session that ended: what this instance holds for it (streams, handlers, pending
  // requests) is closed here; `#endSession` also tells the other instances.
  #closeSession (sessionId: string): void {
    if (this.#cluster !== undefined) this.#cluster.closeLocal(sessionId)
    else this.streams.terminate(sessionId, SESSION_NOT_FOUND)
  }

  #expired (sessionId: string, expiry: SessionExpiry | undefined): void {
    this.#closeSession(sessionId)
    // Every instance hears of an expiry; the one that found it reports it.
    if (expiry?.here !== false) this.#lifecycle.ended({ id: sessionId, reason: 'expired', record: expiry?.record })
  }

  #endSession (sessionId: string): void {
    this.#closeSession(sessionId)
    this.#cluster?.terminate(sessionId)
  }

  #notify (message: unknown, filter: (session: SessionRecord) => boolean, uri?: string): Promise<number> {
    return this.sessionStreams.notify(message, filter, uri)
  }

  // ---- the HTTP methods ----------------------------------------------------------------

  /** 400 for an unsupported MCP-Protocol-Version header; otherwise the header (or undefined). */
  #versionHeader (request: FastifyRequest, reply: FastifyReply): string | undefined | false {
    const header = single(request.headers['mcp-protocol-version'])
    if (header !== undefined && !isSupportedVersion(header)) {
      sendHttpError(reply, 400, ErrorCode.TransportError, `Bad Request: Unsupported protocol version: ${quote(header)} (supported versions: ${SUPPORTED_VERSIONS.join(', ')})`)
      return false
    }
    return header
  }

  /** The `Mcp-Session-Id` of the request, or undefined once 400 has been answered. */
  #sessionIdOf (request: FastifyRequest, reply: FastifyReply): string | undefined {
    const id = single(request.headers['mcp-session-id'])
    if (id === undefined || id === '') {
      sendHttpError(reply, 400, ErrorCode.TransportError, 'Bad Request: Mcp-Session-Id header is required')
      return undefined
    }
    return id
  }

  /** The looked-up session if this request may use it (404 otherwise); refreshes its TTL, throttled. */
  #admitSession (request: FastifyRequest, reply: FastifyReply, session: SessionRecord | undefined, now: number): SessionRecord | undefined {
    // A session bound to another principal is reported exactly like an unknown one.
    if (session === undefined || session.principal !== (request.mcpAuth?.principal ?? undefined)) {
      reply.code(404).type('application/json').send(JSON.stringify(SESSION_NOT_FOUND))
      return undefined
    }
    if (now - session.lastActiveAt >= this.#options.touchIntervalMs) {
      this.#store.touch(session.id, now).catch((err: unknown) => request.log.warn({ err, mcpSession: shortSessionId(session.id) }, 'mcp: session touch failed'))
    }
    return session
  }

  /** The session named by the request, or an answer already sent (400/404). */
  async #resolveSession (request: FastifyRequest, reply: FastifyReply): Promise<SessionRecord | undefined> {
    const id = this.#sessionIdOf(request, reply)
    if (id === undefined) return undefined
    const store = this.#store
    // One clock reading serves the expiry check and the touch throttle.
    if (store.getNow !== undefined) {
      const now = Date.now()
      return this.#admitSession(request, reply, store.getNow(id, now), now)
    }
    const session = await store.get(id)
    return this.#admitSession(request, reply, session, Date.now())
  }

  /** The protocol version header, then the session (unless stateless); undefined once answered. */
  async #resolveCaller (request: FastifyRequest, reply: FastifyReply): Promise<SessionCaller | undefined> {
    const header = this.#versionHeader(request, reply)
    if (header === false) return undefined
    let session: SessionRecord | undefined
    if (!this.#options.stateless) {
      session = await this.#resolveSession(request, reply)
      if (session === undefined) return undefined
    }
    return new SessionCaller(session, session === undefined ? header ?? HEADERLESS_VERSION : session.protocolVersion, request.mcpAuth ?? undefined, request.log)
  }

  #refuseWhileClosing (reply: FastifyReply): FastifyReply {
    reply.header('retry-after', '1')
    return sendHttpError(reply, 503, ErrorCode.TransportError, 'Service Unavailable: the server is shutting down')
  }

  async #initialize (request: FastifyRequest, reply: FastifyReply, message: JsonRpcRequest): Promise<FastifyReply> {
    if (this.closing) return this.#refuseWhileClosing(reply)
    const requested = (message.params as { protocolVersion?: unknown } | undefined)?.protocolVersion
    const operation = this.#core.dispatcher.telemetry?.operation('initialize', true, message.id, message.params, typeof requested === 'string' ? negotiateVersion(requested) : undefined, undefined)
    let init: ReturnType<McpCore['dispatcher']['initialize']>
    try {
      init = this.#core.dispatcher.initialize(message.params)
    } catch (err) {
      if (!(err instanceof McpError)) throw err
      const refused = errorResponse(message.id, err.code, err.message)
      operation?.end(refused)
      return reply.code(200).type('application/json').send(JSON.stringify(refused))
    }
    let session: SessionRecord | undefined
    if (!this.#options.stateless) {
      const now = Date.now()
      const { params, result } = init
      session = {
        id: this.#store.newSessionId?.() ?? newSessionId(),
        // The table's own string rather than the one parsed from this request: one object
        // less per stored session.
        protocolVersion: SUPPORTED_VERSIONS.find((v) => v === result.protocolVersion) ?? result.protocolVersion,
        clientInfo: params.clientInfo,
        clientCapabilities: params.capabilities,
        serverCapabilities: result.capabilities,
        initialized: false,
        createdAt: now,
        lastActiveAt: now
      }
      if (request.mcpAuth !== null) session.principal = request.mcpAuth.principal
      if (!await this.#store.create(session)) {
        // Places free up as sessions are deleted or swept; the memory store sweeps at least
        // once a minute (or once per TTL), so that is when retrying can succeed.
        reply.header('retry-after', String(Math.max(1, Math.ceil(Math.min(this.#options.sessionTtlMs, 60_000) / 1000))))
        return sendHttpError(reply, 503, ErrorCode.TransportError, 'Service Unavailable: session limit reached')
      }
      this.#lifecycle.started(session)
    }
    const response = resultResponse(message.id, init.result)
    new PostExchange(reply, this.#exchange, { batch: false, requests: 1, session }).respond(response)
    operation?.end(response)
    return reply
  }

  /**
   * POST: one message or a batch. The hot path (one message on a known session) is written
   * out flat and is not an async function: a synchronous answer (ping, the lists, on a store
   * with `getNow`) returns the sent reply at once, with no promise at all, and an async one
   * costs one `then`. Each async hop costs per request.
   */
  readonly post = (request: FastifyRequest, reply: FastifyReply): FastifyReply | Promise<FastifyReply> => {
    const body = request.body as JsonRpcBody
    if (Array.isArray(body)) return this.#batch(request, reply, body)
    if (isRequest(body) && body.method === 'initialize') return this.#initialize(request, reply, body)
    const header = this.#versionHeader(request, reply)
    if (header === false) return reply
    if (this.#options.stateless) return this.#serve(request, reply, body, header, undefined)
    const id = this.#sessionIdOf(request, reply)
    if (id === undefined) return reply
    const store = this.#store
    if (store.getNow !== undefined) {
      // One clock reading serves the expiry check and the touch throttle.
      const now = Date.now()
      const session = this.#admitSession(request, reply, store.getNow(id, now), now)
      return session === undefined ? reply : this.#serve(request, reply, body, header, session)
    }
    return store.get(id).then((found) => {
      const session = this.#admitSession(request, reply, found, Date.now())
      return session === undefined ? reply : this.#serve(request, reply, body, header, session)
    })
  }

  /** One message of a POST, on its session (none when stateless). */
  #serve (request: FastifyRequest, reply: FastifyReply, body: JsonRpcMessage, header: string | undefined, session: SessionRecord | undefined): FastifyReply | Promise<FastifyReply> {
    const protocolVersion = session === undefined ? header ?? HEADERLESS_VERSION : session.protocolVersion
    const auth = request.mcpAuth ?? undefined
    if (!isRequest(body)) {
      const caller = new SessionCaller(session, protocolVersion, auth, request.log)
      if (isNotification(body)) return this.#core.dispatcher.handleNotification(body, caller).then(() => reply.code(202).send())
      this.#answer(body, caller)
      return reply.code(202).send()
    }
    const gate = this.#options.auth
    if (gate !== undefined && refuseInsufficientScope(gate, request, reply, body.id, this.#core.requiredScopes(body.method, body.params))) return reply
    const exchange = new PostExchange(reply, this.#exchange, { batch: false, requests: 1, session })
    const answer = this.#core.dispatcher.handleRequest(body, new SessionRequest(session, protocolVersion, auth, request.log, exchange, this.#home))
    if (!(answer instanceof Promise)) {
      exchange.respond(answer)
      return reply
    }
    return answer.then((response) => {
      // `undefined`: cancelled, and the exchange was released by the cancellation itself.
      if (response !== undefined) exchange.respond(response)
      return reply
    })
  }

  async #batch (request: FastifyRequest, reply: FastifyReply, batch: JsonRpcMessage[]): Promise<FastifyReply> {
    if (batch.some((m) => isRequest(m) && m.method === 'initialize')) {
      return sendHttpError(reply, 400, ErrorCode.InvalidRequest, 'Invalid Request: initialize must not be part of a batch')
    }
    const caller = await this.#resolveCaller(request, reply)
    if (caller === undefined) return reply
    if (!revision(caller.protocolVersion).batches) {
      return sendHttpError(reply, 400, ErrorCode.InvalidRequest, `Invalid Request: JSON-RPC batches are not supported in protocol version ${caller.protocolVersion}`)
    }
    const requests = batch.filter(isRequest)
    // A batch is answered as a whole: any member lacking a scope makes it 403, naming every scope the batch needs.
    const gate = this.#options.auth
    if (gate !== undefined && refuseInsufficientScope(gate, request, reply, null, requests.flatMap((m) => this.#core.requiredScopes(m.method, m.params)))) return reply
    for (const message of batch) {
      if (isNotification(message)) await this.#core.dispatcher.handleNotification(message, caller)
      else if (!isRequest(message)) this.#answer(message, caller)
    }
    if (requests.length === 0) return reply.code(202).send()
    const exchange = new PostExchange(reply, this.#exchange, { batch: true, requests: requests.length, session: caller.session })
    await Promise.all(requests.map(async (message) => {
      const response = await this.#core.dispatcher.handleRequest(message, new SessionRequest(caller.session, caller.protocolVersion, caller.auth, request.log, exchange, this.#home))
      if (response !== undefined) exchange.respond(response)
    }))
    return reply
  }

  /** A client's answer to a server → client request; answers nobody waits for are ignored. */
  #answer (message: JsonRpcResultResponse | JsonRpcErrorResponse, caller: SessionCaller): void {
    const session = caller.session
    if (session === undefined) return
    if (!this.outbound.handleResponse(session.id, message)) this.#cluster?.answer(session.id, message)
  }

  /** GET: the session's standalone stream, or the resumption of a stream (`Last-Event-ID`). */
  readonly get = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    if (this.#versionHeader(request, reply) === false) return reply
    const session = await this.#resolveSession(request, reply)
    if (session === undefined) return reply
    if (this.closing) return this.#refuseWhileClosing(reply)
    const lastEventId = single(request.headers['last-event-id'])
    const events = this.#events
    // Without an event store there is nothing to resume: a plain standalone stream, as the SDK does.
    if (lastEventId !== undefined && events !== undefined) {
      this.#core.dispatcher.telemetry?.reconnected()
      return this.#resume(request, reply, session, lastEventId)
    }
    const connection = this.#openConnection(reply, session)
    const polling = events !== undefined && revision(session.protocolVersion).polling
    if (polling) this.#limitDuration(connection)
    await this.sessionStreams.open(session, connection, polling).catch((err: unknown) => this.#failedStream(request, connection, err))
    // A DELETE that ran between the lookup above and the attach would have missed this stream.
    if (await this.#store.get(session.id) === undefined) this.#closeSession(session.id)
    return reply
  }

  /** GET with `Last-Event-ID`: the session's streams find the one it names; 400 when none. */
  async #resume (request: FastifyRequest, reply: FastifyReply, session: SessionRecord, lastEventId: string): Promise<FastifyReply> {
    let connection: SseConnection | undefined
    const resumed = await this.sessionStreams.resume(session, lastEventId, (standalone) => {
      connection = this.#openConnection(reply, session)
      if (standalone && revision(session.protocolVersion).polling) this.#limitDuration(connection)
      return connection
    }).catch((err: unknown) => {
      // Before the connection opened, the error handler answers (503 for a store away).
      if (connection === undefined) throw err
      this.#failedStream(request, connection, err)
      return true
    })
    return resumed ? reply : unknownEventId(reply)
  }

  /** After the hijack there is no status left to send: end the stream; the client retries. */
  #failedStream (request: FastifyRequest, connection: SseConnection, err: unknown): void {
    request.log.warn({ err }, 'mcp: could not set up the SSE stream')
    connection.end(this.#options.sseRetryMs)
  }

  #openConnection (reply: FastifyReply, session: SessionRecord): SseConnection {
    reply.header('mcp-session-id', session.id)
    reply.hijack()
    return new SseConnection(reply.raw, reply.getHeaders(), this.#exchange.streamOptions, this.getConnections)
  }

  /** maxStreamDurationMs: rotate long GET connections (load balancers, proxies); the client resumes. */
  #limitDuration (connection: SseConnection): void {
    const { maxStreamDurationMs, sseRetryMs } = this.#options
    if (maxStreamDurationMs === 0) return
    const timer = setTimeout(() => connection.end(sseRetryMs), maxStreamDurationMs).unref()
    connection.onClose(() => clearTimeout(timer))
  }

  /** DELETE: end the session here and on every other instance. */
  readonly delete = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    if (this.#versionHeader(request, reply) === false) return reply
    const session = await this.#resolveSession(request, reply)
    if (session === undefined) return reply
    await this.#store.delete(session.id)
    this.#endSession(session.id)
    this.#lifecycle.ended({ id: session.id, reason: 'deleted', record: session })
    return reply.code(204).send()
  }
}

function unknownEventId (reply: FastifyReply): FastifyReply {
  return sendHttpError(reply, 400, ErrorCode.TransportError, 'Bad Request: unknown Last-Event-ID for this session')
}
