import type { SessionRecord } from '../core/session-record.js'
import type { SseConnection } from '../http/sse-connection.js'
import type { Logger } from '../log.js'
import { parseEventId, type EventStore } from '../stores/event-store.js'
import type { SessionStore } from '../stores/session-store.js'
import { writeEvents } from './event-stream.js'
import { standaloneStreamId, type LocalStreams } from './local-streams.js'
import type { McpTelemetry } from '../telemetry/telemetry.js'

/** Which sessions a notification is for (their records must pass it). */
export type SessionFilter = (session: SessionRecord) => boolean

/** Opens the connection a resumed stream is carried on; `standalone` when it is the session's GET stream. */
export type Connect = (standalone: boolean) => SseConnection

/**
 * The sessions' streams, wherever they are held: the standalone (GET) streams and, for
 * `Last-Event-ID`, the POST streams too. In one process they live in `LocalStreams`; with
 * Redis, a message for a GET stream is appended to the shared history by whichever instance
 * produces it and written by the instance holding the GET, and a POST stream whose handler
 * runs on another instance is followed through the shared history.
 */
export interface SessionStreams {
  /** Carry the session's standalone stream on a new GET connection (no `Last-Event-ID`). */
  open (session: SessionRecord, connection: SseConnection, prime: boolean): Promise<void>
  /**
   * GET with `Last-Event-ID`: replay the events after it on a connection from `connect`,
   * then stay on the stream while it is live (the session's GET stream, or a POST whose
   * handler still runs, here or elsewhere), else end after the replay. Resolves false, having
   * connected nothing, when the id names no stream of this session: another session's, made
   * up, or a POST stream whose history is gone. The session's own GET stream id always
   * resumes (it is derived from the session id, so it cannot be guessed).
   */
  resume (session: SessionRecord, lastEventId: string, connect: Connect): Promise<boolean>
  /** Queue a message for the session's client; false when nothing can carry it. */
  send (sessionId: string, message: unknown): Promise<boolean>
  /**
   * Send a notification to every session with a standalone stream whose record passes
   * `filter`; `uri` narrows the candidates to the subscribers of that resource. Resolves how
   * many sessions it was queued for.
   */
  notify (message: unknown, filter: SessionFilter, uri?: string): Promise<number>
  /** Sessions whose client holds a GET connection on this instance (their TTL is refreshed). */
  connectedSessions (): Iterable<string>
}

/** The streams of one process. */
export class LocalSessionStreams implements SessionStreams {
  readonly #live: LocalStreams
  readonly #store: SessionStore
  readonly #events: EventStore | undefined
  readonly #retryMs: number
  readonly #logger: Logger
  readonly #telemetry: McpTelemetry | undefined

  constructor (live: LocalStreams, store: SessionStore, events: EventStore | undefined, retryMs: number, logger: Logger, telemetry?: McpTelemetry) {
    this.#telemetry = telemetry
    this.#live = live
    this.#store = store
    this.#events = events
    this.#retryMs = retryMs
    this.#logger = logger
  }

  async open (session: SessionRecord, connection: SseConnection, prime: boolean): Promise<void> {
    this.#live.openStandalone(session.id, connection, prime)
  }

  async resume (session: SessionRecord, lastEventId: string, connect: Connect): Promise<boolean> {
    const parsed = parseEventId(lastEventId)
    if (parsed === undefined || this.#events === undefined) return false
    if (parsed.streamId === standaloneStreamId(session.id)) {
      await this.#live.standaloneFor(session.id).resume(connect(true), lastEventId)
      return true
    }
    const live = this.#live.findStream(session.id, parsed.streamId)
    if (live !== undefined) {
      void live.resume(connect(false), lastEventId)
      return true
    }
    const history = await this.#events.replayAfter(session.id, lastEventId)
    if (history === undefined) return false
    // A POST stream that is no longer live here: its history is all there is.
    const connection = connect(false)
    this.#telemetry?.replayed(history.events.length)
    await writeEvents(connection, history.events)
    connection.end(history.ended ? undefined : this.#retryMs)
    return true
  }

  async send (sessionId: string, message: unknown): Promise<boolean> {
    return this.#live.sendStandalone(sessionId, message)
  }

  async notify (message: unknown, filter: SessionFilter): Promise<number> {
    let sent = 0
    for (const sessionId of [...this.#live.standaloneSessions()]) {
      let session: SessionRecord | undefined
      try {
        session = await this.#store.get(sessionId)
      } catch (err) {
        this.#logger.warn({ err }, 'mcp: session lookup failed while notifying')
        continue
      }
      if (session !== undefined && filter(session) && this.#live.sendStandalone(sessionId, message)) sent++
    }
    return sent
  }

  connectedSessions (): Iterable<string> {
    return this.#live.connectedSessions()
  }
}
