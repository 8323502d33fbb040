import type { FastifyReply } from 'fastify'
import type { JsonRpcResponse, RequestId } from '../../schemas/jsonrpc.js'
import type { LoggingLevel } from '../../schemas/mcp.js'
import type { Caller, ClientRequests, InputMode, McpAuthInfo, Refusal, RequestScope } from '../core/caller.js'
import type { SessionRecord } from '../core/session-record.js'
import { revision } from '../core/versions.js'
import { errors } from '../errors.js'
import { SseConnection, type SseConnectionOptions, type ConnectionSet } from '../http/sse-connection.js'
import { shortSessionId, type Logger } from '../log.js'
import { EventStream, type StreamEnv } from './event-stream.js'
import type { InFlight, LocalStreams } from './local-streams.js'
import { ClientRequester, type Channel, type OutboundRequests } from './outbound.js'
import type { SessionStreams } from './session-streams.js'

/** Where live POST streams are registered, so a `Last-Event-ID` GET can find the one it resumes. */
export interface PostStreamRegistry {
  registerStream (stream: EventStream): void
  unregisterStream (stream: EventStream): void
}

/** `auto`: JSON unless a related message must go first, then SSE; `json` / `sse` force one. */
export type ResponseMode = 'auto' | 'json' | 'sse'

/** What every exchange of one plugin instance shares. */
export interface ExchangeDeps {
  mode: ResponseMode
  streamOptions: SseConnectionOptions
  streams: ConnectionSet
  env: StreamEnv
  registry: PostStreamRegistry
  /** A stream id unique within any session (it becomes part of every event id). */
  newStreamId (): string
}

/** What one POST carries. */
export interface ExchangeShape {
  /** The body was a JSON-RPC batch: the JSON answer is an array. */
  readonly batch: boolean
  /** How many requests await an answer. */
  readonly requests: number
  /** The session it arrived on (none in stateless mode). */
  readonly session: SessionRecord | undefined
}

/**
 * The answer to one POST that carried at least one request. It starts undecided (in `auto`
 * mode) and becomes an SSE stream the moment a related message (progress, a log message,
 * a server→client request) must go out before the result; otherwise the result leaves as
 * a single `application/json` body. It finishes once every request in it is answered or
 * released (cancelled).
 *
 * On a session with resumability, the stream is an `EventStream`: its events are stored, and
 * it lives on (its handler still running) after its connection drops or is closed.
 */
export class PostExchange {
  readonly #reply: FastifyReply
  readonly #deps: ExchangeDeps
  readonly #batch: boolean
  readonly #session: SessionRecord | undefined
  #pending: number
  #responses: JsonRpcResponse[] | undefined
  #single: JsonRpcResponse | undefined
  #stream: EventStream | undefined
  #finished = false

  constructor (reply: FastifyReply, deps: ExchangeDeps, shape: ExchangeShape) {
    this.#reply = reply
    this.#deps = deps
    this.#batch = shape.batch
    this.#pending = shape.requests
    const session = this.#session = shape.session
    // Like the official SDK, every answer on a session names it, JSON or stream.
    if (session !== undefined) reply.header('mcp-session-id', session.id)
    if (deps.mode === 'sse') this.#upgrade()
  }

