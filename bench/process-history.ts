// How much of a paired CPU ratio is the server process's own history rather than its session
// count: three plugin processes on the memory store, each paired with the bare route and with
// each other, `tools/call echo` (or `ping` with --ping):
//
//   A: 1,000 sessions;  B: 100,000 sessions;  C: 100,000 created, 99,000 of them deleted (1,000 live).
//
// A and C hold the same live sessions and run the same code; only what each process went
// through before differs. `npm run bench` gives each session count a process of its own, so
// its session-count ratios carry this difference too (docs/performance.md).
//
//   npm run build && node dist/bench/process-history.js [--ping] [--rounds=6]
import { createSessions, load, numericOption, ServerPool, JSON_HEADERS, type ServerHandle } from './harness.js'
import { median } from './targets.js'

const ping = process.argv.includes('--ping')
const rounds = numericOption('rounds', 6)
const PING = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' })
const ECHO = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { text: 'hello' } } })
const body = ping ? PING : ECHO

const pool = new ServerPool()
const bare = await pool.start('./servers/bare.js')
const a = await pool.start('./servers/mcp.js')
const idsA = await createSessions(a.url, 1_000)
const b = await pool.start('./servers/mcp.js')
const idsB = await createSessions(b.url, 100_000)
const c = await pool.start('./servers/mcp.js')
const createdC = await createSessions(c.url, 100_000)
const idsC = createdC.slice(0, 1_000)
let next = idsC.length
await Promise.all(Array.from({ length: 32 }, async () => {
  while (next < createdC.length) {
    const id = createdC[next++]!
    const res = await fetch(c.url, { method: 'DELETE', headers: { ...JSON_HEADERS, 'mcp-session-id': id, 'mcp-protocol-version': '2025-06-18' } })
    if (res.status !== 204) throw new Error(`DELETE answered ${res.status}`)
  }
}))
const fakeIds = Array.from({ length: 1000 }, (_, i) => `bench-session-${i.toString().padStart(8, '0')}-xxxxxxxxxxxx`)

interface Side { server: ServerHandle, body: string, ids: string[] }
const bareSide: Side = { server: bare, body: PING, ids: fakeIds }
const sideA: Side = { server: a, body, ids: idsA }
const sideB: Side = { server: b, body, ids: idsB }
const sideC: Side = { server: c, body, ids: idsC }
const pairs: Array<{ name: string, x: Side, y: Side, ratios: number[] }> = [
  { name: 'A ÷ bare route', x: bareSide, y: sideA, ratios: [] },
  { name: 'B ÷ bare route', x: bareSide, y: sideB, ratios: [] },
  { name: 'C ÷ bare route', x: bareSide, y: sideC, ratios: [] },
  { name: 'B ÷ A (100,000 ÷ 1,000 sessions)', x: sideA, y: sideB, ratios: [] },
  { name: 'C ÷ A (same live sessions, another history)', x: sideA, y: sideC, ratios: [] }
]
const slice = (side: Side, durationSec: number) => load({ name: 'slice', server: side.server, body: side.body, sessionIds: side.ids, durationSec, connections: 16, warmupSec: 0 })
for (const pair of pairs) await Promise.all([slice(pair.x, 1), slice(pair.y, 1)])
for (let round = 0; round < rounds; round++) {
  for (const pair of pairs) {
    const [x, y] = await Promise.all([slice(pair.x, 1.5), slice(pair.y, 1.5)])
    if (x.non2xx + x.errors + y.non2xx + y.errors > 0) throw new Error(`${pair.name}: errors or non-2xx answers`)
    pair.ratios.push(y.cpuMicrosPerRequest / x.cpuMicrosPerRequest)
  }
}
await pool.stopAll()
console.log(`${ping ? 'ping' : 'tools/call echo'}: server CPU per call, paired (two servers loaded at the same moment), ${rounds} rounds`)
console.table(pairs.map((p) => ({ pair: p.name, median: Number(median(p.ratios).toFixed(3)), rounds: p.ratios.map((r) => r.toFixed(2)).join(' ') })))
