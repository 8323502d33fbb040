// What a session lookup costs once the session table no longer fits in the CPU's cache: the
// memory store's `get` over 1,000, 10,000 and 100,000 sessions, visited in turn as the session
// lookup benchmark visits them, with 1 MB of other memory touched between two lookups (as a
// request's own work would), against the same loop without the lookup. In-process, no HTTP:
// it isolates what the session count adds to a request, which the HTTP benchmark can only
// show as a few percent in noise of its own. Twice: with the ids the store mints (the plugin's,
// which name their record's slot) and with ids of the caller's (kept in a Map).
//
//   npm run build && node --expose-gc dist/bench/session-table.js
import { randomBytes } from 'node:crypto'
import { MemorySessionStore } from '../lib/stores/memory-session-store.js'
import type { SessionRecord } from '../lib/stores/session-store.js'
import { median } from './targets.js'

const COUNTS = [1_000, 10_000, 100_000]
const LOOKUPS = 20_000
const ROUNDS = 5
const other = new Float64Array(1024 * 1024 / 8)

function record (id: string, now: number): SessionRecord {
  return { id, protocolVersion: '2025-06-18', clientInfo: { name: 'bench', version: '1.0.0' }, clientCapabilities: {}, serverCapabilities: { tools: {} }, initialized: true, createdAt: now, lastActiveAt: now }
}

/** Nanoseconds per lookup (or per empty step), median over rounds. */
async function measure (count: number, minted: boolean): Promise<{ lookup: number, empty: number }> {
  const store = new MemorySessionStore({ maxSessions: count, ttlMs: 3_600_000 })
  // Ids kept as bytes: each lookup gets a fresh string, as one parsed from a header would be.
  const ids: Buffer[] = []
  for (let i = 0; i < count; i++) {
    const id = minted ? store.newSessionId() : randomBytes(24).toString('base64url')
    ids.push(Buffer.from(id))
    await store.create(record(id, Date.now()))
  }
  for (const id of ids.slice(0, 100)) {
    if (await store.get(id.toString('latin1')) === undefined) throw new Error('a stored session was not found')
  }
  global.gc?.()
  const lookups: number[] = []
  const empties: number[] = []
  let next = 0
  let pending: Promise<unknown> = Promise.resolve()
  for (let round = 0; round < ROUNDS + 1; round++) {
    for (const withLookup of [true, false]) {
      let total = 0n
      for (let j = 0; j < LOOKUPS; j++) {
        for (let i = 0; i < other.length; i += 8) other[i]!++
        const id = ids[next]!.toString('latin1')
        if (++next === count) next = 0
        const start = process.hrtime.bigint()
        // The async method runs to its return before yielding: the lookup is inside the timing,
        // and the empty step makes a promise too.
        pending = withLookup ? store.get(id) : Promise.resolve(id)
        total += process.hrtime.bigint() - start
      }
      // The first round warms the JIT.
      if (round > 0) (withLookup ? lookups : empties).push(Number(total) / LOOKUPS)
    }
  }
  await pending
  await store.close()
  return { lookup: median(lookups), empty: median(empties) }
}

if (global.gc === undefined) console.log('(run with --expose-gc for a settled heap before each count)')
const rows: Array<Record<string, string | number>> = []
for (const minted of [true, false]) {
  let base: number | undefined
  for (const count of COUNTS) {
    const { lookup, empty } = await measure(count, minted)
    const cost = lookup - empty
    base ??= cost
    rows.push({ ids: minted ? 'minted by the store' : 'the caller\'s (Map)', sessions: count.toLocaleString('en'), 'ns per get': Math.round(cost), [`÷ ${COUNTS[0]!.toLocaleString('en')} sessions`]: Number((cost / base).toFixed(2)) })
  }
}
console.table(rows)
