import type { FastifyBaseLogger } from 'fastify'
import type { SseConnection } from '../http/sse-connection.js'
import type { LocalStreams } from './local-streams.js'
import type { SessionRecord, SessionStore } from '../stores/session-store.js'

/** Which sessions a notification is for (their records must pass it). */
export type SessionFilter = (session: SessionRecord) => boolean

/**
 * The sessions' standalone (GET) streams, wherever they are held. In one process they live
 * in `LocalStreams`; with Redis, a message for one is appended to the shared history by
 * whichever instance produces it and written by the instance holding its GET.
 */
export interface StandaloneStreams {
  /** Carry the session's standalone stream on a new GET connection (no `Last-Event-ID`). */
  open (session: SessionRecord, connection: SseConnection, prime: boolean): Promise<void>
  /** The same, after replaying the events that follow `lastEventId`. */
  resume (session: SessionRecord, connection: SseConnection, lastEventId: string): Promise<void>
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

/** Standalone streams of one process. */
export class LocalStandaloneStreams implements StandaloneStreams {
  readonly #live: LocalStreams
  readonly #store: SessionStore
  readonly #logger: FastifyBaseLogger

  constructor (live: LocalStreams, store: SessionStore, logger: FastifyBaseLogger) {
    this.#live = live
    this.#store = store
    this.#logger = logger
  }

  async open (session: SessionRecord, connection: SseConnection, prime: boolean): Promise<void> {
    this.#live.openStandalone(session.id, connection, prime)
  }

  async resume (session: SessionRecord, connection: SseConnection, lastEventId: string): Promise<void> {
    await this.#live.standaloneFor(session.id).resume(connection, lastEventId)
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
