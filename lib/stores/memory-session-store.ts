import type { SessionExpiredListener, SessionRecord, SessionStore, SubscriptionChange } from './session-store.js'

export interface MemorySessionStoreOptions {
  /** Idle time after which a session expires. Default 30 minutes. */
  ttlMs?: number
  /** Most sessions held at once; `create` resolves `false` beyond it. Default 10,000. */
  maxSessions?: number
  /** How often expired sessions are swept. Default `min(ttlMs, 60 s)`. */
  sweepIntervalMs?: number
}

/**
 * The embedded default: a Map with an idle TTL, a cap and a sweep on an unref'd timer.
 * @implements {SessionStore}
 */
export class MemorySessionStore implements SessionStore {
  readonly ttlMs: number
  readonly maxSessions: number
  readonly sweepIntervalMs: number
  readonly #sessions = new Map<string, SessionRecord>()
  readonly #listeners = new Set<SessionExpiredListener>()
  #timer: NodeJS.Timeout | undefined
  #lastFullSweep = 0

  constructor (options: MemorySessionStoreOptions = {}) {
    this.ttlMs = options.ttlMs ?? 30 * 60_000
    this.maxSessions = options.maxSessions ?? 10_000
    this.sweepIntervalMs = options.sweepIntervalMs ?? Math.min(this.ttlMs, 60_000)
    // setTimeout + refresh rather than setInterval: a sweep never overlaps the next one
    // and the timer never keeps the process alive.
    this.#timer = setTimeout(() => this.#tick(), this.sweepIntervalMs).unref()
  }

  async create (session: SessionRecord): Promise<boolean> {
    if (this.#sessions.size >= this.maxSessions) {
      // At the cap, expired-but-unswept sessions should not block new ones; sweep at most
      // once a second so a flood of initialize calls cannot turn into O(n) work each.
      const now = Date.now()
      if (now - this.#lastFullSweep >= 1000) {
        this.#lastFullSweep = now
        this.sweep(now)
      }
      if (this.#sessions.size >= this.maxSessions) return false
    }
    this.#sessions.set(session.id, session)
    return true
  }

  async get (id: string): Promise<SessionRecord | undefined> {
    return this.getNow(id)
  }

  getNow (id: string, now = Date.now()): SessionRecord | undefined {
    const session = this.#sessions.get(id)
    if (session === undefined) return undefined
    if (now - session.lastActiveAt > this.ttlMs) {
      this.#expire(id)
      return undefined
    }
    return session
  }

  async update (id: string, patch: Partial<Omit<SessionRecord, 'id'>>): Promise<boolean> {
    const session = this.#sessions.get(id)
    if (session === undefined) return false
    Object.assign(session, patch)
    return true
  }

  async touch (id: string, now: number): Promise<boolean> {
    const session = this.#sessions.get(id)
    if (session === undefined) return false
    session.lastActiveAt = now
    return true
  }

  async delete (id: string): Promise<boolean> {
    return this.#sessions.delete(id)
  }

  async addSubscription (id: string, uri: string, max: number): Promise<SubscriptionChange> {
    const session = this.#sessions.get(id)
    if (session === undefined) return 'gone'
    const current = session.subscriptions ?? []
    if (current.includes(uri)) return 'unchanged'
    if (current.length >= max) return 'full'
    session.subscriptions = [...current, uri]
    return 'added'
  }

  async removeSubscription (id: string, uri: string): Promise<SubscriptionChange> {
    const session = this.#sessions.get(id)
    if (session?.subscriptions?.includes(uri) !== true) return session === undefined ? 'gone' : 'unchanged'
    session.subscriptions = session.subscriptions.filter((u) => u !== uri)
    return 'removed'
  }

  async size (): Promise<number> {
    return this.#sessions.size
  }

  onExpired (listener: SessionExpiredListener): () => void {
    this.#listeners.add(listener)
    return () => { this.#listeners.delete(listener) }
  }

  /** Drop every session idle for longer than the TTL. Returns how many were dropped. */
  sweep (now = Date.now()): number {
    let dropped = 0
    for (const [id, session] of this.#sessions) {
      if (now - session.lastActiveAt > this.ttlMs) {
        this.#expire(id)
        dropped++
      }
    }
    return dropped
  }

  async close (): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    this.#sessions.clear()
    this.#listeners.clear()
  }

  #tick (): void {
    this.sweep()
    this.#timer?.refresh()
  }

  #expire (id: string): void {
    const record = this.#sessions.get(id)
    this.#sessions.delete(id)
    const expiry = { here: true, record }
    for (const listener of this.#listeners) listener(id, expiry)
  }
}
