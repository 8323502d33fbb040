import { setTimeout as sleep } from 'node:timers/promises'
import type { Test } from 'tap'
import type { SessionRecord, SessionStore } from '../../lib/stores/session-store.js'

/**
 * The behaviour every `SessionStore` must show, whatever holds the sessions. Run it against
 * each implementation (memory now, Redis later), in the manner of mqemitter's abstractTest:
 *
 *   sessionStoreSuite(t, async (opts) => new MemorySessionStore(opts), 'MemorySessionStore')
 *
 * `build` must return a fresh, empty store honouring `ttlMs` (idle expiry) and `maxSessions`.
 * The suite closes every store it builds.
 */
export interface StoreBuildOptions {
  ttlMs: number
  maxSessions: number
}

export type StoreBuilder = (opts: StoreBuildOptions) => Promise<SessionStore>

let counter = 0

/** A complete record with every optional field set, so a round trip checks them all. */
export function sampleRecord (overrides: Partial<SessionRecord> = {}): SessionRecord {
  return makeRecord(overrides)
}

function makeRecord (overrides: Partial<SessionRecord> = {}): SessionRecord {
  const now = Date.now()
  counter++
  return {
    id: `suite-${process.pid}-${counter}-${Math.random().toString(36).slice(2)}`,
    protocolVersion: '2025-06-18',
    clientInfo: { name: 'suite-client', version: '9.9.9', title: 'Suite Client' },
    clientCapabilities: { roots: { listChanged: true }, sampling: {} },
    serverCapabilities: { logging: {}, tools: { listChanged: true } },
    logLevel: 'notice',
    principal: 'user-42',
    initialized: true,
    createdAt: now,
    lastActiveAt: now,
    ...overrides
  }
}

/** Poll `check` until it holds or `ms` passes (for stores that notify asynchronously). */
async function eventually (check: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms
  for (;;) {
    if (await check()) return true
    if (Date.now() >= deadline) return false
    await sleep(10)
  }
}

