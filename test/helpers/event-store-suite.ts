import type { Test } from 'tap'
import { compareSeq, parseEventId, type EventStore, type ReplayResult } from '../../lib/stores/event-store.js'

/**
 * The behaviour every `EventStore` must show, whatever holds the histories. Run it against
 * each implementation, as test/store-suite.ts does for session stores:
 *
 *   eventStoreSuite(t, async (opts) => new MemoryEventStore(opts), 'MemoryEventStore')
 *
 * `build` must return a fresh store, sharing nothing with earlier ones, that keeps at most
 * about `maxEventsPerStream` events per stream. Stores may issue any sequence format that
 * `parseEventId` accepts (a counter, Redis stream ids): the suite only compares sequences with
 * `compareSeq`. The suite closes every store it builds.
 */
export interface EventStoreBuildOptions {
  maxEventsPerStream: number
}

export type EventStoreBuilder = (opts: EventStoreBuildOptions) => Promise<EventStore>

export interface EventStoreTraits {
  /**
   * How many events above `maxEventsPerStream` a stream may keep (an approximate trim such as
   * Redis' `MAXLEN ~` removes whole nodes only). 0 for an exact bound.
   */
  boundSlack: number
}

let counter = 0

/** A session id no other test (or earlier run against a shared server) uses. */
export function sessionId (label = 's'): string {
  return `${label}-${process.pid}-${++counter}-${Math.random().toString(36).slice(2, 8)}`
}

function seqOf (eventId: string): string {
  const parsed = parseEventId(eventId)
  if (parsed === undefined) throw new Error(`not an event id this plugin issues: ${eventId}`)
  return parsed.seq
}

/** Whether the ids strictly increase (by `compareSeq`) in the given order. */
function strictlyIncreasing (ids: readonly string[]): boolean {
  for (let i = 1; i < ids.length; i++) if (compareSeq(seqOf(ids[i - 1]!), seqOf(ids[i]!)) >= 0) return false
  return true
}

/** An id of `streamId` later than anything issued up to `lastId`, in the store's own format. */
function beyond (streamId: string, lastId: string): string[] {
  const seq = seqOf(lastId)
  const dash = seq.indexOf('-')
  if (dash === -1) return [`${streamId}.${Number(seq) + 1}`, `${streamId}.${Number(seq) + 1000}`]
  const high = Number(seq.slice(0, dash))
  const low = Number(seq.slice(dash + 1))
  return [`${streamId}.${high}-${low + 1}`, `${streamId}.${high + 1}-0`, `${streamId}.${high + 86_400_000}-0`]
}

/** The same position written in the sequence format this store does not issue. */
function otherFormat (eventId: string): string {
  const parsed = parseEventId(eventId)!
  const dash = parsed.seq.indexOf('-')
  return `${parsed.streamId}.${dash === -1 ? `${parsed.seq}-0` : parsed.seq.slice(0, dash)}`
}

function dataOf (result: ReplayResult | undefined): string[] | undefined {
  return result?.events.map((e) => e.data)
}

