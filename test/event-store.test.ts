// The event store behind resumable SSE streams: MemoryEventStore on its own (ids, replay,
// per-session scoping, the three bounds, forgetting, stats), then through the plugin (a
// resumed POST stream that lost events to the bound, history dropped with the session, a
// custom store and its validation).
import Fastify, { type FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { Type } from '@sinclair/typebox'
import mcp, { MemoryEventStore, parseEventId, type EventStore, type ReplayResult } from '../lib/index.js'
import { callTool, deferred, openSessionHttp, request, serve, streamHeaders, type Session, type StreamReader, within } from './helpers/index.js'

/** What one event costs against the byte bounds: its data plus a fixed overhead. */
const OVERHEAD = 96
const cost = (data: string): number => data.length + OVERHEAD

/** `n` characters, recognisable: `<tag>` padded with dots. */
function payload (tag: string, n: number): string {
  return (tag + '.'.repeat(n)).slice(0, n)
}

/** The data of the events a replay returned. */
function dataOf (result: ReplayResult | undefined): string[] | undefined {
  return result?.events.map((e) => e.data)
}

function seqOf (eventId: string): number {
  const parsed = parseEventId(eventId)
  if (parsed === undefined) throw new Error(`not an event id: ${eventId}`)
  return Number(parsed.seq)
}

t.test('MemoryEventStore: ids and replay', async (t) => {
  t.test('append returns <streamId>.<seq>, seq increasing per stream from 1', async (t) => {
    const store = new MemoryEventStore()
    const ids: string[] = []
    ids.push(await store.append('S1', 'alpha', 'a1'))
    ids.push(await store.append('S1', 'beta', 'b1'))
    ids.push(await store.append('S1', 'alpha', 'a2'))
    ids.push(await store.append('S1', 'alpha', 'a3'))
    ids.push(await store.append('S1', 'beta', 'b2'))
    t.same(ids, ['alpha.1', 'beta.1', 'alpha.2', 'alpha.3', 'beta.2'], 'one counter per stream, not one for the store')
    t.same(parseEventId(ids[3]!), { streamId: 'alpha', seq: '3' }, 'the stream is recoverable from the id')
    // The sync variant shares the counter.
    t.equal(store.appendNow('S1', 'alpha', 'a4'), 'alpha.4')
    // Another session has its own counters for the same stream name.
    t.equal(await store.append('S2', 'alpha', 'other-a1'), 'alpha.1')
    t.same(store.stats, { events: 7, bytes: ['a1', 'b1', 'a2', 'a3', 'b2', 'a4', 'other-a1'].reduce((sum, d) => sum + cost(d), 0), streams: 3 })
  })

  t.test('replayAfter returns exactly the later events of that stream, in order', async (t) => {
    const store = new MemoryEventStore()
    for (let i = 1; i <= 5; i++) {
      await store.append('S1', 'alpha', `a${i}`)
      await store.append('S1', 'beta', `b${i}`)
    }
    const after2 = await store.replayAfter('S1', 'alpha.2')
    t.same(after2, {
      streamId: 'alpha',
      events: [{ id: 'alpha.3', data: 'a3' }, { id: 'alpha.4', data: 'a4' }, { id: 'alpha.5', data: 'a5' }],
      ended: false,
      truncated: false
    }, 'the events after alpha.2 and nothing of beta')
    t.same(dataOf(await store.replayAfter('S1', 'alpha.1')), ['a2', 'a3', 'a4', 'a5'])
    t.same(dataOf(await store.replayAfter('S1', 'beta.4')), ['b5'])
    const last = await store.replayAfter('S1', 'alpha.5')
    t.same(last, { streamId: 'alpha', events: [], ended: false, truncated: false }, 'after the last id: nothing yet, but a known stream')
    t.same(store.replayNow('S1', 'alpha.2'), after2, 'replayNow answers the same synchronously')
    // Priming events (empty data) are stored and replayed like the others; the plugin skips them.
    await store.append('S1', 'gamma', '')
    await store.append('S1', 'gamma', 'g2')
    t.same(await store.replayAfter('S1', 'gamma.1'), { streamId: 'gamma', events: [{ id: 'gamma.2', data: 'g2' }], ended: false, truncated: false })
  })

  t.test('histories are per session: same stream id in two sessions, ids from another session', async (t) => {
    const store = new MemoryEventStore()
    await store.append('A', 'shared', 'A-1')
    await store.append('A', 'shared', 'A-2')
    await store.append('A', 'shared', 'A-3')
    await store.append('A', 'onlyA', 'only-1')
    await store.append('B', 'shared', 'B-1')
    await store.append('B', 'shared', 'B-2')

    t.same(dataOf(await store.replayAfter('A', 'shared.1')), ['A-2', 'A-3'])
    t.same(dataOf(await store.replayAfter('B', 'shared.1')), ['B-2'], 'the same id in B replays B\'s history only')
    t.equal(await store.replayAfter('B', 'onlyA.1'), undefined, 'a stream of session A is unknown in session B')
    t.equal(await store.replayAfter('B', 'shared.3'), undefined, 'A\'s shared.3 was never issued in B')
    t.equal(await store.replayAfter('C', 'shared.1'), undefined, 'an unknown session')
  })

  t.test('unknown streams, malformed ids and ids not issued yet answer undefined', async (t) => {
    const store = new MemoryEventStore()
    for (let i = 1; i <= 3; i++) await store.append('S', 'alpha', `a${i}`)
    t.equal(await store.replayAfter('S', 'nosuch.1'), undefined, 'unknown stream')
    const malformed = ['', 'alpha', 'alpha.', '.1', 'alpha.x', 'alpha.-1', 'alpha.1.', 'alpha..1', 'al pha.1', 'alpha.1 ', 'alpha/1', 'alpha.1-2',
      `${'a'.repeat(65)}.1`, 'alpha.12345678901234567', 'alpha.1e2', 'alpha.0x1']
    for (const id of malformed) t.equal(await store.replayAfter('S', id), undefined, `malformed: ${JSON.stringify(id)}`)
    t.equal(await store.replayAfter('S', 'alpha.4'), undefined, 'the next id, not issued yet')
    t.equal(await store.replayAfter('S', 'alpha.9999'), undefined, 'far beyond what was issued')
    t.ok(await store.replayAfter('S', 'alpha.3'), 'while the last issued id is known')
  })

  t.test('end() is reflected in ended; deleteSession forgets everything of that session', async (t) => {
    const store = new MemoryEventStore()
    await store.append('A', 'alpha', 'a1')
    await store.append('A', 'alpha', 'a2')
    await store.append('A', 'beta', 'b1')
    await store.append('B', 'alpha', 'B-a1')
    t.equal((await store.replayAfter('A', 'alpha.1'))?.ended, false)
    await store.end('A', 'alpha')
    t.same(await store.replayAfter('A', 'alpha.1'), { streamId: 'alpha', events: [{ id: 'alpha.2', data: 'a2' }], ended: true, truncated: false }, 'ended, events kept')
    t.equal((await store.replayAfter('A', 'beta.1'))?.ended, false, 'other streams are not ended')
    t.equal((await store.replayAfter('B', 'alpha.1'))?.ended, false, 'nor the same stream id in another session')
    await store.end('A', 'nosuch')
    await store.end('nosuch', 'alpha')
    t.pass('end() of an unknown stream or session is harmless')

    await store.deleteSession('A')
    t.equal(await store.replayAfter('A', 'alpha.1'), undefined)
    t.equal(await store.replayAfter('A', 'beta.1'), undefined)
    t.same(dataOf(await store.replayAfter('B', 'alpha.0')), ['B-a1'], 'session B untouched')
    t.same(store.stats, { events: 1, bytes: cost('B-a1'), streams: 1 })
    await store.deleteSession('A')
    t.pass('deleting twice is harmless')
    // A session id reused after deletion starts from scratch.
    t.equal(await store.append('A', 'alpha', 'new'), 'alpha.1')
  })
})

t.test('MemoryEventStore: bounds', async (t) => {
  t.test('maxEventsPerStream evicts the oldest events of that stream', async (t) => {
    const store = new MemoryEventStore({ maxEventsPerStream: 5 })
    for (let i = 1; i <= 12; i++) await store.append('S', 'alpha', `a${i}`)
    for (let i = 1; i <= 3; i++) await store.append('S', 'beta', `b${i}`)
    t.same(store.stats, { events: 8, bytes: 2 * cost('a8') + 3 * cost('a10') + 3 * cost('b1'), streams: 2 }, 'alpha holds a8..a12, beta b1..b3')

    const fromEvicted = await store.replayAfter('S', 'alpha.3')
    t.same(fromEvicted, {
      streamId: 'alpha',
      events: [8, 9, 10, 11, 12].map((i) => ({ id: `alpha.${i}`, data: `a${i}` })),
      ended: false,
      truncated: true
    }, 'after an evicted id: what is left, truncated')
    t.equal((await store.replayAfter('S', 'alpha.6'))?.truncated, true, 'alpha.7 is lost too')
    t.same(await store.replayAfter('S', 'alpha.7'), { ...fromEvicted, truncated: false }, 'after the last evicted id nothing is missing')
    t.same(await store.replayAfter('S', 'alpha.9'), {
      streamId: 'alpha',
      events: [10, 11, 12].map((i) => ({ id: `alpha.${i}`, data: `a${i}` })),
      ended: false,
      truncated: false
    }, 'after a retained id')
    t.same(dataOf(await store.replayAfter('S', 'beta.1')), ['b2', 'b3'], 'the bound is per stream: beta lost nothing')
    t.equal((await store.replayAfter('S', 'beta.1'))?.truncated, false)
  })

  t.test('maxBytesPerStream evicts the oldest events of that stream', async (t) => {
    const unit = cost(payload('x', 100)) // 196
    const store = new MemoryEventStore({ maxBytesPerStream: 3 * unit })
    for (let i = 1; i <= 5; i++) await store.append('S', 'alpha', payload(`a${i}`, 100))
    t.same(store.stats, { events: 3, bytes: 3 * unit, streams: 1 }, 'three 100-byte events fit')
    t.same((await store.replayAfter('S', 'alpha.1'))?.events.map((e) => e.id), ['alpha.3', 'alpha.4', 'alpha.5'])
    // A larger one needs two places: alpha.3 and alpha.4 go, alpha.5 stays (196 + 296 ≤ 588).
    await store.append('S', 'alpha', payload('a6', 200))
    const result = await store.replayAfter('S', 'alpha.2')
    t.same(result?.events.map((e) => e.id), ['alpha.5', 'alpha.6'])
    t.equal(result?.truncated, true)
    t.equal((await store.replayAfter('S', 'alpha.4'))?.truncated, false)
    t.same(store.stats, { events: 2, bytes: unit + cost(payload('a6', 200)), streams: 1 })
    // Another stream has its own byte budget.
    for (let i = 1; i <= 3; i++) await store.append('S', 'beta', payload(`b${i}`, 100))
    t.same(dataOf(await store.replayAfter('S', 'alpha.4')), [payload('a5', 100), payload('a6', 200)], 'alpha unchanged by beta')
    t.equal(store.stats.events, 5)
  })

  t.test('maxBytes evicts the globally oldest events, across streams and sessions', async (t) => {
    const unit = cost(payload('x', 100))
    const store = new MemoryEventStore({ maxBytes: 6 * unit })
    const order: Array<[string, string]> = [
      ['A', 'x'], ['A', 'y'], ['B', 'x'], ['A', 'x'], ['A', 'y'], ['B', 'x'], // 6 events: full
      ['A', 'x'], // evicts A/x.1
      ['B', 'x'], // evicts A/y.1
      ['A', 'y'], // evicts B/x.1
      ['B', 'x'] //  evicts A/x.2
    ]
    const issued: string[] = []
    for (const [session, stream] of order) {
      const id = await store.append(session, stream, payload(`${session}/${stream}`, 100))
      issued.push(`${session}/${id}`)
      t.ok(store.stats.bytes <= 6 * unit, `within maxBytes after ${session}/${id}`)
    }
    t.same(issued, ['A/x.1', 'A/y.1', 'B/x.1', 'A/x.2', 'A/y.2', 'B/x.2', 'A/x.3', 'B/x.3', 'A/y.3', 'B/x.4'])
    t.same(store.stats, { events: 6, bytes: 6 * unit, streams: 3 })

    const ax = await store.replayAfter('A', 'x.1')
    t.same(ax?.events.map((e) => e.id), ['x.3'], 'A/x kept only its newest event')
    t.equal(ax?.truncated, true, 'A/x.2 was lost')
    t.equal((await store.replayAfter('A', 'x.2'))?.truncated, false)
    const ay = await store.replayAfter('A', 'y.1')
    t.same(ay?.events.map((e) => e.id), ['y.2', 'y.3'], 'A/y lost only y.1')
    t.equal(ay?.truncated, false)
    const bx = await store.replayAfter('B', 'x.1')
    t.same(bx?.events.map((e) => e.id), ['x.2', 'x.3', 'x.4'], 'B/x lost only x.1')
    t.equal(bx?.truncated, false)
    // The next append evicts the oldest left, A/y.2, not anything of B.
    await store.append('B', 'z', payload('B/z', 100))
    t.same((await store.replayAfter('A', 'y.1'))?.events.map((e) => e.id), ['y.3'])
    t.equal((await store.replayAfter('A', 'y.1'))?.truncated, true)
    t.same((await store.replayAfter('B', 'x.1'))?.events.map((e) => e.id), ['x.2', 'x.3', 'x.4'], 'B/x untouched')
  })

  t.test('events evicted by the per-stream bound leave the global order consistent', async (t) => {
    // The per-stream bound removes events that are still queued for the global bound: the
    // global eviction must skip them and still take the oldest live one.
    const unit = cost(payload('x', 100))
    const store = new MemoryEventStore({ maxEventsPerStream: 2, maxBytes: 4 * unit })
    await store.append('S', 'old', payload('old1', 100)) // oldest overall
    for (let i = 1; i <= 5; i++) await store.append('S', 'churn', payload(`c${i}`, 100)) // keeps c4, c5
    await store.append('S', 'new', payload('new1', 100)) // 4 live: old1, c4, c5, new1
    t.same(store.stats, { events: 4, bytes: 4 * unit, streams: 3 })
    await store.append('S', 'new', payload('new2', 100)) // must evict old1, the oldest live
    t.same(dataOf(await store.replayAfter('S', 'churn.3')), [payload('c4', 100), payload('c5', 100)], 'churn kept its two')
    t.same(await store.replayAfter('S', 'old.1'), { streamId: 'old', events: [], ended: false, truncated: false }, 'old lost its only event')
    t.same(store.stats, { events: 4, bytes: 4 * unit, streams: 3 })
  })

  t.test('an event larger than the per-stream bound is not kept', async (t) => {
    const store = new MemoryEventStore({ maxBytesPerStream: 1024 })
    await store.append('S', 'alpha', 'a1')
    await store.append('S', 'alpha', 'a2')
    await store.append('S', 'beta', 'b1')
    const big = await store.append('S', 'alpha', payload('big', 1024 - OVERHEAD + 1))
    t.equal(big, 'alpha.3', 'it still gets an id')
    t.same(store.stats, { events: 1, bytes: cost('b1'), streams: 2 }, 'neither it nor the events before it are kept (the gap stays a prefix)')
    t.same(await store.replayAfter('S', 'alpha.3'), { streamId: 'alpha', events: [], ended: false, truncated: false }, 'a resume after it works')
    t.equal((await store.replayAfter('S', 'alpha.2'))?.truncated, true, 'a resume before it is truncated')
    await store.append('S', 'alpha', 'a4')
    t.same(await store.replayAfter('S', 'alpha.3'), { streamId: 'alpha', events: [{ id: 'alpha.4', data: 'a4' }], ended: false, truncated: false })
    t.same(await store.replayAfter('S', 'alpha.1'), { streamId: 'alpha', events: [{ id: 'alpha.4', data: 'a4' }], ended: false, truncated: true })
    t.same(dataOf(await store.replayAfter('S', 'beta.0')), ['b1'], 'other streams keep theirs')
    // Exactly at the bound is kept.
    const exact = payload('exact', 1024 - OVERHEAD)
    await store.append('S', 'gamma', exact)
    t.same(dataOf(await store.replayAfter('S', 'gamma.0')), [exact])
  })

  t.test('an event larger than maxBytes is not kept either', async (t) => {
    const store = new MemoryEventStore({ maxBytes: 1024 })
    await store.append('S', 'other', 'o1')
    t.equal(await store.append('S', 'alpha', payload('big', 2000)), 'alpha.1')
    t.same(store.stats, { events: 1, bytes: cost('o1'), streams: 2 }, 'nothing else was evicted to make room for it')
    t.same(await store.replayAfter('S', 'alpha.1'), { streamId: 'alpha', events: [], ended: false, truncated: false })
  })

  t.test('a stream that is ended and fully evicted is forgotten', async (t) => {
    t.test('ended after its events were evicted', async (t) => {
      const store = new MemoryEventStore({ maxBytesPerStream: 1024 })
      await store.append('S', 'alpha', 'a1')
      await store.append('S', 'alpha', payload('big', 2000)) // evicts a1, not kept itself
      t.ok(await store.replayAfter('S', 'alpha.2'), 'not ended: still known, empty')
      t.equal(store.stats.streams, 1)
      await store.end('S', 'alpha')
      t.equal(await store.replayAfter('S', 'alpha.2'), undefined, 'ended and empty: forgotten')
      t.equal(await store.replayAfter('S', 'alpha.1'), undefined)
      t.same(store.stats, { events: 0, bytes: 0, streams: 0 })
    })
    t.test('evicted by the global bound after it ended', async (t) => {
      const unit = cost(payload('x', 100))
      const store = new MemoryEventStore({ maxBytes: 3 * unit })
      await store.append('S', 'done', payload('d1', 100))
      await store.append('S', 'done', payload('d2', 100))
      await store.end('S', 'done')
      await store.append('S', 'open', payload('o1', 100))
      await store.append('S', 'open', payload('o2', 100)) // evicts d1
      t.same(await store.replayAfter('S', 'done.1'), { streamId: 'done', events: [{ id: 'done.2', data: payload('d2', 100) }], ended: true, truncated: false }, 'partly evicted: still known')
      await store.append('S', 'open', payload('o3', 100)) // evicts d2: done is empty and ended
      t.equal(await store.replayAfter('S', 'done.2'), undefined, 'forgotten')
      t.same(store.stats, { events: 3, bytes: 3 * unit, streams: 1 })
      await store.append('S', 'open', payload('o4', 100)) // evicts o1; open is not ended: kept
      t.same(dataOf(await store.replayAfter('S', 'open.1')), [payload('o2', 100), payload('o3', 100), payload('o4', 100)])
    })
    t.test('a stream ended with no event left at all is forgotten at once', async (t) => {
      const store = new MemoryEventStore({ maxEventsPerStream: 1 })
      await store.append('S', 'alpha', 'a1')
      await store.end('S', 'alpha')
      t.ok(await store.replayAfter('S', 'alpha.1'), 'ended but not empty: kept')
      await store.deleteSession('S')
      t.same(store.stats, { events: 0, bytes: 0, streams: 0 })
    })
  })

  t.test('stats go back to zero once every session is deleted', async (t) => {
    const store = new MemoryEventStore({ maxEventsPerStream: 3, maxBytes: 10_000 })
    const sessions = ['s1', 's2', 's3']
    for (let i = 0; i < 200; i++) {
      await store.append(sessions[i % 3]!, `st${i % 7}`, payload(`m${i}`, i % 50))
      if (i % 41 === 0) await store.end(sessions[i % 3]!, `st${i % 7}`)
    }
    t.ok(store.stats.events > 0)
    t.ok(store.stats.bytes <= 10_000)
    for (const s of sessions) await store.deleteSession(s)
    t.same(store.stats, { events: 0, bytes: 0, streams: 0 })
    // And the store is usable afterwards, with its accounting intact.
    await store.append('s1', 'again', 'x')
    t.same(store.stats, { events: 1, bytes: cost('x'), streams: 1 })
    await store.close()
    t.same(store.stats, { events: 0, bytes: 0, streams: 0 }, 'close() empties it')
  })

  t.test('200,000 appends with small bounds: stats stay within bounds and match the histories', async (t) => {
    const maxEventsPerStream = 16
    const maxBytesPerStream = 3000
    const maxBytes = 60_000
    const store = new MemoryEventStore({ maxEventsPerStream, maxBytesPerStream, maxBytes })
    // Deterministic pseudo-random choices, so a failure reproduces.
    let seed = 42
    const random = (n: number): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n }
    interface Shadow { session: string, stream: string, lastSeq: number, ended: boolean }
    let all: Shadow[] = []
    let open: Shadow[] = []
    let streamCounter = 0
    let sessionCounter = 0
    const sessions: string[] = []
    const newSession = (): void => { sessions.push(`sess${sessionCounter++}`) }
    for (let i = 0; i < 10; i++) newSession()
    let overBound = 0
    let peak = 0
    let appends = 0
    while (appends < 200_000) {
      const roll = random(1000)
      if (roll < 2) {
        // Now and then a whole session goes.
        const victim = sessions.splice(random(sessions.length), 1)[0]!
        await store.deleteSession(victim)
        all = all.filter((s) => s.session !== victim)
        open = open.filter((s) => s.session !== victim)
        newSession()
        continue
      }
      if (roll < 12 && open.length > 0) {
        // A stream ends; it is never appended to again.
        const index = random(open.length)
        const s = open[index]!
        open[index] = open[open.length - 1]!
        open.pop()
        s.ended = true
        await store.end(s.session, s.stream)
        continue
      }
      let s: Shadow
      if (open.length < 40 || roll < 40) {
        s = { session: sessions[random(sessions.length)]!, stream: `st${streamCounter++}`, lastSeq: 0, ended: false }
        all.push(s)
        open.push(s)
      } else {
        s = open[random(open.length)]!
      }
      // Mostly small events, some near the per-stream bound, a few over it.
      const size = roll < 990 ? random(300) : random(maxBytesPerStream + 200)
      s.lastSeq = seqOf(store.appendNow(s.session, s.stream, payload(`${appends}`, size)))
      appends++
      const { bytes } = store.stats
      if (bytes > maxBytes) overBound++
      if (bytes > peak) peak = bytes
    }
    t.equal(overBound, 0, `stats.bytes never exceeded maxBytes (peak ${peak})`)
    t.ok(peak > maxBytes - 3000, 'the global bound was reached')
    t.ok(streamCounter > 5000 && sessionCounter > 300, `${streamCounter} streams in ${sessionCounter} sessions`)

    // Every stream: a contiguous suffix of what it was issued, within the per-stream bounds,
    // ended as the shadow says; forgotten only if ended. Their sum is exactly the stats.
    let events = 0
    let bytes = 0
    let streams = 0
    const bad: string[] = []
    for (const s of all) {
      const result = store.replayNow(s.session, `${s.stream}.0`)
      if (result === undefined) {
        if (!s.ended) bad.push(`${s.stream}: forgotten while not ended`)
        continue
      }
      streams++
      const seqs = result.events.map((e) => seqOf(e.id))
      const streamBytes = result.events.reduce((sum, e) => sum + cost(e.data), 0)
      if (!seqs.every((seq, i) => i === 0 || seq === seqs[i - 1]! + 1)) bad.push(`${s.stream}: not contiguous`)
      if (seqs.length > 0 && seqs.at(-1) !== s.lastSeq) bad.push(`${s.stream}: does not end at its last id`)
      if (seqs.length > maxEventsPerStream || streamBytes > maxBytesPerStream) bad.push(`${s.stream}: over the per-stream bounds`)
      if (result.ended !== s.ended) bad.push(`${s.stream}: ended ${result.ended}`)
      if (result.truncated !== (seqs.length === 0 ? s.lastSeq > 0 : seqs[0]! > 1)) bad.push(`${s.stream}: truncated ${result.truncated}`)
      events += seqs.length
      bytes += streamBytes
    }
    t.same(bad, [], 'every history is consistent')
    t.same(store.stats, { events, bytes, streams }, 'stats equal the sum of the histories')

    for (const session of sessions) await store.deleteSession(session)
    t.same(store.stats, { events: 0, bytes: 0, streams: 0 }, 'back to zero once every session is deleted')
  })

  t.test('200,000 appends to one session: the newest events are the ones kept, across both compactions', async (t) => {
    // 90% of the appends go to 8 hot streams that the per-stream bound keeps at 4 events each;
    // they leave dead slots in the global order, which is compacted once they pile up. The
    // other 10% go to 5,000 cold streams that only the global bound evicts, consuming the
    // order from its head. Whatever the compactions did, the global bound must still evict
    // the oldest event: the cold events kept are exactly the newest cold appends.
    const unit = cost(payload('x', 100))
    const capacity = 1500
    const store = new MemoryEventStore({ maxEventsPerStream: 4, maxBytes: capacity * unit })
    const coldAppends: string[] = []
    const lastSeq = new Map<string, number>()
    for (let i = 0; i < 200_000; i++) {
      const stream = i % 10 === 0 ? `cold${(i / 10) % 5000}` : `hot${i % 8}`
      if (i % 10 === 0) coldAppends.push(stream)
      lastSeq.set(stream, seqOf(store.appendNow('S', stream, payload(`${i}`, 100))))
    }
    t.same(store.stats, { events: capacity, bytes: capacity * unit, streams: 5008 })
    const keptCold = capacity - 8 * 4
    const newestCold = new Set(coldAppends.slice(-keptCold))
    t.equal(newestCold.size, keptCold, 'the newest cold appends went to distinct streams')
    const wrong: string[] = []
    let retained = 0
    for (const [stream, last] of lastSeq) {
      const result = store.replayNow('S', `${stream}.0`)!
      retained += result.events.length
      const expected = stream.startsWith('hot') ? 4 : newestCold.has(stream) ? 1 : 0
      if (result.events.length !== expected) wrong.push(`${stream}: ${result.events.length} events, expected ${expected}`)
      else if (expected > 0 && seqOf(result.events.at(-1)!.id) !== last) wrong.push(`${stream}: does not end at its last id`)
    }
    t.same(wrong, [], 'hot streams keep their 4 newest, cold streams kept exactly the newest cold appends')
    t.equal(retained, capacity, 'stats.events equals what the histories hold')
    await store.deleteSession('S')
    t.same(store.stats, { events: 0, bytes: 0, streams: 0 })
  })
})

