import { randomBytes } from 'node:crypto'
import type { Redis } from 'ioredis'
import type { FastifyBaseLogger } from 'fastify'
import type { MessageBus } from './message-bus.js'
import type { SessionExpiredListener, SessionRecord, SessionStore, SubscriptionChange } from './session-store.js'
import type { RedisMessageBus } from './redis-message-bus.js'
import { RedisKeys } from './redis-keys.js'
import { corkForTurn, unavailable } from './redis-connection.js'
import { RedisBreaker } from './redis-breaker.js'

export interface RedisSessionStoreOptions {
  /** Key prefix (default `mcp:`); keys also carry a `{sessionId}` hash tag. */
  prefix?: string
  /** Idle time after which a session expires. Default 30 minutes. */
  ttlMs?: number
  /** Most live sessions across every instance; `create` resolves false beyond it. Default 10,000. */
  maxSessions?: number
  /** How often this instance looks for expired sessions to announce. Default `min(ttlMs, 60 s)`. */
  sweepIntervalMs?: number
  /**
   * Keep recently read records on this instance, so a hot lookup skips the network.
   * Invalidated over pub/sub on update, delete and expiry, and never older than `maxAgeMs`.
   */
  nearCache?: { max?: number, maxAgeMs?: number } | false
  /** Where updates, deletions and expiries are announced to the other instances. */
  bus: MessageBus
  /** Shared with the other users of the client; by default the store has one of its own. */
  breaker?: RedisBreaker
  logger?: FastifyBaseLogger
}

type Scripted = Redis & {
  mcpSessionPut (hash: string, ttl: number, ...fields: string[]): Promise<number>
  mcpSessionUpdate (hash: string, ...args: Array<string | number>): Promise<number>
  mcpSessionTouch (hash: string, ttl: number, now: number): Promise<number>
  mcpSessionSubscribe (hash: string, uri: string, max: number): Promise<number>
  mcpSessionUnsubscribe (hash: string, uri: string): Promise<number>
  mcpIndexAdd (index: string, now: number, max: number, id: string, expiry: number): Promise<number>
}

interface ScriptedPipeline {
  mcpIndexAdd (index: string, now: number, max: number, id: string, expiry: number): ScriptedPipeline
  mcpSessionPut (hash: string, ttl: number, ...fields: string[]): ScriptedPipeline
  mcpSessionTouch (hash: string, ttl: number, now: number): ScriptedPipeline
  mcpSessionUnsubscribe (hash: string, uri: string): ScriptedPipeline
  zadd (...args: Array<string | number>): ScriptedPipeline
  srem (key: string, member: string): ScriptedPipeline
  exec (): Promise<Array<[Error | null, unknown]> | null>
}

// A whole record is one hash, so the hot path (`get`) is a plain HGETALL: no script, one key.
// Its subscriptions are one field, a JSON array (absent when empty) that the scripts below
// edit in place, so concurrent (un)subscribes from several instances never lose each other.
// Each script touches the keys of one session only (one Cluster slot).
/** Index entries one sweep round reads; rounds follow each other within the budget. */
const SWEEP_BATCH = 1000
const SWEEP_BUDGET_MS = 2000

