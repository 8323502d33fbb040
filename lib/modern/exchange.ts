import type { FastifyReply } from 'fastify'
import type { RequestId } from '../../schemas/jsonrpc.js'
import type { LoggingLevel } from '../../schemas/mcp.js'
import type { ClientRequests, McpAuthInfo, Refusal, RequestScope } from '../core/caller.js'
import type { Envelope } from '../core/envelope.js'
import { errors } from '../errors.js'
import { SseConnection, type ConnectionSet, type SseConnectionOptions } from '../http/sse-connection.js'
import type { ResponseMode } from '../http/wire.js'
import type { Logger } from '../log.js'

/** What every exchange of the modern door shares. */
export interface ModernExchangeDeps {
  readonly mode: ResponseMode
  readonly streamOptions: SseConnectionOptions
  readonly connections: ConnectionSet
}

/**
 * The answer to one 2026-07-28 request: a single JSON body unless a related message
 * (progress, a log message) must go first, then an SSE stream without event ids (these
 * streams are not resumable) that the result closes. In `sse` mode every answer is a stream,
 * opened with its first message: until then an error the revision gives an HTTP status
 * (-32021 → 400) can still have it.
 */
export class ModernExchange {
  readonly #reply: FastifyReply
  readonly #deps: ModernExchangeDeps
  #connection: SseConnection | undefined
  #finished = false

  constructor (reply: FastifyReply, deps: ModernExchangeDeps) {
    this.#reply = reply
    this.#deps = deps
  }

  get finished (): boolean { return this.#finished }

  /** Send a message that belongs to the request before its answer; resolves when more can be sent. */
  sendRelated (message: unknown): Promise<void> {
    if (this.#finished || this.#deps.mode === 'json') return Promise.resolve()
    const connection = this.#connection ?? this.#upgrade()
    connection.sendData(JSON.stringify(message))
    return connection.ready()
  }

  /** The answer, serialised: the JSON body (with `status`), or the stream's last event. */
  respond (json: string, status = 200): void {
    if (this.#finished) return
    this.#finished = true
    const connection = this.#connection ?? (this.#deps.mode === 'sse' && status === 200 ? this.#upgrade() : undefined)
    if (connection !== undefined) {
      connection.sendData(json)
      connection.end()
    } else {
      this.#reply.code(status).type('application/json').send(json)
    }
  }

  /** The client went away: nothing more is sent, and Fastify is told the reply is ours. */
  abandon (): void {
    if (this.#finished) return
    this.#finished = true
    if (this.#connection === undefined && !this.#reply.sent) this.#reply.hijack()
    this.#connection?.destroy()
  }

  #upgrade (): SseConnection {
    const reply = this.#reply
    reply.hijack()
    // Headers set through the reply (CORS) are not written by Fastify after a hijack.
    this.#connection = new SseConnection(reply.raw, reply.getHeaders(), this.#deps.streamOptions, this.#deps.connections)
    return this.#connection
  }
}

/**
 * The requests of the modern door running application code, for shutdown: a list threaded
 * through the requests themselves. A Set cost a hash-table insert and delete per request
 * (about 0.35 us, in-process) and churned its table under concurrent requests.
 */
export class ModernInFlight {
  #head: ModernRequest | undefined
  #size = 0
  #idle: Array<() => void> = []

  get size (): number { return this.#size }

  add (request: ModernRequest): void {
    const head = this.#head
    request.nextInFlight = head
    request.previousInFlight = undefined
    if (head !== undefined) head.previousInFlight = request
    this.#head = request
    this.#size++
  }

  /** Call only for a request `add` was given, once. */
  delete (request: ModernRequest): void {
    const { previousInFlight: previous, nextInFlight: next } = request
    if (previous === undefined) this.#head = next
    else previous.nextInFlight = next
    if (next !== undefined) next.previousInFlight = previous
    request.previousInFlight = request.nextInFlight = undefined
    if (--this.#size > 0 || this.#idle.length === 0) return
    for (const resolve of this.#idle.splice(0)) resolve()
  }

  /** Resolves once no request runs. */
  whenIdle (): Promise<void> {
    if (this.#size === 0) return Promise.resolve()
    return new Promise((resolve) => this.#idle.push(resolve))
  }

  values (): ModernRequest[] {
    const requests: ModernRequest[] = []
    for (let request = this.#head; request !== undefined; request = request.nextInFlight) requests.push(request)
    return requests
  }
}

/**
 * One 2026-07-28 request as the core sees it: everything about the client comes from the
 * request's own `_meta` (no session, nothing remembered). Closing the connection cancels it
 * (the spec: a dropped stream is a cancellation, and nothing more is sent for it).
 */
export class ModernRequest implements RequestScope {
  readonly protocolVersion: string
  readonly clientCapabilities: Readonly<Record<string, unknown>>
  readonly logLevel: LoggingLevel | null
  readonly auth: McpAuthInfo | undefined
  readonly logger: Logger
  readonly session = undefined
  /** Input a handler asks for is returned to the client (`input_required`), which retries. */
  readonly inputMode = 'return'
  readonly exchange: ModernExchange
  readonly #reply: FastifyReply
  readonly #inFlight: ModernInFlight
  #controller: AbortController | undefined
  #tracked = false
  cancelled = false
  id: RequestId = ''
  /** Links of `ModernInFlight`'s list. */
  previousInFlight: ModernRequest | undefined = undefined
  nextInFlight: ModernRequest | undefined = undefined

  constructor (envelope: Envelope, auth: McpAuthInfo | undefined, logger: Logger, reply: FastifyReply, exchange: ModernExchange, inFlight: ModernInFlight) {
    this.protocolVersion = envelope.protocolVersion
    this.clientCapabilities = envelope.clientCapabilities
    this.logLevel = envelope.logLevel
    this.auth = auth
    this.logger = logger
    this.#reply = reply
    this.exchange = exchange
    this.#inFlight = inFlight
  }

  get signal (): AbortSignal {
    return (this.#controller ??= new AbortController()).signal
  }

  begin (id: RequestId): Refusal | undefined {
    this.id = id
    this.#tracked = true
    this.#inFlight.add(this)
    // on/off with the same bound function: once() would wrap it in a new closure per request.
    this.#reply.raw.on('close', this.#onClose)
    return undefined
  }

  end (): void {
    if (!this.#tracked) return
    this.#tracked = false
    this.#inFlight.delete(this)
    this.#reply.raw.off('close', this.#onClose)
  }

  readonly #onClose = (): void => {
    if (this.exchange.finished) return
    this.cancel('The client closed the connection')
  }

  /** Stop the handler: its signal aborts, and no answer is sent. */
  cancel (reason: string): void {
    if (this.cancelled) return
    this.cancelled = true
    this.exchange.abandon()
    this.#controller?.abort(new Error(reason))
  }

  sendRelated (message: unknown): Promise<void> {
    return this.exchange.sendRelated(message)
  }

  closeConnection (): boolean {
    return false
  }

  client (method: string): ClientRequests {
    throw new errors.FST_MCP_CLIENT_REQUEST(method, 'a 2026-07-28 request cannot carry requests to the client: return inputRequired(…) from the handler instead')
  }
}