  /** The answer is (or became) an SSE stream. */
  get streaming (): boolean { return this.#stream !== undefined }

  /** Whether a related message sent now reaches the client on this POST (now or by replay). */
  get canCarry (): boolean {
    return !this.#finished && this.#deps.mode !== 'json' && this.#stream?.canCarry !== false
  }

  /**
   * Send a message that belongs to a request of this POST before its response. Resolves
   * when the stream can take more, so a chatty handler is paced by its reader. In `json`
   * mode there is nowhere to put it, and it is dropped.
   */
  sendRelated (message: unknown): Promise<void> {
    if (this.#finished || this.#deps.mode === 'json') return Promise.resolve()
    return (this.#stream ?? this.#upgrade()).send(message)
  }

  /**
   * SSE polling (2025-11-25 sessions with resumability): end this POST's connection now,
   * not its stream; the client reconnects with `Last-Event-ID` and gets the rest. Returns
   * false where that is not possible (older client, no event store, `json` mode, answered).
   */
  closeConnection (): boolean {
    if (this.#finished || this.#deps.mode === 'json' || !this.#polling) return false
    void (this.#stream ?? this.#upgrade()).closeConnection()
    return true
  }

  /** One request of this POST is answered. */
  respond (response: JsonRpcResponse): void {
    if (this.#finished) return
    if (this.#stream !== undefined) {
      void this.#stream.send(response)
    } else if (!this.#batch) {
      this.#single = response
    } else {
      (this.#responses ??= []).push(response)
    }
    if (--this.#pending === 0) this.#finish()
  }

  /** One request of this POST will never be answered (it was cancelled). */
  release (): void {
    if (this.#finished) return
    if (--this.#pending === 0) this.#finish()
  }

  /**
   * The session went away (DELETE, expiry) or the server gave up on it (shutdown): an
   * undecided exchange answers with the given HTTP error, a stream just ends.
   */
  terminate (status: number, body: unknown): void {
    if (this.#finished) return
    this.#finished = true
    if (this.#stream !== undefined) {
      this.#stream.close()
      this.#deps.registry.unregisterStream(this.#stream)
    } else if (!this.#reply.sent) {
      this.#reply.code(status).type('application/json').send(JSON.stringify(body))
    }
  }

  get #polling (): boolean {
    return this.#deps.env.events !== undefined && this.#session !== undefined && revision(this.#session.protocolVersion).polling
  }

  #finish (): void {
    this.#finished = true
    // Every request was cancelled before anything was sent: no response is due (spec: do
    // not answer a cancelled request), but the POST must still be answered: an empty stream.
    if (this.#stream === undefined && this.#single === undefined && this.#responses === undefined) this.#upgrade()
    if (this.#stream !== undefined) {
      const stream = this.#stream
      // Registered until the end is recorded: a resume arriving meanwhile is queued behind it.
      void stream.end().then(() => this.#deps.registry.unregisterStream(stream))
    } else {
      this.#reply.code(200).type('application/json').send(JSON.stringify(this.#single ?? this.#responses))
    }
  }

  #upgrade (): EventStream {
    const reply = this.#reply
    reply.hijack()
    // Headers set through the reply (CORS, Mcp-Session-Id) are not written by Fastify
    // after a hijack, so they are carried over by hand.
    const connection = new SseConnection(reply.raw, reply.getHeaders(), this.#deps.streamOptions, this.#deps.streams)
    const session = this.#session
    const { env } = this.#deps
    const stream = session === undefined
      ? new EventStream(env, '', 'stateless', undefined)
      : new EventStream(env, session.id, this.#deps.newStreamId())
    stream.attach(connection)
    this.#stream = stream
    if (stream.resumable) {
      this.#deps.registry.registerStream(stream)
      if (this.#polling) void stream.prime()
    }
    return stream
  }
}

const NO_CAPABILITIES: Readonly<Record<string, unknown>> = Object.freeze({})

/** What every request of the 2025 front door shares. */
export interface RequestHome {
  readonly streams: LocalStreams
  readonly outbound: OutboundRequests
  readonly sessionStreams: SessionStreams
  readonly maxInFlightRequests: number
}

/** The caller of a message on a 2025 session, or on none in stateless mode: read from the session record. */
export class SessionCaller implements Caller {
  readonly session: SessionRecord | undefined
  readonly protocolVersion: string
  readonly auth: McpAuthInfo | undefined
  readonly #requestLogger: Logger
  #logger: Logger | undefined

  constructor (session: SessionRecord | undefined, protocolVersion: string, auth: McpAuthInfo | undefined, logger: Logger) {
    this.session = session
    this.protocolVersion = protocolVersion
    this.auth = auth
    this.#requestLogger = logger
  }

  /** The request's logger, bound to the abbreviated session id; a child made on first use (most requests log nothing). */
  get logger (): Logger {
    return (this.#logger ??= this.session === undefined ? this.#requestLogger : this.#requestLogger.child({ mcpSession: shortSessionId(this.session.id) }))
  }

  get clientCapabilities (): Readonly<Record<string, unknown>> { return this.session?.clientCapabilities ?? NO_CAPABILITIES }
  get logLevel (): LoggingLevel | undefined { return this.session?.logLevel }
}

/**
 * One request of the 2025 front door: its caller, the POST exchange its answer and related
 * messages go out on, and (once it runs a handler) its entry among the session's requests in
 * flight, where `notifications/cancelled`, DELETE and shutdown find it.
 */
export class SessionRequest extends SessionCaller implements RequestScope, InFlight {
  id: RequestId = ''
  controller: AbortController | undefined = undefined
  cancelled = false
  readonly exchange: PostExchange
  readonly #home: RequestHome
  #tracked = false

  constructor (session: SessionRecord | undefined, protocolVersion: string, auth: McpAuthInfo | undefined, logger: Logger, exchange: PostExchange, home: RequestHome) {
    super(session, protocolVersion, auth, logger)
    this.exchange = exchange
    this.#home = home
  }

  /** Input a handler asks for is fetched from the client over the session; without one there is no way to ask. */
  get inputMode (): InputMode { return this.session === undefined ? 'none' : 'fulfil' }

  /** Created on first use: most handlers never look at it. */
  get signal (): AbortSignal {
    return (this.controller ??= new AbortController()).signal
  }

  begin (id: RequestId): Refusal | undefined {
    this.id = id
    // Stateless: nothing can cancel it (there is no session to send notifications/cancelled on).
    if (this.session === undefined) return undefined
    const refused = this.#home.streams.begin(this.session.id, this, this.#home.maxInFlightRequests)
    this.#tracked = refused === undefined
    return refused
  }

  end (): void {
    if (this.#tracked) this.#home.streams.end(this.session!.id, this)
  }

  sendRelated (message: unknown): Promise<void> {
    return this.exchange.sendRelated(message)
  }

  closeConnection (): boolean {
    return this.exchange.closeConnection()
  }

  client (method: string): ClientRequests {
    const session = this.session
    if (session === undefined) throw new errors.FST_MCP_CLIENT_REQUEST(method, 'stateless mode has no session for the client to answer on')
    const { exchange } = this
    const { sessionStreams } = this.#home
    // The request's own stream first (spec: messages relating to a request travel with it);
    // in JSON response mode that stream does not exist, so the GET stream carries it.
    const channel: Channel = async (message) => {
      if (exchange.canCarry) {
        await exchange.sendRelated(message)
        return true
      }
      return sessionStreams.send(session.id, message)
    }
    return new ClientRequester(this.#home.outbound, session, channel, this.signal)
  }
}