export function eventStoreSuite (t: Test, build: EventStoreBuilder, name: string, traits: EventStoreTraits): void {
  const ROOMY = { maxEventsPerStream: 10_000 }

  async function open (t: Test, opts: EventStoreBuildOptions = ROOMY): Promise<EventStore> {
    const store = await build(opts)
    t.teardown(() => store.close())
    return store
  }

  /** Append `data` in order, one at a time; resolves the ids. */
  async function appendAll (store: EventStore, session: string, stream: string, data: readonly string[]): Promise<string[]> {
    const ids: string[] = []
    for (const d of data) ids.push(await store.append(session, stream, d))
    return ids
  }

  /** a1..a5 on `alpha` and b1..b5 on `beta`, one after the other in turn; resolves the ids of each. */
  async function appendInTurn (store: EventStore, session: string, alpha: string, beta: string): Promise<[string[], string[]]> {
    const ids: [string[], string[]] = [[], []]
    for (let i = 1; i <= 5; i++) {
      ids[0].push(await store.append(session, alpha, `a${i}`))
      ids[1].push(await store.append(session, beta, `b${i}`))
    }
    return ids
  }

  t.test(`${name}: EventStore contract`, async (t) => {
    t.test('append returns <streamId>.<seq>, increasing per stream', async (t) => {
      const store = await open(t)
      const s = sessionId()
      const [alpha, beta] = await appendInTurn(store, s, 'alpha', 'beta_2-x')
      for (const id of alpha) t.equal(parseEventId(id)?.streamId, 'alpha', `${id} names its stream`)
      for (const id of beta) t.equal(parseEventId(id)?.streamId, 'beta_2-x', `${id} names its stream`)
      t.ok(strictlyIncreasing(alpha), `alpha ids increase: ${alpha.join(' ')}`)
      t.ok(strictlyIncreasing(beta), `beta ids increase: ${beta.join(' ')}`)
      t.equal(new Set([...alpha, ...beta]).size, 10, 'every id is distinct')
    })

    t.test('replayAfter returns exactly the later events of that stream, in order', async (t) => {
      const store = await open(t)
      const s = sessionId()
      const [alpha, beta] = await appendInTurn(store, s, 'alpha', 'beta')
      const after2 = await store.replayAfter(s, alpha[1]!)
      t.same(after2, {
        streamId: 'alpha',
        events: [{ id: alpha[2], data: 'a3' }, { id: alpha[3], data: 'a4' }, { id: alpha[4], data: 'a5' }],
        ended: false,
        truncated: false
      }, 'the events after a2 of alpha only, with their ids')
      t.same(dataOf(await store.replayAfter(s, beta[0]!)), ['b2', 'b3', 'b4', 'b5'])
      t.same(await store.replayAfter(s, alpha[4]!), { streamId: 'alpha', events: [], ended: false, truncated: false }, 'after the last event: nothing, but a known stream')
      // Appends after a replay show up in the next one.
      const a6 = await store.append(s, 'alpha', 'a6')
      t.same((await store.replayAfter(s, alpha[4]!))?.events, [{ id: a6, data: 'a6' }])
    })

    t.test('histories are per session: the same stream id in two sessions is two streams', async (t) => {
      const store = await open(t)
      const s1 = sessionId('one')
      const s2 = sessionId('two')
      const one: string[] = []
      const two: string[] = []
      for (let i = 1; i <= 3; i++) {
        one.push(await store.append(s1, 'shared', `one-${i}`))
        two.push(await store.append(s2, 'shared', `two-${i}`))
      }
      const own1 = await appendAll(store, s1, 'onlyone', ['x1', 'x2'])
      t.same(dataOf(await store.replayAfter(s1, one[0]!)), ['one-2', 'one-3'], 'session one sees its own events only')
      t.same(dataOf(await store.replayAfter(s2, two[0]!)), ['two-2', 'two-3'], 'session two sees its own events only')
      t.equal(await store.replayAfter(s2, own1[0]!), undefined, 'another session\'s stream is unknown here')
      t.equal(await store.replayAfter(sessionId('none'), one[0]!), undefined, 'a session without streams knows no id')
      t.equal(await store.replayAfter(sessionId('none'), own1[0]!), undefined)
    })

    t.test('malformed ids, unknown streams and unissued positions resolve undefined', async (t) => {
      const store = await open(t)
      const s = sessionId()
      const ids = await appendAll(store, s, 'alpha', ['a1', 'a2', 'a3'])
      const last = ids[2]!
      const malformed = ['', 'alpha', 'alpha.', '.1', 'alpha.x', 'alpha.-1', 'alpha.1.2', 'al pha.1', 'alpha.1e3', 'alpha. 1', `${'x'.repeat(65)}.1`, 'alpha.1-2-3', 'alpha.' + '9'.repeat(17)]
      for (const id of malformed) t.equal(await store.replayAfter(s, id), undefined, `malformed: ${JSON.stringify(id)}`)
      t.equal(await store.replayAfter(s, `gamma.${seqOf(ids[0]!)}`), undefined, 'a stream this session never had')
      for (const id of beyond('alpha', last)) t.equal(await store.replayAfter(s, id), undefined, `beyond what the stream issued: ${id}`)
      t.equal(await store.replayAfter(s, otherFormat(ids[0]!)), undefined, `a sequence format this store never issues: ${otherFormat(ids[0]!)}`)
      t.same(dataOf(await store.replayAfter(s, ids[0]!)), ['a2', 'a3'], 'the real ids still work')
    })

    t.test('priming events (data \'\') are events with empty data', async (t) => {
      const store = await open(t)
      const s = sessionId()
      const prime = await store.append(s, 'g', '')
      const message = await store.append(s, 'g', '{"jsonrpc":"2.0","method":"x"}')
      const prime2 = await store.append(s, 'g', '')
      t.ok(strictlyIncreasing([prime, message, prime2]))
      t.same((await store.replayAfter(s, prime))?.events, [{ id: message, data: '{"jsonrpc":"2.0","method":"x"}' }, { id: prime2, data: '' }], 'kept and replayed, with their ids')
      t.same((await store.replayAfter(s, prime2))?.events, [], 'a priming event is a valid resume point')
    })

    t.test('end() marks the stream ended; no data event follows it', async (t) => {
      const store = await open(t)
      const s = sessionId()
      const ids = await appendAll(store, s, 'post', ['r1', 'r2', 'r3'])
      const other = await appendAll(store, s, 'live', ['l1'])
      await store.end(s, 'post')
      const fromStart = await store.replayAfter(s, ids[0]!)
      t.same(fromStart, { streamId: 'post', events: [{ id: ids[1], data: 'r2' }, { id: ids[2], data: 'r3' }], ended: true, truncated: false }, 'the events, then ended')
      t.same(await store.replayAfter(s, ids[2]!), { streamId: 'post', events: [], ended: true, truncated: false }, 'after the last event: ended, no event')
      t.same(await store.replayAfter(s, other[0]!), { streamId: 'live', events: [], ended: false, truncated: false }, 'the other stream is not ended')
      await t.resolves(store.end(s, 'post'), 'ending twice is harmless')
      t.same(dataOf(await store.replayAfter(s, ids[0]!)), ['r2', 'r3'], 'and adds nothing')
      await t.resolves(store.end(s, 'never-opened'), 'ending an unknown stream is harmless')
      await t.resolves(store.end(sessionId('none'), 'post'))
    })

    t.test('a stream keeps about maxEventsPerStream events, evicting the oldest first', async (t) => {
      const LIMIT = 50
      const store = await open(t, { maxEventsPerStream: LIMIT })
      const s = sessionId()
      // Far past the bound (and past any approximate trim's granularity).
      const total = 4 * (LIMIT + traits.boundSlack)
      const data = Array.from({ length: total }, (_, i) => `e${i}`)
      const ids = await appendAll(store, s, 'big', data)
      const small = await appendAll(store, s, 'small', ['s1', 's2', 's3'])
      const fromFirst = await store.replayAfter(s, ids[0]!)
      t.ok(fromFirst, 'the stream is still known')
      const kept = dataOf(fromFirst)!
      t.ok(kept.length >= LIMIT, `at least the bound is kept (${kept.length} >= ${LIMIT})`)
      t.ok(kept.length <= LIMIT + traits.boundSlack, `bounded near the limit (${kept.length} <= ${LIMIT} + ${traits.boundSlack})`)
      t.same(kept, data.slice(total - kept.length), 'what is kept is the newest events, in order: the oldest went first')
      t.same(fromFirst!.events.map((e) => e.id), ids.slice(total - kept.length), 'with the ids they were appended under')
      t.equal(fromFirst!.truncated, true, 'resuming from an evicted position reports truncated')
      t.equal(fromFirst!.ended, false)
      // The oldest kept event is still a clean resume point.
      const oldestKept = fromFirst!.events[0]!.id
      const fromKept = await store.replayAfter(s, oldestKept)
      t.same(dataOf(fromKept), kept.slice(1), 'from the oldest kept event: the rest')
      t.equal(fromKept?.truncated, false, 'nothing was lost after a kept position')
      t.equal((await store.replayAfter(s, ids.at(-1)!))?.truncated, false, 'nor after the last one')
      // From the newest evicted position nothing is missing: every kept event comes back. (Whether
      // that reports truncated is the store's call: Redis cannot tell it from a real gap.)
      const justEvicted = ids[total - kept.length - 1]!
      t.same(dataOf(await store.replayAfter(s, justEvicted)), kept, 'from the newest evicted position: every kept event')
      t.same(dataOf(await store.replayAfter(s, small[0]!)), ['s2', 's3'], 'the bound is per stream: a small stream lost nothing')
    })

    t.test('deleteSession forgets every stream of that session, and only those', async (t) => {
      const store = await open(t)
      const gone = sessionId('gone')
      const kept = sessionId('kept')
      const g1 = await appendAll(store, gone, 'one', ['g1a', 'g1b'])
      const g2 = await appendAll(store, gone, 'two', ['g2a', 'g2b'])
      await store.end(gone, 'two')
      const k1 = await appendAll(store, kept, 'one', ['k1a', 'k1b'])
      const k3 = await appendAll(store, kept, 'three', ['k3a', 'k3b'])
      await store.deleteSession(gone)
      t.equal(await store.replayAfter(gone, g1[0]!), undefined, 'stream one is forgotten')
      t.equal(await store.replayAfter(gone, g2[0]!), undefined, 'stream two (ended) is forgotten')
      t.same(dataOf(await store.replayAfter(kept, k1[0]!)), ['k1b'], 'the other session keeps its stream of the same name')
      t.same(dataOf(await store.replayAfter(kept, k3[0]!)), ['k3b'])
      await t.resolves(store.deleteSession(gone), 'deleting twice is harmless')
      await t.resolves(store.deleteSession(sessionId('none')), 'deleting an unknown session is harmless')
    })

    t.test('2 × 500 concurrent appends to one stream: 1,000 distinct increasing ids, all replayed in order', async (t) => {
      const store = await open(t)
      const s = sessionId()
      const start = await store.append(s, 'hot', 'start')
      const producer = (tag: string) => Promise.all(Array.from({ length: 500 }, (_, i) => store.append(s, 'hot', `${tag}${i}`)))
      const [a, b] = await Promise.all([producer('a'), producer('b')])
      const all = [...a, ...b]
      t.equal(new Set(all).size, 1000, 'every id is distinct')
      t.ok(all.every((id) => parseEventId(id)?.streamId === 'hot'), 'all on the stream')
      t.ok(strictlyIncreasing(a), 'producer a\'s ids increase in call order')
      t.ok(strictlyIncreasing(b), 'producer b\'s ids increase in call order')
      t.ok(all.every((id) => compareSeq(seqOf(start), seqOf(id)) < 0), 'all after the event before them')
      const replay = await store.replayAfter(s, start)
      t.equal(replay?.events.length, 1000, 'the replay returns them all')
      const ids = replay!.events.map((e) => e.id)
      t.ok(strictlyIncreasing(ids), 'in strictly increasing order')
      t.same(ids, [...all].sort((x, y) => compareSeq(seqOf(x), seqOf(y))), 'exactly the ids the appends resolved')
      const dataById = new Map<string, string>()
      a.forEach((id, i) => dataById.set(id, `a${i}`))
      b.forEach((id, i) => dataById.set(id, `b${i}`))
      t.ok(replay!.events.every((e) => dataById.get(e.id) === e.data), 'each event carries the data appended under its id')
      t.equal(replay!.truncated, false)
    })

    t.test('close resolves', async (t) => {
      const store = await build(ROOMY)
      await store.append(sessionId(), 'x', 'y')
      await t.resolves(store.close())
    })
  })
}