/**
 * A tool that sends `before` progress notifications, waits for `cut`, sends `after` more
 * (each awaited, so each is stored), signals `sent`, waits for `finish` and returns 'done'.
 */
function addBurst (app: FastifyInstance, before: number, after: number) {
  const cut = deferred()
  const sent = deferred()
  const finish = deferred()
  app.mcp.tool({ name: 'burst', description: 'progress in two bursts', inputSchema: Type.Object({}) }, async (_args, ctx) => {
    for (let i = 1; i <= before; i++) await ctx.progress(i)
    await cut.promise
    for (let i = before + 1; i <= before + after; i++) await ctx.progress(i)
    sent.resolve()
    await finish.promise
    return 'done'
  })
  return { cut, sent, finish }
}

/** The event id of the last data event a reader received. */
function lastDataId (reader: StreamReader): string {
  const id = reader.events.filter((e) => e.data !== '').at(-1)?.id
  if (id === undefined) throw new Error('no event id received')
  return id
}

/** A `burst` call (progress token 'tok') read up to its 3rd event, then its connection dropped. */
async function burstThenDrop (t: Test, url: URL, session: Session, id: number): Promise<{ first: StreamReader, lastSeen: string, streamId: string }> {
  const first = await request(url, 'POST', session.headers, callTool(id, 'burst', {}, 'tok'))
  t.teardown(() => first.destroy())
  await first.until((r) => r.messages().length === 3)
  const lastSeen = lastDataId(first)
  first.destroy()
  await first.waitEnd()
  return { first, lastSeen, streamId: parseEventId(lastSeen)!.streamId }
}

