import type { SessionRecord } from './session-record.js'

/**
 * Why a 2025 session ended: `delete` (the client's DELETE), `expired` (idle past
 * `sessionTtlMs`, found by the store's sweep or a lookup).
 */
export type SessionEndReason = 'delete' | 'expired'

/** A session that ended. */
export interface SessionEnd {
  readonly id: string
  readonly reason: SessionEndReason
  /** The record as it was, when known (the memory store keeps it; with Redis an expired record is already gone). */
  readonly record: SessionRecord | undefined
}

/**
 * Hears each 2025 session start and end, once per deployment (with Redis, on the instance that
 * created, deleted or expired it). The session log is one; metrics can be another. Called
 * synchronously on the request path: an observer must not throw or block.
 */
export interface SessionLifecycle {
  started (session: SessionRecord): void
  ended (end: SessionEnd): void
}

/** Several observers as one, in order. */
export function sessionLifecycles (...observers: SessionLifecycle[]): SessionLifecycle {
  return {
    started (session) { for (const observer of observers) observer.started(session) },
    ended (end) { for (const observer of observers) observer.ended(end) }
  }
}
