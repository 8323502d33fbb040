import type { FastifyReply } from 'fastify'
import type { JsonRpcResponse } from '../../schemas/jsonrpc.js'
import type { ResponseMode } from '../options.js'
import { SseStream, type SseStreamOptions, type StreamSet } from './sse.js'

export interface ExchangeDeps {
  mode: ResponseMode
  streamOptions: SseStreamOptions
  streams: StreamSet
}

/**
 * The answer to one POST that carried at least one request. It starts undecided (in `auto`
 * mode) and becomes an SSE stream the moment a related message (progress, a log message,
 * a server→client request) must go out before the result; otherwise the result leaves as
 * a single `application/json` body. It finishes once every request in it is answered or
 * released (cancelled).
 */
export class PostExchange {
  readonly #reply: FastifyReply
  readonly #deps: ExchangeDeps
  readonly #batch: boolean
  #pending: number
  #responses: JsonRpcResponse[] | undefined
  #single: JsonRpcResponse | undefined
  #stream: SseStream | undefined
  #finished = false

  constructor (reply: FastifyReply, deps: ExchangeDeps, batch: boolean, requests: number, sessionId?: string) {
    this.#reply = reply
    this.#deps = deps
    this.#batch = batch
    this.#pending = requests
    // Like the official SDK, every answer on a session names it, JSON or stream.
    if (sessionId !== undefined) reply.header('mcp-session-id', sessionId)
    if (deps.mode === 'sse') this.#upgrade()
  }

  /** Whether a related message sent now reaches the client on this POST. */
  get canCarry (): boolean { return !this.#finished && this.#deps.mode !== 'json' && this.#stream?.closed !== true }

  /**
   * Send a message that belongs to a request of this POST before its response. Resolves
   * when the stream can take more, so a chatty handler is paced by its reader. In `json`
   * mode there is nowhere to put it, and it is dropped.
   */
  sendRelated (message: unknown): Promise<void> {
    if (this.#finished || this.#deps.mode === 'json') return Promise.resolve()
    const stream = this.#stream ?? this.#upgrade()
    stream.send(message)
    return stream.ready()
  }

  /** One request of this POST is answered. */
  respond (response: JsonRpcResponse): void {
    if (this.#finished) return
    if (this.#stream !== undefined) {
      this.#stream.send(response)
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
   * The session went away (DELETE, expiry) while this POST was open: an undecided
   * exchange answers with the given HTTP error, a stream just ends.
   */
  terminate (status: number, body: unknown): void {
    if (this.#finished) return
    this.#finished = true
    if (this.#stream !== undefined) this.#stream.end()
    else if (!this.#reply.sent) this.#reply.code(status).type('application/json').send(JSON.stringify(body))
  }

  #finish (): void {
    this.#finished = true
    if (this.#stream !== undefined) {
      this.#stream.end()
    } else if (this.#single !== undefined || this.#responses !== undefined) {
      this.#reply.code(200).type('application/json').send(JSON.stringify(this.#single ?? this.#responses))
    } else {
      // Every request was cancelled before anything was sent: no response is due
      // (spec: do not answer a cancelled request), so close an empty stream.
      this.#upgrade().end()
    }
  }

  #upgrade (): SseStream {
    const reply = this.#reply
    reply.hijack()
    // Headers set through the reply (CORS, Mcp-Session-Id) are not written by Fastify
    // after a hijack, so they are carried over by hand.
    this.#stream = new SseStream(reply.raw, reply.getHeaders(), this.#deps.streamOptions, this.#deps.streams)
    return this.#stream
  }
}