const SCRIPTS = {
  mcpSessionPut: `
    redis.call('DEL', KEYS[1])
    redis.call('HSET', KEYS[1], unpack(ARGV, 2))
    redis.call('PEXPIRE', KEYS[1], ARGV[1])
    return 1`,
  mcpSessionUpdate: `
    if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
    local nset = tonumber(ARGV[1])
    if nset > 0 then redis.call('HSET', KEYS[1], unpack(ARGV, 2, 1 + nset * 2)) end
    if #ARGV > 1 + nset * 2 then redis.call('HDEL', KEYS[1], unpack(ARGV, 2 + nset * 2)) end
    return 1`,
  mcpSessionTouch: `
    if redis.call('PEXPIRE', KEYS[1], ARGV[1]) == 0 then return 0 end
    redis.call('HSET', KEYS[1], 'lastActiveAt', ARGV[2])
    return 1`,
  // 1 added, 0 already there, -1 no session, -2 full.
  mcpSessionSubscribe: `
    if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
    local stored = redis.call('HGET', KEYS[1], 'subscriptions')
    local uris = stored and cjson.decode(stored) or {}
    for _, uri in ipairs(uris) do if uri == ARGV[1] then return 0 end end
    if #uris >= tonumber(ARGV[2]) then return -2 end
    uris[#uris + 1] = ARGV[1]
    redis.call('HSET', KEYS[1], 'subscriptions', cjson.encode(uris))
    return 1`,
  // 1 removed, 0 not there.
  mcpSessionUnsubscribe: `
    local stored = redis.call('HGET', KEYS[1], 'subscriptions')
    if not stored then return 0 end
    local uris = cjson.decode(stored)
    for i, uri in ipairs(uris) do
      if uri == ARGV[1] then
        table.remove(uris, i)
        if #uris == 0 then redis.call('HDEL', KEYS[1], 'subscriptions')
        else redis.call('HSET', KEYS[1], 'subscriptions', cjson.encode(uris)) end
        return 1
      end
    end
    return 0`,
  // The cap: count sessions whose expiry is still ahead, add this one if there is room.
  mcpIndexAdd: `
    if redis.call('ZCOUNT', KEYS[1], ARGV[1], '+inf') >= tonumber(ARGV[2]) then return 0 end
    redis.call('ZADD', KEYS[1], ARGV[4], ARGV[3])
    return 1`
} as const

/** Give a client the store's scripts (ioredis reloads them itself after a Redis restart). */
export function defineScripts (client: Redis, scripts: Record<string, string>, keys: Record<string, number> = {}): void {
  const existing = client as unknown as Record<string, unknown>
  for (const [name, lua] of Object.entries(scripts)) {
    if (typeof existing[name] !== 'function') client.defineCommand(name, { numberOfKeys: keys[name] ?? 1, lua })
  }
}

interface Cached { record: SessionRecord, at: number }
/** `by`: the store that announced an expiry (the one that found it). */
interface StoreNotice { t: 'upd' | 'del' | 'exp', id: string, by?: string }

/**
 * Sessions in Redis, shared by every instance. A record is one hash of JSON-encoded fields
 * (subscriptions included) with the idle TTL as its expiry (refreshed by `touch`, which the
 * plugin throttles); creation, updates and subscription changes are single scripts, so they
 * are atomic. An index (sorted by expiry time) bounds the number of live sessions and lets
 * instances notice expiries, which are announced over the bus.
 */
export class RedisSessionStore implements SessionStore {
  readonly ttlMs: number
  readonly maxSessions: number
  readonly #client: Scripted
  readonly #breaker: RedisBreaker
  readonly #ownBreaker: boolean
  readonly #keys: RedisKeys
  readonly #bus: MessageBus
  readonly #channel: string
  readonly #logger: FastifyBaseLogger | undefined
  readonly #listeners = new Set<SessionExpiredListener>()
  /** This store among the instances, in the expiry notices it sends. */
  readonly #name = randomBytes(6).toString('base64url')
  readonly #cache: Map<string, Cached> | undefined
  readonly #cacheMax: number
  readonly #cacheMaxAgeMs: number
  readonly #sweepIntervalMs: number
  #unsubscribe: Promise<() => Promise<void>> | undefined
  readonly #touches = new Map<string, { now: number, waiters: Array<{ resolve: (alive: boolean) => void, reject: (err: Error) => void }> }>()
  #touchFlush: NodeJS.Immediate | undefined
  readonly #offReconnect: (() => void) | undefined
  #timer: NodeJS.Timeout | undefined
  #closed = false