/** Resumed events: ids strictly increasing on one stream, none repeated. */
function assertOrdered (t: Test, streamId: string, ids: string[]): void {
  t.ok(ids.every((id) => parseEventId(id)?.streamId === streamId), 'every event belongs to the resumed stream')
  const seqs = ids.map(seqOf)
  t.ok(seqs.every((seq, i) => i === 0 || seq > seqs[i - 1]!), `in order: ${seqs.join(',')}`)
  t.equal(new Set(ids).size, ids.length, 'no duplicates')
}

t.test('through the plugin', async (t) => {
  t.test('maxEventsPerStream: a POST stream resumed while its handler runs loses the oldest events, then gets the rest live', async (t) => {
    const { app, url } = await serve(t, { demo: true, options: { maxEventsPerStream: 20 } })
    const burst = addBurst(app, 3, 50)
    const session = await openSessionHttp(url)
    const { first, lastSeen, streamId } = await burstThenDrop(t, url, session, 7)
    t.equal(first.headers['content-type'], 'text/event-stream')

    burst.cut.resolve()
    await within(burst.sent.promise, 'the handler to send 50 more')
    const resumed = await request(url, 'GET', streamHeaders(session, { 'last-event-id': lastSeen }))
    t.teardown(() => resumed.destroy())
    t.equal(resumed.status, 200)
    t.equal(resumed.headers['content-type'], 'text/event-stream')
    // The history holds the 20 newest events: progress 34..53.
    await resumed.until((r) => r.messages().length >= 20)
    burst.finish.resolve()
    await resumed.waitEnd()
    t.ok(resumed.ended, 'the resumed stream ends after the response')

    const messages = resumed.messages()
    t.same(messages.slice(0, -1).map((m) => m.params.progress), Array.from({ length: 20 }, (_, i) => 34 + i), 'the 30 oldest missed events were evicted, the 20 newest replayed')
    t.same(messages.at(-1), { jsonrpc: '2.0', id: 7, result: { content: [{ type: 'text', text: 'done' }] } }, 'the final response comes last')
    t.equal(messages.length, 21)
    const ids = resumed.events.filter((e) => e.data !== '').map((e) => e.id!)
    assertOrdered(t, streamId, [lastSeen, ...ids])
    t.same(first.messages().map((m) => m.params.progress), [1, 2, 3], 'the first connection had 1..3')
  })

  t.test('a POST stream resumed after its handler finished is replayed from the store, ending with the response', async (t) => {
    const store = new MemoryEventStore({ maxEventsPerStream: 20 })
    const ended = deferred<string>()
    const originalEnd = store.end.bind(store)
    store.end = async (sessionId, streamId) => { await originalEnd(sessionId, streamId); ended.resolve(streamId) }
    const { app, url } = await serve(t, { demo: true, options: { eventStore: store } })
    const burst = addBurst(app, 3, 50)
    burst.finish.resolve()
    const session = await openSessionHttp(url)
    const { lastSeen, streamId } = await burstThenDrop(t, url, session, 8)
    burst.cut.resolve()
    t.equal(await within(ended.promise, 'the stream to end in the store'), streamId)

    // priming + 53 progress + response = 55 events; the newest 20 are progress 35..53 and the response.
    const stored = store.replayNow(session.id, lastSeen)!
    t.equal(stored.truncated, true)
    t.equal(stored.ended, true)
    t.equal(stored.events.length, 20)

    const resumed = await request(url, 'GET', streamHeaders(session, { 'last-event-id': lastSeen }))
    t.teardown(() => resumed.destroy())
    t.equal(resumed.status, 200)
    await resumed.waitEnd()
    const messages = resumed.messages()
    t.same(messages.slice(0, -1).map((m) => m.params.progress), Array.from({ length: 19 }, (_, i) => 35 + i))
    t.same(messages.at(-1), { jsonrpc: '2.0', id: 8, result: { content: [{ type: 'text', text: 'done' }] } }, 'the final response comes last')
    assertOrdered(t, streamId, [lastSeen, ...resumed.events.filter((e) => e.data !== '').map((e) => e.id!)])
    t.notMatch(resumed.raw, /retry:/, 'an ended stream is not to be resumed again: no retry field')
  })

  t.test('DELETE drops the session\'s history and only its history', async (t) => {
    const store = new MemoryEventStore()
    const { url } = await serve(t, { demo: true, options: { eventStore: store } })
    const keep = await openSessionHttp(url)
    const kept = await request(url, 'POST', keep.headers, callTool(1, 'countdown', { from: 3, intervalMs: 0 }, 'k'))
    await kept.waitEnd()
    const keptStats = store.stats
    t.ok(keptStats.events >= 8, 'the other session has a history (priming, 6 notifications, response)')

    const gone = await openSessionHttp(url)
    const get = await request(url, 'GET', streamHeaders(gone))
    t.teardown(() => get.destroy())
    await get.until((r) => r.events.length === 1) // the priming event
    const countdown = await request(url, 'POST', gone.headers, callTool(2, 'countdown', { from: 3, intervalMs: 0 }, 'g'))
    await countdown.waitEnd()
    const lastSeen = lastDataId(countdown)
    t.ok(store.replayNow(gone.id, lastSeen), 'the history is there')
    t.same(store.stats.streams, keptStats.streams + 2, 'its POST stream and its GET stream')

    const del = await request(url, 'DELETE', { 'mcp-session-id': gone.id, 'mcp-protocol-version': gone.protocolVersion })
    await del.waitEnd()
    t.equal(del.status, 204)
    t.same(store.stats, keptStats, 'back to the other session\'s history exactly')
    t.equal(store.replayNow(gone.id, lastSeen), undefined)
    t.ok(store.replayNow(keep.id, lastDataId(kept)), 'the other session keeps its history')
    await get.waitEnd()

    await request(url, 'DELETE', { 'mcp-session-id': keep.id, 'mcp-protocol-version': keep.protocolVersion }).then((r) => r.waitEnd())
    t.same(store.stats, { events: 0, bytes: 0, streams: 0 }, 'nothing left once both are deleted')
  })

  t.test('session expiry drops its history', async (t) => {
    const store = new MemoryEventStore()
    const { app, url } = await serve(t, { demo: true, options: { eventStore: store, sessionTtlMs: 200 } })
    const session = await openSessionHttp(url)
    const countdown = await request(url, 'POST', session.headers, callTool(1, 'countdown', { from: 2, intervalMs: 0 }, 'e'))
    await countdown.waitEnd()
    t.ok(store.stats.events > 0)
    const expired = deferred<string>()
    // Registered after the plugin's own listener, so it runs after the plugin reacted.
    const unsubscribe = app.mcp.sessions.onExpired((id) => expired.resolve(id))
    t.teardown(unsubscribe)
    t.equal(await within(expired.promise, 'the session to expire'), session.id)
    t.same(store.stats, { events: 0, bytes: 0, streams: 0 })
    t.equal(store.replayNow(session.id, lastDataId(countdown)), undefined)
  })

  t.test('a custom eventStore is the one used, and app.close() does not close it', async (t) => {
    const inner = new MemoryEventStore()
    const appended: Array<{ sessionId: string, streamId: string, data: string, id: string }> = []
    let closes = 0
    // A plain object, not a MemoryEventStore: only the EventStore interface may be relied on.
    const store: EventStore = {
      async append (sessionId, streamId, data) {
        const id = await inner.append(sessionId, streamId, data)
        appended.push({ sessionId, streamId, data, id })
        return id
      },
      end: (sessionId, streamId) => inner.end(sessionId, streamId),
      replayAfter: (sessionId, lastEventId) => inner.replayAfter(sessionId, lastEventId),
      deleteSession: (sessionId) => inner.deleteSession(sessionId),
      async close () { closes++ }
    }
    const { app, url } = await serve(t, { demo: true, options: { eventStore: store } })
    const session = await openSessionHttp(url)
    const reader = await request(url, 'POST', session.headers, callTool(3, 'countdown', { from: 2, intervalMs: 0 }, 'c'))
    await reader.waitEnd()
    const wire = reader.events.map((e) => ({ id: e.id, data: e.data }))
    t.same(appended.map((a) => ({ id: a.id, data: a.data })), wire, 'every event on the wire was appended first, with the id the store gave')
    t.ok(appended.every((a) => a.sessionId === session.id), 'under the session')
    t.equal(wire.length, 6, 'priming, 2 progress, 2 logs, the response')

    await app.close()
    t.equal(closes, 0, 'the plugin did not close it')
    t.ok(await inner.replayAfter(session.id, wire[0]!.id!), 'its history is still there')
  })

  t.test('an eventStore missing a method throws FST_MCP_INVALID_STORE at register, as a sessionStore does', async (t) => {
    const methods = ['append', 'end', 'replayAfter', 'deleteSession', 'close'] as const
    for (const missing of methods) {
      t.test(`without ${missing}()`, async (t) => {
        const real = new MemoryEventStore()
        const store: Record<string, unknown> = {}
        for (const method of methods) if (method !== missing) store[method] = real[method].bind(real)
        const app = Fastify()
        t.teardown(() => app.close())
        await t.rejects(async () => {
          await app.register(mcp, { eventStore: store as never })
          await app.ready()
        }, { code: 'FST_MCP_INVALID_STORE', message: new RegExp(`"eventStore".*${missing}\\(\\)`) })
        t.notOk(app.hasDecorator('mcp'), 'nothing was registered')
      })
    }
    for (const [label, value] of [['a string', 'redis://localhost'], ['null', null], ['a method that is not a function', { ...new MemoryEventStore(), append: 'yes', end () {}, replayAfter () {}, deleteSession () {}, close () {} }]] as const) {
      t.test(`${label}`, async (t) => {
        const app = Fastify()
        t.teardown(() => app.close())
        await t.rejects(async () => {
          await app.register(mcp, { eventStore: value as never })
          await app.ready()
        }, { code: 'FST_MCP_INVALID_STORE', message: /"eventStore"/ })
      })
    }
  })

  t.test('eventStore with resumability: false throws FST_MCP_INVALID_OPTION', async (t) => {
    const app = Fastify()
    t.teardown(() => app.close())
    await t.rejects(async () => {
      await app.register(mcp, { eventStore: new MemoryEventStore(), resumability: false })
      await app.ready()
    }, { code: 'FST_MCP_INVALID_OPTION', message: /"eventStore"/ })
    t.notOk(app.hasDecorator('mcp'))
  })
})
