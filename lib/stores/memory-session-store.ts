import { randomBytes, randomInt } from 'node:crypto'
import type { SessionExpiredListener, SessionRecord, SessionStore, SubscriptionChange } from './session-store.js'

export interface MemorySessionStoreOptions {
  /** Idle time after which a session expires. Default 30 minutes. */
  ttlMs?: number
  /** Most sessions held at once; `create` resolves `false` beyond it. Default 10,000. */
  maxSessions?: number
  /** How often expired sessions are swept. Default `min(ttlMs, 60 s)`. */
  sweepIntervalMs?: number
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const DIGIT = new Int8Array(128).fill(-1)
for (let i = 0; i < ALPHABET.length; i++) DIGIT[ALPHABET.charCodeAt(i)] = i

// A minted id: 5 base64url characters naming the record's slot (30 bits, masked), then 32
// of secret (192 bits from the CSPRNG, as other session ids). The secret is kept as four
// 48-bit numbers, exact in a double, beside the record's last activity.
const SLOT_CHARS = 5
const SECRET_CHARS = 32
const MINTED_LENGTH = SLOT_CHARS + SECRET_CHARS
const MAX_SLOTS = 2 ** (6 * SLOT_CHARS)
// Eight doubles per slot: one cache line holds all a lookup reads before the record.
const STRIDE = 8
const LAST_ACTIVE = 4
const NO_SECRET = -1

/** The number spelled by `length` base64url characters of `id` from `at`; -1 if any is not one. */
function decode (id: string, at: number, length: number): number {
  let value = 0
  for (let i = at; i < at + length; i++) {
    const code = id.charCodeAt(i)
    const digit = code < 128 ? DIGIT[code]! : -1
    if (digit < 0) return -1
    value = value * 64 + digit
  }
  return value
}

/** The four 48-bit parts of a minted id's secret; undefined when `id` is not shaped like one. */
function secretOf (id: string): number[] | undefined {
  if (id.length !== MINTED_LENGTH) return undefined
  const parts = [0, 1, 2, 3].map((part) => decode(id, SLOT_CHARS + 8 * part, 8))
  return parts.includes(-1) ? undefined : parts
}

function encode (value: number, length: number): string {
  let text = ''
  for (let i = 0; i < length; i++) {
    text = ALPHABET[value % 64]! + text
    value = Math.floor(value / 64)
  }
  return text
}

/**
 * The embedded default: every session in this process, with an idle TTL, a cap and a sweep
 * on an unref'd timer.
 *
 * The ids it mints (`newSessionId`) name the slot their record is kept in, so a lookup reads
 * one line of a dense table (the secret and the last activity) and the record, instead of a
 * hash table's bucket, entry and key string scattered over the heap: at 100,000 sessions a
 * `Map` lookup missed the cache on each of them (docs/performance.md). Ids it did not mint
 * (a record created with an id of the caller's) are kept in a `Map`, as before.
 * @implements {SessionStore}
 */
export class MemorySessionStore implements SessionStore {
  readonly ttlMs: number
  readonly maxSessions: number
  readonly sweepIntervalMs: number
  readonly #other = new Map<string, SessionRecord>()
  readonly #listeners = new Set<SessionExpiredListener>()
  /** Per store, so a slot's number does not show in its ids (nor how many sessions there are). */
  readonly #mask = randomInt(MAX_SLOTS)
  #table: Float64Array
  #records: Array<SessionRecord | undefined>
  /** Slots below this have been used; the free ones among them are in `#free`. */
  #used = 0
  readonly #free: number[] = []
  #slotted = 0
  #timer: NodeJS.Timeout | undefined
  #lastFullSweep = 0

  constructor (options: MemorySessionStoreOptions = {}) {
    this.ttlMs = options.ttlMs ?? 30 * 60_000
    this.maxSessions = options.maxSessions ?? 10_000
    this.sweepIntervalMs = options.sweepIntervalMs ?? Math.min(this.ttlMs, 60_000)
    const initial = Math.min(this.maxSessions, MAX_SLOTS, 1024)
    this.#table = new Float64Array(initial * STRIDE)
    this.#records = Array.from({ length: initial }, () => undefined)
    // setTimeout + refresh rather than setInterval: a sweep never overlaps the next one
    // and the timer never keeps the process alive.
    this.#timer = setTimeout(() => this.#tick(), this.sweepIntervalMs).unref()
  }