export function sessionStoreSuite (t: Test, build: StoreBuilder, name: string): void {
  const LONG = { ttlMs: 60_000, maxSessions: 100 }
  // Short enough to wait out, long enough that a busy event loop does not expire by accident.
  const TTL = 400 // generous: a touch every TTL/3 must land in time on a loaded CI machine

  async function openStore (t: Test, opts: StoreBuildOptions): Promise<SessionStore> {
    const store = await build(opts)
    t.teardown(() => store.close())
    return store
  }

  contract(`${name}: SessionStore contract`, false)
  // A store that mints its own ids (the memory store's name the record's slot) must keep the
  // contract for them too; records made before any is created also share a minted slot.
  contract(`${name}: SessionStore contract, with ids the store mints`, true)

  function contract (title: string, minted: boolean): void {
    let current: SessionStore | undefined
    /** A sample record, with an id from the store when it mints its own. */
    const sampleRecord = (overrides: Partial<SessionRecord> = {}): SessionRecord => {
      const id = minted ? current?.newSessionId?.() : undefined
      return id === undefined ? makeRecord(overrides) : makeRecord({ id, ...overrides })
    }
    async function open (t: Test, opts: StoreBuildOptions = LONG): Promise<SessionStore> {
      current = await openStore(t, opts)
      return current
    }
    t.test(title, async (t) => {
      if (minted) {
        const probe = await build(LONG)
        const mints = probe.newSessionId !== undefined
        await probe.close()
        if (!mints) {
          t.pass(`${name} mints no ids: the plugin makes them`)
          return
        }
      }
      t.test('create then get returns the record with every field intact', async (t) => {
        const store = await open(t)
        const record = sampleRecord()
        const expected = structuredClone(record)
        t.equal(await store.create(record), true, 'create resolves true below the cap')
        const got = await store.get(record.id)
        t.ok(got, 'the session is found')
        t.same(got, expected, 'all fields survive the round trip')
        t.strictSame(got?.clientInfo, expected.clientInfo)
        t.strictSame(got?.clientCapabilities, expected.clientCapabilities)
        t.strictSame(got?.serverCapabilities, expected.serverCapabilities)
        t.equal(got?.initialized, true)
        t.equal(got?.principal, 'user-42')
        t.equal(got?.logLevel, 'notice')
      })

      t.test('a record without optional fields round-trips without inventing them', async (t) => {
        const store = await open(t)
        const record = sampleRecord()
        delete record.logLevel
        delete record.principal
        record.initialized = false
        await store.create(record)
        const got = await store.get(record.id)
        t.ok(got)
        t.equal(got?.logLevel, undefined)
        t.equal(got?.principal, undefined)
        t.equal(got?.initialized, false)
      })

      t.test('get of an unknown id resolves undefined', async (t) => {
        const store = await open(t)
        t.equal(await store.get('no-such-session'), undefined)
        await store.create(sampleRecord())
        t.equal(await store.get('no-such-session'), undefined, 'still undefined with other sessions present')
      })

      t.test('update merges a patch and resolves true; unknown id resolves false', async (t) => {
        const store = await open(t)
        const record = sampleRecord({ initialized: false })
        delete record.logLevel
        await store.create(record)
        t.equal(await store.update(record.id, { logLevel: 'warning' }), true)
        t.equal(await store.update(record.id, { initialized: true }), true)
        const got = await store.get(record.id)
        t.equal(got?.logLevel, 'warning', 'first patch applied')
        t.equal(got?.initialized, true, 'second patch applied')
        t.equal(got?.protocolVersion, record.protocolVersion, 'untouched fields kept')
        t.strictSame(got?.clientInfo, record.clientInfo, 'untouched nested fields kept')
        t.equal(got?.principal, record.principal)
        t.equal(await store.update('no-such-session', { logLevel: 'error' }), false)
        t.equal(await store.get('no-such-session'), undefined, 'update of an unknown id creates nothing')
      })

      t.test('delete resolves true once, then false, and the session is gone', async (t) => {
        const store = await open(t)
        const a = sampleRecord()
        const b = sampleRecord()
        await store.create(a)
        await store.create(b)
        t.equal(await store.delete(a.id), true)
        t.equal(await store.get(a.id), undefined)
        t.equal(await store.delete(a.id), false, 'second delete finds nothing')
        t.equal(await store.delete('no-such-session'), false)
        t.ok(await store.get(b.id), 'other sessions are untouched')
        t.equal(await store.update(a.id, { initialized: false }), false, 'a deleted session cannot be updated')
      })

      t.test('size counts live sessions', async (t) => {
        const store = await open(t)
        t.equal(await store.size(), 0)
        const a = sampleRecord()
        const b = sampleRecord()
        const c = sampleRecord()
        await store.create(a)
        t.equal(await store.size(), 1)
        await store.create(b)
        await store.create(c)
        t.equal(await store.size(), 3)
        await store.delete(b.id)
        t.equal(await store.size(), 2)
      })

      t.test('create resolves false at maxSessions and stores nothing', async (t) => {
        const store = await open(t, { ttlMs: 60_000, maxSessions: 2 })
        const a = sampleRecord()
        const b = sampleRecord()
        const c = sampleRecord()
        t.equal(await store.create(a), true)
        t.equal(await store.create(b), true)
        t.equal(await store.create(c), false, 'the third session is refused')
        t.equal(await store.get(c.id), undefined, 'the refused session was not stored')
        t.equal(await store.size(), 2)
        t.ok(await store.get(a.id))
        t.ok(await store.get(b.id))
        await store.delete(a.id)
        t.equal(await store.create(c), true, 'a freed place can be used again')
        t.ok(await store.get(c.id))
      })

      t.test('a session idle for longer than ttlMs expires', async (t) => {
        const store = await open(t, { ttlMs: TTL, maxSessions: 100 })
        const record = sampleRecord()
        await store.create(record)
        t.ok(await store.get(record.id), 'alive right after create')
        await sleep(TTL * 2 + 50)
        t.equal(await store.get(record.id), undefined, 'gone after the idle TTL')
        t.equal(await store.update(record.id, { initialized: false }), false, 'an expired session cannot be updated')
        t.ok(await eventually(async () => await store.size() === 0, 2000), 'size no longer counts it')
      })

      t.test('getNow, where the store has it, answers as get does: live, unknown, deleted, expired', async (t) => {
        const store = await open(t, { ttlMs: TTL, maxSessions: 100 })
        if (store.getNow === undefined) {
          t.pass(`${name} has no getNow: the plugin awaits get`)
          return
        }
        const live = sampleRecord()
        const deleted = sampleRecord()
        await store.create(live)
        await store.create(deleted)
        t.strictSame(store.getNow(live.id), await store.get(live.id), 'a live session')
        t.equal(store.getNow(live.id)?.id, live.id)
        t.equal(store.getNow('no-such-session'), undefined, 'an unknown id')
        await store.delete(deleted.id)
        t.equal(store.getNow(deleted.id), undefined, 'a deleted session')
        await sleep(TTL * 2 + 50)
        t.equal(store.getNow(live.id), undefined, 'an expired session')
        t.equal(await store.get(live.id), undefined)
      })

      t.test('touch refreshes the idle TTL so a session kept in use does not expire', async (t) => {
        const store = await open(t, { ttlMs: TTL, maxSessions: 100 })
        const kept = sampleRecord()
        const idle = sampleRecord()
        await store.create(kept)
        await store.create(idle)
        // Touch well inside the TTL for more than twice the TTL in total.
        const until = Date.now() + TTL * 2 + 100
        while (Date.now() < until) {
          await sleep(TTL / 3)
          await store.touch(kept.id, Date.now())
        }
        t.ok(await store.get(kept.id), 'the touched session is alive long after its first TTL')
        t.equal(await store.get(idle.id), undefined, 'the untouched one expired meanwhile')
        await store.touch('no-such-session', Date.now())
        t.equal(await store.get('no-such-session'), undefined, 'touching an unknown id creates nothing')
        // And once touching stops, it expires too.
        await sleep(TTL * 2 + 50)
        t.equal(await store.get(kept.id), undefined, 'expires once it is no longer touched')
      })

      t.test('onExpired listeners hear about sessions the store expires itself', async (t) => {
        const store = await open(t, { ttlMs: TTL, maxSessions: 100 })
        const heard: string[] = []
        const heardLate: string[] = []
        store.onExpired((id) => heard.push(id))
        const unsubscribe = store.onExpired((id) => heardLate.push(id))
        t.type(unsubscribe, 'function')
        unsubscribe()

        const expiring = sampleRecord()
        const deleted = sampleRecord()
        await store.create(expiring)
        await store.create(deleted)
        await store.delete(deleted.id)
        await sleep(TTL * 2 + 50)
        // A read may be what discovers the expiry (memory); a networked store may notify by itself.
        await store.get(expiring.id)
        t.ok(await eventually(() => heard.includes(expiring.id), 3000), 'the listener got the expired id')
        t.equal(heard.filter((id) => id === expiring.id).length, 1, 'exactly once')
        t.notOk(heard.includes(deleted.id), 'an explicit delete is not reported as an expiry')
        t.same(heardLate, [], 'an unsubscribed listener hears nothing')
      })

      t.test('close resolves', async (t) => {
        const store = current = await build(LONG)
        await store.create(sampleRecord())
        await t.resolves(store.close())
      })
    })
  }
}
