import type { FastifyReply } from 'fastify'
import type { JsonRpcResponse } from '../../schemas/jsonrpc.js'
import type { SessionRecord } from '../core/session-record.js'
import { revision } from '../core/versions.js'
import { EventStream, type StreamEnv } from './event-stream.js'
import { SseConnection, type SseConnectionOptions, type ConnectionSet } from '../http/sse-connection.js'

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