  constructor (client: Redis, options: RedisSessionStoreOptions) {
    this.ttlMs = options.ttlMs ?? 30 * 60_000
    this.maxSessions = options.maxSessions ?? 10_000
    this.#keys = new RedisKeys(options.prefix ?? 'mcp:')
    this.#bus = options.bus
    this.#logger = options.logger
    this.#channel = this.#keys.channel('sessions')
    defineScripts(client, SCRIPTS)
    this.#client = client as Scripted
    this.#ownBreaker = options.breaker === undefined
    this.#breaker = options.breaker ?? new RedisBreaker(client, { logger: options.logger, probeIntervalMs: client.options.commandTimeout })
    const near = options.nearCache === false || options.nearCache === undefined ? undefined : options.nearCache
    this.#cache = near === undefined ? undefined : new Map()
    this.#cacheMax = near?.max ?? 10_000
    this.#cacheMaxAgeMs = near?.maxAgeMs ?? 5000
    this.#sweepIntervalMs = options.sweepIntervalMs ?? Math.min(this.ttlMs, 60_000)
    this.#unsubscribe = this.#bus.subscribe(this.#channel, (notice) => this.#onNotice(notice as StoreNotice))
    this.#unsubscribe.catch((err: unknown) => this.#logger?.warn({ err }, 'mcp: session store could not subscribe to notices'))
    // Notices published while pub/sub was down never arrive: nothing cached can be trusted.
    this.#offReconnect = (this.#bus as Partial<RedisMessageBus>).onReconnect?.(() => {
      this.#cache?.clear()
    })
    this.#timer = setTimeout(() => { void this.#tick() }, this.#sweepIntervalMs).unref()
  }

  /** Resolves once this store hears other instances' notices (for tests and startup ordering). */
  async ready (): Promise<void> {
    await this.#unsubscribe
  }

  create (session: SessionRecord): Promise<boolean> {
    return this.#breaker.open ? this.#breaker.refuse() : this.#create(session).then(this.#breaker.pass, this.#breaker.fail)
  }

  async #create (session: SessionRecord): Promise<boolean> {
    const now = Date.now()
    const { id } = session
    const hash = this.#keys.session(id)
    const results = await (this.#client.pipeline() as unknown as ScriptedPipeline)
      .mcpIndexAdd(this.#keys.sessionIndex(), now, this.maxSessions, id, now + this.ttlMs)
      .mcpSessionPut(hash, this.ttlMs, ...encodeFields(session))
      .exec()
    for (const [err] of results ?? []) if (err !== null) throw err
    if (results?.[0]?.[1] === 1) return true
    // Over the cap: undo the write that went out in the same round trip.
    await this.#client.del(hash)
    return false
  }

  get (id: string): Promise<SessionRecord | undefined> {
    const cache = this.#cache
    if (cache !== undefined) {
      const hit = cache.get(id)
      if (hit !== undefined) {
        if (Date.now() - hit.at < this.#cacheMaxAgeMs) return Promise.resolve(hit.record)
        cache.delete(id)
      }
    }
    return this.#breaker.open ? this.#breaker.refuse() : this.#fetch(id).then(this.#breaker.pass, this.#breaker.fail)
  }

  async #fetch (id: string): Promise<SessionRecord | undefined> {
    corkForTurn(this.#client)
    const stored = await this.#client.hgetall(this.#keys.session(id))
    // HGETALL answers an empty hash for a missing key; a record always has fields.
    if (stored.id === undefined) return undefined
    const record = decodeRecord(stored)
    const cache = this.#cache
    if (cache !== undefined) {
      if (cache.size >= this.#cacheMax) cache.delete(cache.keys().next().value as string)
      cache.set(id, { record, at: Date.now() })
    }
    return record
  }

  update (id: string, patch: Partial<Omit<SessionRecord, 'id'>>): Promise<boolean> {
    return this.#breaker.open ? this.#breaker.refuse() : this.#update(id, patch).then(this.#breaker.pass, this.#breaker.fail)
  }

  async #update (id: string, patch: Partial<Omit<SessionRecord, 'id'>>): Promise<boolean> {
    const set: string[] = []
    const del: string[] = []
    for (const [field, value] of Object.entries(patch)) {
      if (field === 'id') continue
      if (isAbsent(field, value)) del.push(field)
      else set.push(field, JSON.stringify(value))
    }
    const updated = await this.#client.mcpSessionUpdate(this.#keys.session(id), set.length / 2, ...set, ...del) === 1
    this.#cache?.delete(id)
    if (updated) this.#announce({ t: 'upd', id })
    return updated
  }

  /**
   * Touches are batched: those asked for in one turn of the event loop go out as one pipeline
   * (one write, one round trip), the index entries in a single ZADD. Under load that is many
   * sessions per round trip; a touch is never urgent, so waiting for the turn to end costs nothing.
   */
  touch (id: string, now: number): Promise<boolean> {
    if (this.#breaker.open) return this.#breaker.refuse()
    return new Promise((resolve, reject) => {
      const pending = this.#touches.get(id)
      if (pending === undefined) this.#touches.set(id, { now, waiters: [{ resolve, reject }] })
      else {
        pending.now = Math.max(pending.now, now)
        pending.waiters.push({ resolve, reject })
      }
      this.#touchFlush ??= setImmediate(() => { void this.#flushTouches() })
    })
  }

  async #flushTouches (): Promise<void> {
    this.#touchFlush = undefined
    const batch = [...this.#touches]
    this.#touches.clear()
    const index = this.#keys.sessionIndex()
    const pipeline = this.#client.pipeline() as unknown as ScriptedPipeline
    const refreshed: Array<number | string> = []
    for (const [id, { now }] of batch) {
      pipeline.mcpSessionTouch(this.#keys.session(id), this.ttlMs, now)
      refreshed.push(now + this.ttlMs, id)
    }
    // The record and its index entry live in different Cluster slots, so not in one script.
    // A failed ZADD is left to the sweep, which repairs entries of records still alive.
    pipeline.zadd(index, 'XX', ...refreshed)
    let results: Array<[Error | null, unknown]>
    try {
      results = await pipeline.exec() ?? []
    } catch (err) {
      this.#breaker.record(err)
      for (const [, { waiters }] of batch) for (const { reject } of waiters) reject(unavailable(err))
      return
    }
    const failed = results.find(([err]) => err != null)
    if (failed === undefined) this.#breaker.pass(undefined)
    else this.#breaker.record(failed[0])
    // Records that had lapsed: their index entries (just refreshed with the rest) are made due
    // now instead, so that the next sweep announces the expiries.
    const lapsed: Array<number | string> = []
    batch.forEach(([id, { now }], i) => {
      if (results[i]?.[0] == null && results[i]?.[1] === 0) lapsed.push(now, id)
    })
    if (lapsed.length > 0) await this.#client.zadd(index, 'XX', ...lapsed).catch(() => {})
    batch.forEach(([id, { now, waiters }], i) => {
      const [err, alive] = results[i] ?? [new Error('no reply')]
      if (err != null) {
        for (const { reject } of waiters) reject(unavailable(err))
        return
      }
      const cached = alive === 1 ? this.#cache?.get(id) : undefined
      if (cached !== undefined) cached.record.lastActiveAt = now
      for (const { resolve } of waiters) resolve(alive === 1)
    })
  }

  delete (id: string): Promise<boolean> {
    return this.#breaker.open ? this.#breaker.refuse() : this.#delete(id).then(this.#breaker.pass, this.#breaker.fail)
  }

  async #delete (id: string): Promise<boolean> {
    const uris = parseSubscriptions(await this.#client.hget(this.#keys.session(id), 'subscriptions'))
    const pipeline = this.#client.pipeline()
      .del(this.#keys.session(id))
      .zrem(this.#keys.sessionIndex(), id)
      .srem(this.#keys.standaloneIndex(), id)
    for (const uri of uris) pipeline.srem(this.#keys.subscribers(uri), id)
    const results = await pipeline.exec()
    for (const [err] of results ?? []) if (err !== null) throw err
    this.#cache?.delete(id)
    const existed = (results?.[0]?.[1] as number) > 0
    if (existed) this.#announce({ t: 'del', id })
    return existed
  }

  size (): Promise<number> {
    return this.#breaker.open ? this.#breaker.refuse() : this.#size().then(this.#breaker.pass, this.#breaker.fail)
  }

  async #size (): Promise<number> {
    return this.#client.zcount(this.#keys.sessionIndex(), Date.now(), '+inf')
  }

  /** Atomic `resources/subscribe` bookkeeping (no read-modify-write across instances). */
  addSubscription (id: string, uri: string, max: number): Promise<SubscriptionChange> {
    return this.#breaker.open ? this.#breaker.refuse() : this.#addSubscription(id, uri, max).then(this.#breaker.pass, this.#breaker.fail)
  }

  async #addSubscription (id: string, uri: string, max: number): Promise<SubscriptionChange> {
    const result = await this.#client.mcpSessionSubscribe(this.#keys.session(id), uri, max)
    // The reverse index lives in its own slot, so it cannot join the script: kept in step
    // right after it, and entries of sessions gone meanwhile are dropped when found.
    if (result === 1) await this.#client.sadd(this.#keys.subscribers(uri), id)
    this.#cache?.delete(id)
    if (result === 1) this.#announce({ t: 'upd', id })
    return result === 1 ? 'added' : result === 0 ? 'unchanged' : result === -1 ? 'gone' : 'full'
  }

  removeSubscription (id: string, uri: string): Promise<SubscriptionChange> {
    return this.#breaker.open ? this.#breaker.refuse() : this.#removeSubscription(id, uri).then(this.#breaker.pass, this.#breaker.fail)
  }

  async #removeSubscription (id: string, uri: string): Promise<SubscriptionChange> {
    const [[err, removed]] = (await (this.#client.pipeline() as unknown as ScriptedPipeline)
      .mcpSessionUnsubscribe(this.#keys.session(id), uri)
      .srem(this.#keys.subscribers(uri), id)
      .exec()) as Array<[Error | null, number]> as [[Error | null, number]]
    if (err !== null) throw err
    this.#cache?.delete(id)
    if (removed > 0) this.#announce({ t: 'upd', id })
    return removed > 0 ? 'removed' : 'unchanged'
  }

  /** Record that the session has a standalone (GET) stream: notifications are kept for it. */
  async markStandalone (id: string): Promise<void> {
    const breaker = this.#breaker
    await (breaker.open ? breaker.refuse() : this.#client.sadd(this.#keys.standaloneIndex(), id).then(breaker.pass, breaker.fail))
  }

  async hasStandalone (id: string): Promise<boolean> {
    const breaker = this.#breaker
    return await (breaker.open ? breaker.refuse() : this.#client.sismember(this.#keys.standaloneIndex(), id).then(breaker.pass, breaker.fail)) === 1
  }

  /** Sessions with a standalone stream on any instance (possibly including some just gone). */
  standaloneSessions (): Promise<string[]> {
    return this.#breaker.open ? this.#breaker.refuse() : this.#client.smembers(this.#keys.standaloneIndex()).then(this.#breaker.pass, this.#breaker.fail)
  }

  /** Sessions subscribed to `uri` (possibly including some just gone). */
  subscribers (uri: string): Promise<string[]> {
    return this.#breaker.open ? this.#breaker.refuse() : this.#client.smembers(this.#keys.subscribers(uri)).then(this.#breaker.pass, this.#breaker.fail)
  }

  /** Drop index entries of a session found to be gone (expired: its own keys went by TTL). */
  async forgetIndexes (id: string, uris: readonly string[] = []): Promise<void> {
    const pipeline = this.#client.pipeline().srem(this.#keys.standaloneIndex(), id)
    for (const uri of uris) pipeline.srem(this.#keys.subscribers(uri), id)
    await pipeline.exec()
  }

  onExpired (listener: SessionExpiredListener): () => void {
    this.#listeners.add(listener)
    return () => { this.#listeners.delete(listener) }
  }

  /**
   * Announce sessions whose expiry time has passed and whose record Redis has dropped. Every
   * instance sweeps; the one whose ZREM removes the entry announces it, so each expiry is
   * announced once. Batches follow each other until one comes back short or `budgetMs` is
   * spent: clients that never send DELETE can leave more expiries per interval than one
   * batch holds, and an index that only ever catches up by a batch grows without bound.
   * Resolves how many this instance announced.
   */
  async sweep (now = Date.now(), budgetMs = SWEEP_BUDGET_MS): Promise<number> {
    const index = this.#keys.sessionIndex()
    const deadline = Date.now() + budgetMs
    let announced = 0
    for (;;) {
      const due = await this.#client.zrangebyscore(index, '-inf', now, 'LIMIT', 0, SWEEP_BATCH)
      if (due.length === 0) break
      const ttls = await this.#exec(due.reduce((pipeline, id) => pipeline.pttl(this.#keys.session(id)), this.#client.pipeline()))
      const lapsed: string[] = []
      const repair = this.#client.pipeline()
      for (let i = 0; i < due.length; i++) {
        const ttl = ttls[i] as number
        // Refreshed but its index entry was not (a touch half-failed): fix the entry.
        if (ttl > 0) repair.zadd(index, 'XX', now + ttl, due[i]!)
        else lapsed.push(due[i]!)
      }
      if (repair.length > 0) await this.#exec(repair)
      if (lapsed.length > 0) {
        const removed = await this.#exec(lapsed.reduce((pipeline, id) => pipeline.zrem(index, id), this.#client.pipeline()))
        const mine = lapsed.filter((_id, i) => removed[i] === 1)
        if (mine.length > 0) {
          await this.#exec(mine.reduce((pipeline, id) => pipeline.srem(this.#keys.standaloneIndex(), id), this.#client.pipeline()))
          for (const id of mine) this.#announce({ t: 'exp', id, by: this.#name })
          announced += mine.length
        }
      }
      if (due.length < SWEEP_BATCH || Date.now() >= deadline) break
    }
    return announced
  }

  /** A pipeline's results; the first command error rejects, as a single command would. */
  async #exec (pipeline: ReturnType<Redis['pipeline']>): Promise<unknown[]> {
    const results = await pipeline.exec()
    return (results ?? []).map(([err, value]) => {
      if (err !== null) throw err
      return value
    })
  }

  async close (): Promise<void> {
    this.#closed = true
    if (this.#touchFlush !== undefined) {
      clearImmediate(this.#touchFlush)
      await this.#flushTouches()
    }
    this.#offReconnect?.()
    if (this.#ownBreaker) this.#breaker.close()
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    this.#listeners.clear()
    this.#cache?.clear()
    const unsubscribe = await this.#unsubscribe?.catch(() => undefined)
    this.#unsubscribe = undefined
    await unsubscribe?.().catch(() => {})
  }

  async #tick (): Promise<void> {
    try {
      // Redis hangs: a sweep would only wait out its timeouts.
      if (!this.#breaker.open) await this.sweep()
    } catch (err) {
      this.#breaker.record(err)
      this.#logger?.warn({ err }, 'mcp: session expiry sweep failed')
    }
    if (!this.#closed) this.#timer?.refresh()
  }

  #announce (notice: StoreNotice): void {
    this.#bus.publish(this.#channel, notice).catch((err: unknown) => {
      this.#logger?.warn({ err }, 'mcp: session notice not published')
    })
  }

  #onNotice (notice: StoreNotice): void {
    if (notice === null || typeof notice !== 'object' || typeof notice.id !== 'string') return
    this.#cache?.delete(notice.id)
    if (notice.t !== 'exp') return
    const expiry = { here: notice.by === this.#name }
    for (const listener of this.#listeners) listener(notice.id, expiry)
  }
}

/** A field the hash does not hold: unset, or no subscriptions (the scripts drop an emptied list too). */
function isAbsent (field: string, value: unknown): boolean {
  return value === undefined || (field === 'subscriptions' && (value as string[]).length === 0)
}

function encodeFields (session: SessionRecord): string[] {
  const fields: string[] = []
  for (const [field, value] of Object.entries(session)) {
    if (isAbsent(field, value)) continue
    fields.push(field, JSON.stringify(value))
  }
  return fields
}

/** Fields most sessions hold the same JSON in: a few kinds of client, one server. */
const SHARED_FIELDS = new Set(['protocolVersion', 'clientInfo', 'clientCapabilities', 'serverCapabilities', 'logLevel'])
const SHARED_MAX = 1000
/** Longer texts are parsed per lookup: a client's capabilities must not pin megabytes here. */
const SHARED_MAX_CHARS = 4096
const shared = new Map<string, unknown>()

/**
 * The same JSON text decodes to one shared value, parsed once, instead of a new object graph
 * per lookup (records are read-only for their users; frozen, so a write fails loudly).
 * Bounded: at most 1,000 texts of up to 4,096 characters, oldest first out.
 */
function decodeShared (text: string): unknown {
  if (text.length > SHARED_MAX_CHARS) return JSON.parse(text)
  let value = shared.get(text)
  if (value === undefined) {
    value = deepFreeze(JSON.parse(text))
    if (shared.size >= SHARED_MAX) shared.delete(shared.keys().next().value as string)
    shared.set(text, value)
  }
  return value
}

function deepFreeze (value: unknown): unknown {
  if (value !== null && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner)
    Object.freeze(value)
  }
  return value
}

function decodeRecord (stored: Record<string, string>): SessionRecord {
  const record: Record<string, unknown> = {}
  for (const field in stored) {
    const value = stored[field]!
    // touch writes lastActiveAt as a bare number (valid JSON too): skip the parser for the
    // fields every request reads.
    record[field] = field === 'lastActiveAt' || field === 'createdAt'
      ? Number(value)
      : value === 'true' ? true : SHARED_FIELDS.has(field) ? decodeShared(value) : JSON.parse(value)
  }
  return record as unknown as SessionRecord
}

function parseSubscriptions (stored: string | null): string[] {
  return stored === null ? [] : JSON.parse(stored) as string[]
}