  /**
   * A new session id naming the slot the next `create` will use (192 bits of secret besides).
   * When `create` finds that slot taken (another id minted in between), the record is kept
   * by id instead: slower to find, equally correct.
   */
  newSessionId (): string {
    const slot = this.#free.length > 0 ? this.#free[this.#free.length - 1]! : this.#used
    if (slot >= Math.min(this.maxSessions, MAX_SLOTS)) return randomBytes(24).toString('base64url')
    return encode(slot ^ this.#mask, SLOT_CHARS) + randomBytes(24).toString('base64url')
  }

  async create (session: SessionRecord): Promise<boolean> {
    if (this.#slotted + this.#other.size >= this.maxSessions) {
      // At the cap, expired-but-unswept sessions should not block new ones; sweep at most
      // once a second so a flood of initialize calls cannot turn into O(n) work each.
      const now = Date.now()
      if (now - this.#lastFullSweep >= 1000) {
        this.#lastFullSweep = now
        this.sweep(now)
      }
      if (this.#slotted + this.#other.size >= this.maxSessions) return false
    }
    const id = session.id
    const secret = secretOf(id)
    const slot = secret === undefined ? -1 : this.#claimSlot(id)
    if (slot < 0) {
      this.#other.set(id, session)
      return true
    }
    const table = this.#table
    const at = slot * STRIDE
    table.set(secret!, at)
    table[at + LAST_ACTIVE] = session.lastActiveAt
    this.#records[slot] = session
    this.#slotted++
    return true
  }

  async get (id: string): Promise<SessionRecord | undefined> {
    return this.getNow(id)
  }

  getNow (id: string, now = Date.now()): SessionRecord | undefined {
    const slot = this.#slotOf(id)
    if (slot >= 0) {
      if (now - this.#table[slot * STRIDE + LAST_ACTIVE]! > this.ttlMs) {
        this.#expire(id, slot)
        return undefined
      }
      return this.#records[slot]
    }
    if (this.#other.size === 0) return undefined
    const session = this.#other.get(id)
    if (session === undefined) return undefined
    if (now - session.lastActiveAt > this.ttlMs) {
      this.#expire(id, -1)
      return undefined
    }
    return session
  }

  async update (id: string, patch: Partial<Omit<SessionRecord, 'id'>>): Promise<boolean> {
    const slot = this.#slotOf(id)
    const session = slot >= 0 ? this.#records[slot] : this.#other.get(id)
    if (session === undefined) return false
    Object.assign(session, patch)
    if (slot >= 0 && patch.lastActiveAt !== undefined) this.#table[slot * STRIDE + LAST_ACTIVE] = patch.lastActiveAt
    return true
  }

  async touch (id: string, now: number): Promise<boolean> {
    const slot = this.#slotOf(id)
    const session = slot >= 0 ? this.#records[slot] : this.#other.get(id)
    if (session === undefined) return false
    session.lastActiveAt = now
    if (slot >= 0) this.#table[slot * STRIDE + LAST_ACTIVE] = now
    return true
  }

  async delete (id: string): Promise<boolean> {
    const slot = this.#slotOf(id)
    if (slot < 0) return this.#other.delete(id)
    this.#releaseSlot(slot)
    return true
  }

  async addSubscription (id: string, uri: string, max: number): Promise<SubscriptionChange> {
    const session = this.#recordOf(id)
    if (session === undefined) return 'gone'
    const current = session.subscriptions ?? []
    if (current.includes(uri)) return 'unchanged'
    if (current.length >= max) return 'full'
    session.subscriptions = [...current, uri]
    return 'added'
  }

  async removeSubscription (id: string, uri: string): Promise<SubscriptionChange> {
    const session = this.#recordOf(id)
    if (session?.subscriptions?.includes(uri) !== true) return session === undefined ? 'gone' : 'unchanged'
    session.subscriptions = session.subscriptions.filter((u) => u !== uri)
    return 'removed'
  }

  async size (): Promise<number> {
    return this.#slotted + this.#other.size
  }

  onExpired (listener: SessionExpiredListener): () => void {
    this.#listeners.add(listener)
    return () => { this.#listeners.delete(listener) }
  }

  /** Drop every session idle for longer than the TTL. Returns how many were dropped. */
  sweep (now = Date.now()): number {
    let dropped = 0
    const table = this.#table
    for (let slot = 0; slot < this.#used; slot++) {
      const session = this.#records[slot]
      if (session !== undefined && now - table[slot * STRIDE + LAST_ACTIVE]! > this.ttlMs) {
        this.#expire(session.id, slot)
        dropped++
      }
    }
    for (const [id, session] of this.#other) {
      if (now - session.lastActiveAt > this.ttlMs) {
        this.#expire(id, -1)
        dropped++
      }
    }
    return dropped
  }

  async close (): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    this.#other.clear()
    this.#records.fill(undefined)
    this.#table.fill(NO_SECRET)
    this.#free.length = 0
    this.#used = 0
    this.#slotted = 0
    this.#listeners.clear()
  }

  /** The slot of the live record `id` names, or -1 (not an id minted here, or not one of the live ones). */
  #slotOf (id: string): number {
    if (id.length !== MINTED_LENGTH) return -1
    const named = decode(id, 0, SLOT_CHARS)
    if (named < 0) return -1
    const slot = named ^ this.#mask
    if (slot >= this.#used) return -1
    const table = this.#table
    const at = slot * STRIDE
    // Every part is compared, whichever differs first.
    const differs = Number(decode(id, SLOT_CHARS, 8) !== table[at]) |
      Number(decode(id, SLOT_CHARS + 8, 8) !== table[at + 1]) |
      Number(decode(id, SLOT_CHARS + 16, 8) !== table[at + 2]) |
      Number(decode(id, SLOT_CHARS + 24, 8) !== table[at + 3])
    return differs === 0 && this.#records[slot] !== undefined ? slot : -1
  }

  #recordOf (id: string): SessionRecord | undefined {
    const slot = this.#slotOf(id)
    return slot >= 0 ? this.#records[slot] : this.#other.get(id)
  }

  /** The free slot a minted id names, taken; -1 when it names none or one already taken. */
  #claimSlot (id: string): number {
    const named = decode(id, 0, SLOT_CHARS)
    if (named < 0) return -1
    const slot = named ^ this.#mask
    const free = this.#free
    if (free.length > 0 && free[free.length - 1] === slot) {
      free.pop()
      return slot
    }
    if (slot !== this.#used || slot >= Math.min(this.maxSessions, MAX_SLOTS)) return -1
    if (slot === this.#records.length) this.#grow()
    this.#used++
    return slot
  }

  #grow (): void {
    const capacity = Math.min(this.#records.length * 2, this.maxSessions, MAX_SLOTS)
    const table = new Float64Array(capacity * STRIDE)
    table.set(this.#table)
    this.#table = table
    const records = this.#records
    while (records.length < capacity) records.push(undefined)
  }

  #releaseSlot (slot: number): void {
    this.#records[slot] = undefined
    this.#table.fill(NO_SECRET, slot * STRIDE, slot * STRIDE + 4)
    this.#free.push(slot)
    this.#slotted--
  }

  #tick (): void {
    this.sweep()
    this.#timer?.refresh()
  }

  #expire (id: string, slot: number): void {
    let record: SessionRecord | undefined
    if (slot >= 0) {
      record = this.#records[slot]
      this.#releaseSlot(slot)
    } else {
      record = this.#other.get(id)
      this.#other.delete(id)
    }
    const expiry = { record, here: true }
    for (const listener of this.#listeners) listener(id, expiry)
  }
}
