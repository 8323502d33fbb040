// The shared EventStore contract (test/event-store-suite.ts) against MemoryEventStore and
// RedisEventStore on a real redis-server, plus what only Redis has: several instances
// appending to one stream, the key layout (prefix, {sessionId} hash tag), expiry with the
// session TTL, the per-stream channel, and failures reported as "store unavailable".
import t from 'tap'
import { Redis } from 'ioredis'
import { MemoryEventStore } from '../lib/stores/memory-event-store.js'
import { assertEventStore, compareSeq, parseEventId } from '../lib/stores/event-store.js'
import { RedisEventStore } from '../lib/stores/redis-event-store.js'
import type { FeedEvent } from '../lib/legacy/feed-stream.js'
import { eventStoreSuite, sessionId } from './helpers/event-store-suite.js'
import { withRedis } from './helpers/redis-server.js'

eventStoreSuite(t, async ({ maxEventsPerStream }) => new MemoryEventStore({ maxEventsPerStream }), 'MemoryEventStore', { boundSlack: 0 })

withRedis(t, 'RedisEventStore', async (t, server) => {
  // MAXLEN ~ trims whole radix-tree nodes only: a stream may keep up to one node above the bound.
  const nodeEntries = Number(server.cli('config', 'get', 'stream-node-max-entries').split('\n')[1])
  let n = 0

  /** A client of its own, closed with the store. */
  function client (): Redis {
    const redis = new Redis(server.url)
    redis.on('error', () => {})
    return redis
  }

  /** A store on its own client and key prefix (so tests never see each other's keys). */
  function build (options: { maxEventsPerStream?: number, ttlMs?: number, prefix?: string }, redis = client()): RedisEventStore {
    const store = new RedisEventStore(redis, { prefix: options.prefix ?? `ev${++n}:`, ...options })
    const close = store.close.bind(store)
    store.close = async () => {
      await close()
      if (redis.status !== 'end') await redis.quit()
    }
    return store
  }

  eventStoreSuite(t, async ({ maxEventsPerStream }) => build({ maxEventsPerStream, ttlMs: 60_000 }), 'RedisEventStore', { boundSlack: nodeEntries })

  function scan (pattern: string): string[] {
    const out = server.cli('--scan', '--pattern', pattern)
    return out === '' ? [] : out.split('\n').sort()
  }

  const seq = (id: string): string => parseEventId(id)!.seq

  t.test('RedisEventStore specifics', async (t) => {
    t.test('is an EventStore by the plugin\'s own check', async (t) => {
      const store = build({})
      t.teardown(() => store.close())
      t.doesNotThrow(() => assertEventStore(store))
    })

    t.test('two instances on two connections appending to one stream never collide', async (t) => {
      const prefix = `two${++n}:`
      const a = build({ prefix })
      const b = build({ prefix })
      t.teardown(() => Promise.all([a.close(), b.close()]))
      const s = sessionId('shared')
      const start = await a.append(s, 'hot', 'start')
      const burst = (store: RedisEventStore, tag: string) => Promise.all(Array.from({ length: 500 }, (_, i) => store.append(s, 'hot', `${tag}${i}`)))
      const [fromA, fromB] = await Promise.all([burst(a, 'a'), burst(b, 'b')])
      const all = [...fromA, ...fromB]
      t.equal(new Set(all).size, 1000, '1,000 distinct ids across the two instances')
      for (const [label, ids] of [['a', fromA], ['b', fromB]] as const) {
        let increasing = true
        for (let i = 1; i < ids.length; i++) if (compareSeq(seq(ids[i - 1]!), seq(ids[i]!)) >= 0) increasing = false
        t.ok(increasing, `instance ${label}'s ids increase in call order`)
      }
      const sorted = [...all].sort((x, y) => compareSeq(seq(x), seq(y)))
      const fromEither = await Promise.all([a.replayAfter(s, start), b.replayAfter(s, start)])
      for (const replay of fromEither) {
        t.same(replay?.events.map((e) => e.id), sorted, 'either instance replays all 1,000, in id order')
      }
      const data = new Map(fromEither[0]!.events.map((e) => [e.id, e.data]))
      t.ok(fromA.every((id, i) => data.get(id) === `a${i}`) && fromB.every((id, i) => data.get(id) === `b${i}`), 'each id carries what was appended under it')
    })

    t.test('keys carry the prefix and the {sessionId} hash tag; deleteSession removes them', async (t) => {
      const store = build({ prefix: 'evtag:' })
      t.teardown(() => store.close())
      const s = sessionId('tag')
      const other = sessionId('other')
      await store.append(s, 'one', 'x')
      await store.append(s, 'two', '')
      await store.end(s, 'two')
      await store.append(other, 'one', 'y')
      t.same(scan('evtag:*'), [`evtag:{${s}}:e`, `evtag:{${s}}:e:one`, `evtag:{${s}}:e:two`, `evtag:{${other}}:e`, `evtag:{${other}}:e:one`].sort(),
        'one stream per SSE stream plus the session\'s stream set, all in the session\'s slot')
      t.equal(server.cli('type', `evtag:{${s}}:e:one`), 'stream')
      t.equal(server.cli('type', `evtag:{${s}}:e`), 'set')
      t.equal(server.cli('cluster', 'keyslot', `evtag:{${s}}:e:one`), server.cli('cluster', 'keyslot', s), 'the hash tag puts the keys in the session\'s slot')
      await store.deleteSession(s)
      t.same(scan('evtag:*'), [`evtag:{${other}}:e`, `evtag:{${other}}:e:one`], 'deleteSession removed that session\'s keys only')
      t.same(scan('mcp:*'), [], 'nothing written under the default prefix')
    })

    t.test('histories expire with ttlMs, refreshed by every append', async (t) => {
      const store = build({ prefix: 'evttl:', ttlMs: 60_000 })
      t.teardown(() => store.close())
      const s = sessionId('ttl')
      const first = await store.append(s, 'g', 'one')
      for (const key of [`evttl:{${s}}:e:g`, `evttl:{${s}}:e`]) {
        const ttl = Number(server.cli('pttl', key))
        t.ok(ttl > 58_000 && ttl <= 60_000, `${key} expires with ttlMs (${ttl} ms)`)
      }
      server.cli('pexpire', `evttl:{${s}}:e:g`, '5000')
      server.cli('pexpire', `evttl:{${s}}:e`, '5000')
      await store.append(s, 'g', 'two')
      for (const key of [`evttl:{${s}}:e:g`, `evttl:{${s}}:e`]) {
        const ttl = Number(server.cli('pttl', key))
        t.ok(ttl > 58_000, `${key}: an append refreshes the TTL (${ttl} ms)`)
      }
      t.same((await store.replayAfter(s, first))?.events.map((e) => e.data), ['two'])

      const short = build({ prefix: 'evshort:', ttlMs: 300 })
      t.teardown(() => short.close())
      const idle = sessionId('idle')
      const id = await short.append(idle, 'g', 'soon gone')
      await short.append(idle, 'g', 'also gone')
      t.equal((await short.replayAfter(idle, id))?.events.length, 1, 'there while fresh')
      await new Promise((resolve) => setTimeout(resolve, 700))
      t.same(scan(`evshort:{${idle}}*`), [], 'every key of the history expired')
      t.equal(await short.replayAfter(idle, id), undefined, 'and its ids are unknown')
    })

    t.test('each append and the end marker are published on the stream channel, in history order', async (t) => {
      const store = build({ prefix: 'evpub:' })
      const subscriber = client()
      t.teardown(async () => { await store.close(); await subscriber.quit() })
      const s = sessionId('pub')
      const channel = store.streamChannel(s, 'post')
      t.equal(channel, `evpub:ch:{${s}}:post`)
      const heard: FeedEvent[] = []
      subscriber.on('message', (ch: string, payload: string) => { if (ch === channel) heard.push(JSON.parse(payload)) })
      await subscriber.subscribe(channel)
      const ids = [await store.append(s, 'post', ''), await store.append(s, 'post', '{"a":1}'), await store.append(s, 'post', 'x')]
      await store.append(s, 'other', 'not on this channel')
      await store.end(s, 'post')
      for (let i = 0; i < 200 && heard.length < 4; i++) await new Promise((resolve) => setTimeout(resolve, 10))
      t.same(heard.slice(0, 3), [{ i: ids[0], d: '' }, { i: ids[1], d: '{"a":1}' }, { i: ids[2], d: 'x' }], 'the appends, with their ids and data')
      t.equal(heard.length, 4)
      t.equal(heard[3]?.e, 1, 'then the end marker')
      t.ok(compareSeq(seq(ids[2]!), seq(heard[3]!.i)) < 0, 'whose id follows the last event')
    })

    t.test('a Redis failure rejects with FST_MCP_STORE_UNAVAILABLE (503), not a raw client error', async (t) => {
      const dead = new Redis({ port: server.port, host: '127.0.0.1', lazyConnect: true, enableOfflineQueue: false, retryStrategy: () => null })
      dead.on('error', () => {})
      const store = new RedisEventStore(dead, { prefix: 'evdead:' })
      const s = sessionId('dead')
      for (const [label, call] of [
        ['append', () => store.append(s, 'g', 'x')],
        ['end', () => store.end(s, 'g')],
        ['replayAfter', () => store.replayAfter(s, 'g.1-0')],
        ['deleteSession', () => store.deleteSession(s)]
      ] as const) {
        const err = await (call as () => Promise<unknown>)().then(() => undefined, (e: unknown) => e as { code?: string, statusCode?: number, cause?: unknown })
        t.equal(err?.code, 'FST_MCP_STORE_UNAVAILABLE', `${label} rejects as unavailable`)
        t.equal(err?.statusCode, 503)
        t.ok(err?.cause instanceof Error, 'the client\'s error is kept as the cause')
      }
      await store.close()
      dead.disconnect()
    })
  })
})
