import type { SessionEndReason } from './names.js'

export type { SessionEndReason }

/** What observers learn of a 2025 session (never its principal or client data). */
export interface SessionInfo {
  readonly id: string
  readonly protocolVersion: string
  readonly createdAt: number
}

/**
 * Hears of sessions starting and ending on this instance, with why they ended: the seam
 * metrics and logs hang on. `ended` is called once per session across instances (for an
 * expiry, on the instance that found it); `session` is undefined when the record was
 * already gone (a Redis expiry, a session lost with Redis' data).
 */
export interface SessionObserver {
  started? (session: SessionInfo): void
  ended? (sessionId: string, reason: SessionEndReason, session: SessionInfo | undefined): void
}

/** The observers of one registration of the plugin. An observer that throws is skipped, never fatal. */
export class SessionEvents {
  readonly #observers = new Set<SessionObserver>()

  /** Returns a function that removes the observer. */
  add (observer: SessionObserver): () => void {
    this.#observers.add(observer)
    return () => { this.#observers.delete(observer) }
  }

  started (session: SessionInfo): void {
    for (const observer of this.#observers) {
      try { observer.started?.(session) } catch {}
    }
  }

  ended (sessionId: string, reason: SessionEndReason, session: SessionInfo | undefined): void {
    for (const observer of this.#observers) {
      try { observer.ended?.(sessionId, reason, session) } catch {}
    }
  }
}
