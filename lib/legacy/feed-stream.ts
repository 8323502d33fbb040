import type { FastifyBaseLogger } from 'fastify'
import { compareSeq, parseEventId, type ReplayResult } from '../stores/event-store.js'
import { writeEvents } from './event-stream.js'
import type { SseConnection } from '../http/sse-connection.js'

/** An event as published on its stream's channel when it was appended (see RedisEventStore). */
export interface FeedEvent {
  /** Event id. */
  i: string
  /** Data; absent on the end marker. */
  d?: string
  /** 1 on the end marker: the stream is over. */
  e?: 1
}

export type FeedSubscribe = (handler: (event: FeedEvent) => void) => Promise<() => Promise<void>>

/**
 * A connection fed from a stream's channel rather than by a handler on this instance: the
 * standalone stream when sessions are shared (whoever produces a message appends it, the
 * instance holding the GET writes it), or a POST stream resumed on another instance than the
 * one running its handler.
 *
 * Order and exactly-once: it subscribes first, holding what arrives; then writes the replay
 * (events after `Last-Event-ID`); then what it held, skipping ids already replayed; then live.
 * Appends are published in history order (one script), so ids only grow.
 */
export class FeedStream {
  readonly sessionId: string
  readonly streamId: string
  #connection: SseConnection | undefined
  readonly #retryMs: number
  readonly #logger: FastifyBaseLogger
  #held: FeedEvent[] | undefined = []
  #lastSeq: string | undefined
  /** Where the stream stood when this connection started: catch-up reads from here if nothing was written yet. */
  #origin: string | undefined
  #unsubscribe: (() => Promise<void>) | undefined

  #stopped = false
  /** A catch-up is under way (or failed and awaits its retry): live events are held. */
  #catchingUp = false

  constructor (sessionId: string, streamId: string, retryMs: number, logger: FastifyBaseLogger) {
    this.sessionId = sessionId
    this.streamId = streamId
    this.#retryMs = retryMs
    this.#logger = logger
  }

  get connection (): SseConnection | undefined { return this.#connection }

  /** Start receiving (held until `start`); resolves once the subscription is active. */
  async subscribe (subscribe: FeedSubscribe): Promise<void> {
    const unsubscribe = await subscribe((event) => this.#receive(event))
    if (this.#stopped) await unsubscribe()
    else this.#unsubscribe = unsubscribe
  }

  /** The connection to write to; the feed stops when it closes. */
  attach (connection: SseConnection): void {
    this.#connection = connection
    connection.onClose(() => { void this.stop() })
  }

  /**
   * Write the replay (if any), then what arrived meanwhile, then go live. `after` is the
   * `Last-Event-ID` the replay followed, so nothing at or before it is written again.
   */
  async start (replay: ReplayResult | undefined, after: string | undefined): Promise<void> {
    const connection = this.#connection!
    if (after !== undefined) this.#lastSeq = parseEventId(after)?.seq
    if (replay !== undefined) {
      await writeEvents(connection, replay.events)
      const last = replay.events.at(-1)
      if (last !== undefined) this.#lastSeq = parseEventId(last.id)?.seq
      if (replay.truncated) this.#logger.warn({ stream: this.streamId }, 'mcp: resumed stream lost events to the history bound')
      if (replay.ended) {
        connection.end()
        return
      }
    }
    const held = this.#held ?? []
    this.#held = undefined
    for (const event of held) this.#deliver(event)
  }

  /**
   * After the pub/sub connection came back: what was published meanwhile never arrived, so
   * read it from the history (after the last event written), holding live events meanwhile.
   * When the read fails (the command connection is not back yet), live events stay held, so
   * that a later attempt still starts from the last event written: the caller retries, or
   * gives up with `end(retryMs)` and the client resumes from its own `Last-Event-ID`.
   */
  async catchUp (replayAfter: (lastEventId: string) => Promise<ReplayResult | undefined>): Promise<void> {
    this.hold()
    const connection = this.#connection
    if (!this.#catchingUp || connection === undefined) return
    const from = this.#lastSeq ?? this.#origin
    if (from !== undefined) {
      const replay = await replayAfter(`${this.streamId}.${from}`)
      // Stopped meanwhile (the connection closed): nothing to write to.
      if (this.#stopped) return
      for (const event of replay?.events ?? []) this.#deliver({ i: event.id, d: event.data })
      if (replay?.ended === true) connection.end()
    }
    // (No position yet: its `open` is still recording one, after the subscription was back.)
    this.#catchingUp = false
    const held = this.#held ?? []
    this.#held = undefined
    for (const event of held) this.#deliver(event)
  }

  /**
   * Hold live events until `catchUp` succeeds: a recovery calls it before its first await, so
   * nothing delivered live meanwhile moves the position the catch-up reads from.
   */
  hold (): void {
    // Held by `start` (not started yet): its own replay and subscription cover the gap.
    if (this.#catchingUp || this.#held !== undefined) return
    const connection = this.#connection
    if (connection === undefined || connection.closed) return
    this.#catchingUp = true
    this.#held = []
  }

  /** Record the stream's position (an event id) when the subscription was active. */
  setOrigin (eventId: string): void {
    this.#origin = parseEventId(eventId)?.seq
  }

  /** End the connection (another took the stream over, or the session ended); `retryMs` asks the client to resume. */
  end (retryMs?: number): void {
    this.#connection?.end(retryMs)
  }

  #receive (event: FeedEvent): void {
    if (this.#held !== undefined) this.#held.push(event)
    else this.#deliver(event)
  }

  #deliver (event: FeedEvent): void {
    const seq = parseEventId(event.i)?.seq
    if (seq === undefined) return
    if (this.#lastSeq !== undefined && compareSeq(seq, this.#lastSeq) <= 0) return
    this.#lastSeq = seq
    const connection = this.#connection!
    if (event.e === 1) connection.end()
    else if (event.d === undefined || event.d === '') connection.prime(event.i, this.#retryMs)
    else connection.sendData(event.d, event.i)
  }

  /** Stop receiving (the connection closed, or there was nothing to follow). */
  async stop (): Promise<void> {
    this.#stopped = true
    this.#catchingUp = false
    const unsubscribe = this.#unsubscribe
    this.#unsubscribe = undefined
    this.#held = undefined
    await unsubscribe?.().catch(() => {})
  }
}
