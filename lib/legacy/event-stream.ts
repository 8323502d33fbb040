import type { FastifyBaseLogger } from 'fastify'
import { shortSessionId } from '../log.js'
import type { EventStore } from '../stores/event-store.js'
import type { SseConnection } from '../http/sse-connection.js'
import type { McpTelemetry } from '../telemetry/telemetry.js'

/** What every stream of one plugin instance shares. */
export interface StreamEnv {
  /** Where events are kept for `Last-Event-ID`; undefined when resumability is off. */
  readonly events: EventStore | undefined
  /** The `retry:` sent with priming events and before a connection is closed mid-stream. */
  readonly retryMs: number
  readonly logger: FastifyBaseLogger
  /** Counts replays; undefined with telemetry off. */
  readonly telemetry?: McpTelemetry | undefined
}

const RESOLVED = Promise.resolve()

/**
 * One logical SSE stream (a POST's answer, or a session's standalone GET stream), which can
 * outlive the HTTP connections that carry it. With an event store, every message is appended
 * before it is written; when the connection is gone it is kept for a reconnecting client, who
 * resumes with `Last-Event-ID` on a new connection.
 *
 * Appends, writes, replays and the end all run in one queue per stream: a replay reads
 * exactly the events appended before it, and everything after it arrives live, so nothing
 * is lost or sent twice however a reconnection interleaves with the handler.
 */
export class EventStream {
  readonly sessionId: string
  readonly id: string
  readonly #env: StreamEnv
  readonly #events: EventStore | undefined
  #connection: SseConnection | undefined
  /** A connection waiting in the queue to be attached (open or resume). */
  #incoming: SseConnection | undefined
  #tail: Promise<void> = RESOLVED
  /** No more messages: the request was answered (the end is queued behind them). */
  #ended = false
  /** The session is gone: nothing more is stored or written. */
  #closed = false

  /** `events` is the env's store, or undefined for a stream nobody can resume (stateless). */
  constructor (env: StreamEnv, sessionId: string, id: string, events: EventStore | undefined = env.events) {
    this.#env = env
    this.sessionId = sessionId
    this.id = id
    this.#events = events
  }

  /** Whether a message sent now will reach the client: over the connection, or by replay. */
  get canCarry (): boolean {
    return !this.#ended && !this.#closed && (this.#events !== undefined || this.connected)
  }

