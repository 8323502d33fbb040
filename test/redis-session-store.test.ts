// The shared SessionStore suite against RedisSessionStore on a real redis-server, plus what
// only a store shared by several instances has: announcements, atomic subscriptions,
// the near-cache and its invalidation.
import t from 'tap'
import { Redis } from 'ioredis'
import { RedisMessageBus } from '../lib/stores/redis-message-bus.js'
import { RedisSessionStore } from '../lib/stores/redis-session-store.js'
import { withRedis } from './helpers/redis-server.js'
import { sampleRecord, sessionStoreSuite } from './helpers/store-suite.js'
import type { SessionRecord } from '../lib/stores/session-store.js'

withRedis(t, 'RedisSessionStore', async (t, server) => {
  let n = 0

  /** A store on its own client, bus and key prefix (so suites never see each other's keys). */
  async function build (options: { ttlMs: number, maxSessions: number, nearCache?: { max?: number, maxAgeMs?: number }, prefix?: string, sweepIntervalMs?: number }): Promise<RedisSessionStore & { dispose (): Promise<void> }> {
    const client = new Redis(server.url)
    const bus = new RedisMessageBus(client)
    const store = new RedisSessionStore(client, { bus, prefix: options.prefix ?? `test${++n}:`, ...options }) as RedisSessionStore & { dispose (): Promise<void> }
    await store.ready()
    const close = store.close.bind(store)
    store.close = async () => {
      await close()
      await bus.close()
      await client.quit()
    }
    return store
  }

  /** How many times Redis ran `command` so far (INFO commandstats). */
  function commandCalls (command: string): number {
    const line = server.cli('info', 'commandstats').split('\n').find((l) => l.startsWith(`cmdstat_${command}:`))
    return Number(line?.match(/calls=(\d+)/)?.[1] ?? 0)
  }

  sessionStoreSuite(t, build, 'RedisSessionStore')

  t.test('RedisSessionStore specifics', async (t) => {
    t.test('keys carry the prefix and a {sessionId} hash tag', async (t) => {
      const store = await build({ ttlMs: 60_000, maxSessions: 10, prefix: 'tagged:' })
      t.teardown(() => store.close())
      const record = sampleRecord({ subscriptions: ['file:///a'] })
      t.equal(await store.create(record), true)
      const keys = server.cli('--scan', '--pattern', 'tagged:*').split('\n').sort()
      t.same(keys, ['tagged:sessions', `tagged:{${record.id}}:s`].sort(), 'the record (subscriptions included) and the index entry')
      const ttl = Number(server.cli('pttl', `tagged:{${record.id}}:s`))
      t.ok(ttl > 59_000 && ttl <= 60_000, `the record expires with the idle TTL (${ttl} ms)`)
    })

    t.test('touches asked for in one turn go out as one pipeline, each answered for its own session', async (t) => {
      const prefix = `batch${++n}:`
      const store = await build({ ttlMs: 60_000, maxSessions: 100, prefix })
      t.teardown(() => store.close())
      const records = Array.from({ length: 40 }, () => sampleRecord())
      for (const record of records) t.equal(await store.create(record), true)
      // One record lapses (a TTL lapse, an eviction) before the batch that touches it.
      const lapsed = records[7]!
      server.cli('del', `${prefix}{${lapsed.id}}:s`)
      const expiryBefore = Number(server.cli('zscore', `${prefix}sessions`, lapsed.id))
      const zaddsBefore = commandCalls('zadd')
      const now = Date.now() + 5000
      const results = await Promise.all([
        ...records.map((r) => store.touch(r.id, now)),
        store.touch(records[0]!.id, now), // the same session twice in one turn
        store.touch('no-such-session', now)
      ])
      t.same(results, [...records.map((r) => r !== lapsed), true, false], 'alive for each live session, false for the lapsed and the unknown one')
      t.equal(commandCalls('zadd') - zaddsBefore, 2, 'one ZADD for the whole batch, one to make the lapsed entry due')
      t.equal((await store.get(records[3]!.id))?.lastActiveAt, now, 'the record was refreshed')
      t.equal(Number(server.cli('zscore', `${prefix}sessions`, records[3]!.id)), now + 60_000, 'and its index entry')
      const due = Number(server.cli('zscore', `${prefix}sessions`, lapsed.id))
      t.ok(due === now && due < expiryBefore, 'the lapsed session\'s entry is due now, for the sweep')
    })

    t.test('lookups asked for in one turn reach Redis in one write', async (t) => {
      const store = await build({ ttlMs: 60_000, maxSessions: 100 })
      t.teardown(() => store.close())
      const records = Array.from({ length: 30 }, () => sampleRecord())
      for (const record of records) await store.create(record)
      const reads = (): number => Number(server.cli('info', 'stats').match(/total_reads_processed:(\d+)/)?.[1])
      const before = reads()
      const found = await Promise.all(records.map((r) => store.get(r.id)))
      t.same(found.map((r) => r?.id), records.map((r) => r.id), 'each lookup answers its own record')
      // Each redis-cli call is two reads of its own (its command, then its connection closing).
      t.equal(reads() - before - 2, 1, 'Redis read the 30 lookups at once')
    })

    t.test('what sessions have in common decodes to one frozen value; the rest stays their own', async (t) => {
      const store = await build({ ttlMs: 60_000, maxSessions: 10 })
      t.teardown(() => store.close())
      const a = sampleRecord({ subscriptions: ['file:///a'] })
      const b = sampleRecord({ subscriptions: ['file:///a'] })
      const other = sampleRecord({ clientInfo: { name: 'other-client', version: '1.0.0' } })
      for (const record of [a, b, other]) await store.create(record)
      const [ra, rb, ro] = await Promise.all([a, b, other].map((r) => store.get(r.id))) as SessionRecord[]
      t.same(ra, a, 'the record reads back whole')
      t.equal(ra!.clientInfo, rb!.clientInfo, 'one clientInfo object for the same JSON')
      t.equal(ra!.serverCapabilities, rb!.serverCapabilities, 'one serverCapabilities object')
      t.same(ro!.clientInfo, other.clientInfo, 'a different client reads its own')
      t.not(ra!.subscriptions, rb!.subscriptions, 'subscriptions are per session')
      t.ok(Object.isFrozen(ra!.clientCapabilities.roots), 'shared values are frozen through')
      t.throws(() => { (ra!.clientInfo as { name: string }).name = 'changed' }, TypeError, 'so writing to one fails instead of changing every session')
      t.equal((await store.get(b.id))!.clientInfo.name, 'suite-client')
      // Large values are not kept: a client's capabilities must not pin megabytes in the process.
      const big = sampleRecord({ clientCapabilities: { experimental: { blob: 'x'.repeat(5000) } } })
      await store.create(big)
      const [first, second] = await Promise.all([store.get(big.id), store.get(big.id)])
      t.same(first!.clientCapabilities, big.clientCapabilities, 'a large value reads back whole')
      t.not(first!.clientCapabilities, second!.clientCapabilities, 'and is decoded per lookup, not kept')
    })

    t.test('subscriptions edited by the scripts (Lua cjson) read back exactly, emptied lists included', async (t) => {
      const store = await build({ ttlMs: 60_000, maxSessions: 10 })
      t.teardown(() => store.close())
      // cjson escapes '/' and passes UTF-8 through: what JSON.parse reads must be the same URIs.
      const uris = ['file:///a/b?q="x"&y=1', 'note://café/ünï/日本', 'tab\there\\back']
      const record = sampleRecord({ subscriptions: [uris[0]!] })
      await store.create(record)
      for (const uri of uris.slice(1)) t.equal(await store.addSubscription(record.id, uri, 10), 'added')
      t.same((await store.get(record.id))?.subscriptions, uris)
      for (const uri of uris) t.equal(await store.removeSubscription(record.id, uri), 'removed')
      t.equal((await store.get(record.id))?.subscriptions, undefined, 'an emptied list reads as none')
      t.equal(await store.addSubscription(record.id, uris[1]!, 10), 'added', 'and can grow again')
      t.same((await store.get(record.id))?.subscriptions, [uris[1]])
    })

    t.test('subscriptions change atomically, bounded, across two instances', async (t) => {
      const prefix = `subs${++n}:`
      const a = await build({ ttlMs: 60_000, maxSessions: 10, prefix })
      const b = await build({ ttlMs: 60_000, maxSessions: 10, prefix })
      t.teardown(() => Promise.all([a.close(), b.close()]))
      const record = sampleRecord()
      await a.create(record)
      // 40 concurrent adds from two instances: none is lost, none is duplicated.
      const uris = Array.from({ length: 40 }, (_, i) => `file:///${i}`)
      const results = await Promise.all(uris.map((uri, i) => (i % 2 === 0 ? a : b).addSubscription(record.id, uri, 100)))
      t.ok(results.every((r) => r === 'added'))
      t.same((await b.get(record.id))?.subscriptions?.sort(), [...uris].sort())
      t.equal(await a.addSubscription(record.id, 'file:///0', 100), 'unchanged')
      t.equal(await a.addSubscription(record.id, 'file:///new', 40), 'full')
      t.equal(await b.removeSubscription(record.id, 'file:///0'), 'removed')
      t.equal(await b.removeSubscription(record.id, 'file:///0'), 'unchanged')
      t.equal(await a.addSubscription('no-such-session', 'file:///x', 10), 'gone')
    })

    t.test('the near-cache answers without Redis, and is invalidated by another instance', async (t) => {
      const prefix = `near${++n}:`
      const a = await build({ ttlMs: 60_000, maxSessions: 10, prefix, nearCache: { max: 100, maxAgeMs: 60_000 } })
      const b = await build({ ttlMs: 60_000, maxSessions: 10, prefix })
      t.teardown(() => Promise.all([a.close(), b.close()]))
      const record = sampleRecord({ logLevel: 'info' })
      await b.create(record)
      t.equal((await a.get(record.id))?.logLevel, 'info')
      // Changed behind the cache's back, without an announcement: the cache still answers.
      server.cli('hset', `${prefix}{${record.id}}:s`, 'logLevel', '"debug"')
      t.equal((await a.get(record.id))?.logLevel, 'info', 'served from the near-cache')
      // Through the store on another instance: announced, so the cache drops the entry.
      await b.update(record.id, { logLevel: 'error' })
      let seen: string | undefined
      for (let i = 0; i < 100 && seen !== 'error'; i++) {
        seen = (await a.get(record.id))?.logLevel
        if (seen !== 'error') await new Promise((resolve) => setTimeout(resolve, 10))
      }
      t.equal(seen, 'error', 'invalidated by the update on the other instance')
      await b.delete(record.id)
      let gone = false
      for (let i = 0; i < 100 && !gone; i++) {
        gone = await a.get(record.id) === undefined
        if (!gone) await new Promise((resolve) => setTimeout(resolve, 10))
      }
      t.ok(gone, 'invalidated by the delete on the other instance')
    })

    t.test('each expiry is announced once, whichever instance sweeps', async (t) => {
      const prefix = `exp${++n}:`
      // No timed sweeps: the two explicit ones below are the only ones.
      const a = await build({ ttlMs: 300, maxSessions: 10, prefix, sweepIntervalMs: 600_000 })
      const b = await build({ ttlMs: 300, maxSessions: 10, prefix, sweepIntervalMs: 600_000 })
      t.teardown(() => Promise.all([a.close(), b.close()]))
      const heardA: string[] = []
      const heardB: string[] = []
      a.onExpired((id) => heardA.push(id))
      b.onExpired((id) => heardB.push(id))
      const record = sampleRecord()
      await a.create(record)
      await new Promise((resolve) => setTimeout(resolve, 400))
      const swept = (await a.sweep()) + (await b.sweep())
      t.equal(swept, 1, 'one instance announced it')
      for (let i = 0; i < 100 && (heardA.length === 0 || heardB.length === 0); i++) await new Promise((resolve) => setTimeout(resolve, 10))
      t.same(heardA, [record.id])
      t.same(heardB, [record.id])
      t.equal(await a.size(), 0)
    })

    t.test('one sweep catches up with 20,000 expired sessions, not 500', async (t) => {
      const prefix = `many${++n}:`
      const store = await build({ ttlMs: 1000, maxSessions: 30_000, prefix, sweepIntervalMs: 600_000 })
      t.teardown(() => store.close())
      const heard = new Set<string>()
      store.onExpired((id) => heard.add(id))
      const ids: string[] = []
      for (let chunk = 0; chunk < 20; chunk++) {
        const records = Array.from({ length: 1000 }, () => sampleRecord())
        await Promise.all(records.map((record) => store.create(record)))
        ids.push(...records.map((record) => record.id))
      }
      // Let every record lapse (the last ones were created up to a few seconds later).
      await new Promise((resolve) => setTimeout(resolve, 1200))
      t.equal(await store.size(), 0, 'every record has lapsed')
      // A budget far above what it needs here; the point is that the rounds go on.
      const swept = await store.sweep(Date.now(), 60_000)
      t.equal(swept, 20_000, 'every expiry announced by one sweep')
      t.equal(await store.size(), 0, 'the index is empty')
      for (let i = 0; i < 500 && heard.size < 20_000; i++) await new Promise((resolve) => setTimeout(resolve, 10))
      t.equal(heard.size, 20_000, 'and heard by the instance')
      t.equal(await store.sweep(), 0, 'nothing left for the next one')
    })

    t.test('a sweep stops at its time budget and the next one goes on', async (t) => {
      const prefix = `budget${++n}:`
      const store = await build({ ttlMs: 500, maxSessions: 10_000, prefix, sweepIntervalMs: 600_000 })
      t.teardown(() => store.close())
      await Promise.all(Array.from({ length: 3000 }, () => store.create(sampleRecord())))
      await new Promise((resolve) => setTimeout(resolve, 700))
      const first = await store.sweep(Date.now(), 0)
      t.equal(first, 1000, 'a spent budget: one round')
      t.equal(await store.sweep(Date.now(), 60_000), 2000, 'the next sweep finishes the rest')
    })
  })
})
