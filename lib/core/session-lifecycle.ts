import type { SessionEndReason } from '../telemetry/names.js'
import type { SessionRecord } from './session-record.js'

export type { SessionEndReason }

/** A session that ended. */
export interface SessionEnd {
  readonly id: string
  readonly reason: SessionEndReason
  /** The record as it was, when known (the memory store keeps it; with Redis an expired record is already gone). */
  readonly record: Readonly<SessionRecord> | undefined
}

/**
 * Hears each 2025 session start and end, once per deployment (with Redis, on the instance that
 * created, deleted or expired it): the one seam the session log, the session metrics and the
 * application's `app.mcp.onSession` observers hang on. Called synchronously on the request
 * path: an observer must not block.
 */
export interface SessionLifecycle {
  started (session: Readonly<SessionRecord>): void
  ended (end: SessionEnd): void
}

/** What an application's observer learns of a 2025 session (never its principal or client data). */
export interface SessionInfo {
  readonly id: string
  readonly protocolVersion: string
  readonly createdAt: number
}

/** An application's observer of session starts and ends (`app.mcp.onSession`). */
export interface SessionObserver {
  started? (session: SessionInfo): void
  /** `session` is undefined when the record was already gone (a Redis expiry). */
  ended? (sessionId: string, reason: SessionEndReason, session: SessionInfo | undefined): void
}

function infoOf (session: Readonly<SessionRecord> | undefined): SessionInfo | undefined {
  return session === undefined ? undefined : { id: session.id, protocolVersion: session.protocolVersion, createdAt: session.createdAt }
}

/**
 * The lifecycle of one registration of the plugin: the plugin's own observers (the log, the
 * metrics), in order, then the application's, each of which is skipped if it throws, so an
 * observer's bug never fails a request.
 */
export class SessionEvents implements SessionLifecycle {
  readonly #own: readonly SessionLifecycle[]
  readonly #observers = new Set<SessionObserver>()

  constructor (...own: SessionLifecycle[]) {
    this.#own = own
  }

  /** Adds an application observer; returns a function that removes it. */
  add (observer: SessionObserver): () => void {
    this.#observers.add(observer)
    return () => { this.#observers.delete(observer) }
  }

  started (session: Readonly<SessionRecord>): void {
    for (const own of this.#own) own.started(session)
    if (this.#observers.size === 0) return
    const info = infoOf(session)!
    for (const observer of this.#observers) {
      try { observer.started?.(info) } catch {}
    }
  }

  ended (end: SessionEnd): void {
    for (const own of this.#own) own.ended(end)
    if (this.#observers.size === 0) return
    const info = infoOf(end.record)
    for (const observer of this.#observers) {
      try { observer.ended?.(end.id, end.reason, info) } catch {}
    }
  }
}
