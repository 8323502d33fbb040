import type { SessionRecord } from '../core/session-record.js'
import { assertStore } from './assert.js'

export type { SessionRecord }

/** What a subscription change did: `full` when the session is at its limit, `gone` when there is no session. */
export type SubscriptionChange = 'added' | 'removed' | 'unchanged' | 'full' | 'gone'

/**
 * What a store may say of an expiry besides the session id: `here` is `false` on the
 * instances that only hear of an expiry another instance found (a shared store announces each
 * expiry to every instance; the session is then logged and counted once), and the record as
 * it was when the store still had it (the memory store does). A custom store that passes
 * nothing is taken as `here`, without a record.
 */
export interface SessionExpiry {
  readonly here?: boolean
  readonly record?: Readonly<SessionRecord> | undefined
}

/** Called when the store drops a session on its own (idle expiry). */
export type SessionExpiredListener = (sessionId: string, expiry?: SessionExpiry) => void

/**
 * Where sessions live. Every method is async so a networked store (Redis) fits the same
 * contract; the memory store answers at once.
 *
 * Records handed out by `get` must be treated as read-only: change them with `update`.
 */
export interface SessionStore {
  /**
   * Store a new session. Resolves `false`, storing nothing, when the store is full
   * (the plugin answers `initialize` with 503 and `Retry-After`).
   */
  create (session: SessionRecord): Promise<boolean>
  /** The live record, or `undefined` when unknown, deleted or expired. */
  get (id: string): Promise<SessionRecord | undefined>
  /**
   * Optional: `get` without a promise, for a store that holds every record in this process
   * (the memory store). The plugin uses it on the hot path, where each await costs a turn of
   * the microtask queue per request; its answer must be `get`'s. `now` is the caller's
   * reading of `Date.now()` (the plugin reads the clock once per request); the store reads
   * it itself when it is not given.
   */
  getNow? (id: string, now?: number): SessionRecord | undefined
  /**
   * Optional: mint the id of the session about to be created (the plugin passes it to the next
   * `create`). For a store that can find its own ids faster than others, as the memory store
   * does (the id names where its record is kept). It must be as unguessable as the plugin's
   * own: at least 128 bits from a CSPRNG, visible ASCII only. `create` must still accept any id.
   */
  newSessionId? (): string
  /** Merge `patch` into an existing record. Resolves `false` when the session is gone. */
  update (id: string, patch: Partial<Omit<SessionRecord, 'id'>>): Promise<boolean>
  /**
   * Refresh the idle TTL. The plugin calls it at most once per `touchIntervalMs` per session.
   * May resolve `false` when the session is gone (the plugin then closes what it holds for it).
   */
  touch (id: string, now: number): Promise<boolean | void>
  /** Remove a session. Resolves `true` if it existed. */
  delete (id: string): Promise<boolean>
  /** Number of live sessions (for health and metrics). */
  size (): Promise<number>
  /** Subscribe to sessions the store expires by itself. Returns an unsubscribe function. */
  onExpired (listener: SessionExpiredListener): () => void
  /** Stop timers and release connections. */
  close (): Promise<void>
  /**
   * Optional: add a `resources/subscribe` URI atomically (at most `max` per session). A store
   * shared by several instances should have it; without it the plugin reads, changes and
   * writes `subscriptions` through `update`, serialised per session on one instance only.
   */
  addSubscription? (id: string, uri: string, max: number): Promise<SubscriptionChange>
  /** Optional: remove a subscription atomically (see `addSubscription`). */
  removeSubscription? (id: string, uri: string): Promise<SubscriptionChange>
}

const STORE_METHODS = ['create', 'get', 'update', 'touch', 'delete', 'size', 'onExpired', 'close'] as const

/** Fail at registration, not at the first request, when a custom store lacks a method. */
export function assertSessionStore (store: unknown): asserts store is SessionStore {
  assertStore('sessionStore', 'SessionStore', store, STORE_METHODS)
}