  get connected (): boolean { return this.#connection !== undefined && !this.#connection.closed }

  get resumable (): boolean { return this.#events !== undefined }

  /** Carry the stream on `connection` from now on. A connection it replaces is ended (the new one wins). */
  attach (connection: SseConnection): void {
    const previous = this.#connection
    this.#connection = connection
    connection.onClose(() => {
      if (this.#connection === connection) this.#connection = undefined
    })
    if (previous !== undefined && previous !== connection) previous.end()
  }

  /** Queue one message. Resolves once it is stored and written, and the connection can take more. */
  send (message: unknown): Promise<void> {
    if (this.#ended || this.#closed) return RESOLVED
    const data = JSON.stringify(message)
    const events = this.#events
    if (events === undefined) {
      const connection = this.#connection
      if (connection === undefined || !connection.sendData(data)) return RESOLVED
      return connection.ready()
    }
    return this.#enqueue(async () => {
      const id = await this.#append(events, data)
      if (!this.#closed) this.#connection?.sendData(data, id)
    }).then(() => this.#connection?.ready())
  }

  /** The priming event (2025-11-25): an id before any data, and the `retry:` delay. */
  prime (): Promise<void> {
    const events = this.#events
    if (events === undefined || this.#ended) return RESOLVED
    return this.#enqueue(() => this.#prime(events))
  }

  /**
   * Carry the stream on a new connection from now on (a GET without `Last-Event-ID`),
   * starting with a priming event if asked. Queued: what was sent before goes where it was
   * headed, and the priming event is the first thing on the new connection.
   */
  open (connection: SseConnection, prime: boolean): Promise<void> {
    const events = this.#events
    if (events === undefined) {
      this.attach(connection)
      return RESOLVED
    }
    this.#supersede(connection)
    return this.#enqueue(async () => {
      if (connection.closed) return
      this.#arrived(connection)
      if (prime) await this.#prime(events)
    })
  }

  /**
   * Carry the stream on `connection`, writing every event after `lastEventId` to it first
   * (none when the store does not know the id).
   */
  resume (connection: SseConnection, lastEventId: string): Promise<void> {
    const events = this.#events
    if (events === undefined) return RESOLVED
    this.#supersede(connection)
    return this.#enqueue(async () => {
      // Attached here, in the queue, not before: a message queued ahead of this step must
      // reach the new connection through the replay, never before it (order) or twice.
      if (connection.closed) return
      this.#arrived(connection)
      const result = await events.replayAfter(this.sessionId, lastEventId)
      if (result === undefined || this.#closed) return
      this.#env.telemetry?.replayed(result.events.length)
      if (result.truncated) {
        this.#env.logger.warn({ mcpSession: shortSessionId(this.sessionId), stream: this.id }, 'mcp: resumed stream lost events to the history bound')
      }
      await writeEvents(connection, result.events, () => this.#connection === connection)
      if (this.#ended && this.#connection === connection) connection.end()
    })
  }

  /**
   * SSE polling: close the current connection without ending the stream (a `retry:` field
   * tells the client when to reconnect). Queued after the messages sent before it.
   */
  closeConnection (): Promise<void> {
    return this.#enqueue(async () => {
      this.#connection?.end(this.#env.retryMs)
    })
  }

  /** Another instance took the stream over (a resume landed there): let go of the connection now. */
  detach (): void {
    this.#connection?.end()
  }

  /** The last message has been queued: record the end and finish the connection after it. */
  end (): Promise<void> {
    if (this.#ended || this.#closed) return RESOLVED
    this.#ended = true
    const events = this.#events
    if (events === undefined) {
      this.#connection?.end()
      return RESOLVED
    }
    return this.#enqueue(async () => {
      try {
        await events.end(this.sessionId, this.id)
      } catch (err) {
        this.#env.logger.warn({ err, mcpSession: shortSessionId(this.sessionId) }, 'mcp: event store end failed')
      }
      this.#connection?.end()
    })
  }

  /** The session is gone: end the connection, store nothing more. */
  close (): void {
    this.#closed = true
    this.#ended = true
    this.#connection?.end()
  }

  // The new connection wins at once: the one it replaces may be stuck in a replay to a
  // reader that stopped reading, holding the queue until slowReaderTimeoutMs. Ended now, its
  // replay stops, and whatever it missed is in the store for the new one.
  #supersede (connection: SseConnection): void {
    const previous = [this.#connection, this.#incoming]
    this.#incoming = connection
    for (const old of previous) if (old !== undefined && old !== connection) old.end()
  }

  #arrived (connection: SseConnection): void {
    if (this.#incoming === connection) this.#incoming = undefined
    this.attach(connection)
  }

  #enqueue (step: () => Promise<void>): Promise<void> {
    const next = this.#tail.then(() => this.#closed ? undefined : step()).catch((err: unknown) => {
      this.#env.logger.error({ err, mcpSession: shortSessionId(this.sessionId) }, 'mcp: SSE stream step failed')
    })
    this.#tail = next
    return next
  }

  async #prime (events: EventStore): Promise<void> {
    const id = await this.#append(events, '')
    if (id !== undefined && !this.#closed) this.#connection?.prime(id, this.#env.retryMs)
  }

  async #append (events: EventStore, data: string): Promise<string | undefined> {
    try {
      return await events.append(this.sessionId, this.id, data)
    } catch (err) {
      // Still delivered while connected, just not resumable.
      this.#env.logger.warn({ err, mcpSession: shortSessionId(this.sessionId) }, 'mcp: event store append failed')
      return undefined
    }
  }
}

/**
 * Write stored events to a connection, pacing on its backpressure so a long history cannot
 * overflow `maxQueuedBytes`. Priming events (empty data) are not repeated. Stops when
 * `stillOwner` says the connection was replaced or it closed.
 */
export async function writeEvents (connection: SseConnection, events: ReadonlyArray<{ id: string, data: string }>, stillOwner: () => boolean = () => true): Promise<void> {
  for (const event of events) {
    if (connection.closed || !stillOwner()) break
    if (event.data === '') continue
    connection.sendData(event.data, event.id)
    if (connection.waiting) await connection.ready()
  }
}
