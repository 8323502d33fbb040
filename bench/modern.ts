// 2026-07-28 throughput: a stateless `tools/call echo` (the envelope in `params._meta`, the
// MCP-Protocol-Version, Mcp-Method and Mcp-Name headers) on the plugin, side by side in the
// same run with the bare Fastify route (the ceiling, as in session-lookup.ts: a `ping` body,
// the session header rotated), the bare route given the very same modern echo request (how
// much of the gap is the larger body), the plugin's 2025 session path (`tools/call echo`,
// 1,000 sessions on the memory store: what a modern request saves by having no lookup), and
// the official v2 server (@modelcontextprotocol/server 2.4.0, createMcpHandler mounted in
// Fastify with toNodeHandler, JSON response mode: bench/servers/sdk-v2.ts).
//
// Same method as session-lookup.ts: each server in its own process, autocannon from this one;
// every round runs a slice of each scenario in one block between two bare-route slices (the
// machine is shared and its speed drifts, so a ratio to the bare route is taken against the
// mean of the two bare slices around it, and scenarios of the block are compared with each
// other directly, round by round); then paired slices load two servers at the same moment
// (half the connections each) and compare their CPU per request. Every ratio is a median over
// rounds of same-round ratios; its spread over rounds is reported beside it.
//
//   node dist/bench/modern.js [--quick] [--profile]
// --profile: afterwards, CPU-profile the modern echo and the bare route under the same load
// (MCP_BENCH_PROFILE names the files, default .scratch/modern).
import { mkdirSync, writeFileSync } from 'node:fs'
import autocannon from 'autocannon'
import { cpuTimes, createSessions, JSON_HEADERS, machine, measured, ServerPool, stealBetween, type LoadResult, type ServerHandle } from './harness.js'
import { BARE, median } from './targets.js'
import { MODERN_ECHO, BARE_MODERN_BODY, SDK_V2_ECHO, SESSION_ECHO, spread, type ModernRun, type ModernRatio } from './modern-report.js'

const quick = process.argv.includes('--quick')
const profile = process.argv.includes('--profile')
const rounds = quick ? 4 : 12
const sliceSec = quick ? 1 : 1.5
const connections = 32
const pairedSliceSec = sliceSec
const pairedConnections = connections / 2
// Read by the servers (serve.ts) when they write a profile: set before they start.
if (profile) process.env.MCP_BENCH_PROFILE ??= '.scratch/modern'

const MODERN = '2026-07-28'
const PING = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' })
const ECHO_2025 = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { text: 'hello' } } })
/** What a conforming 2026-07-28 client sends (test/helpers/modern.ts): the envelope in `_meta`. */
const ECHO_MODERN = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'tools/call',
  params: {
    name: 'echo',
    arguments: { text: 'hello' },
    _meta: {
      'io.modelcontextprotocol/protocolVersion': MODERN,
      'io.modelcontextprotocol/clientCapabilities': {},
      'io.modelcontextprotocol/clientInfo': { name: 'bench', version: '1.0.0' }
    }
  }
})
const HEADERS_2025 = { ...JSON_HEADERS, 'mcp-protocol-version': '2025-06-18' }
const HEADERS_MODERN = { ...JSON_HEADERS, 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': 'echo' }

interface Scenario {
  name: string
  server: ServerHandle
  body: string
  headers: Record<string, string>
  /** Rotated over, one per request (Mcp-Session-Id); none: no session header. */
  sessionIds: string[]
  results: LoadResult[]
}

const cursors = new Map<string[], number>()
function cannon (s: Scenario, durationSec: number, conns: number): Promise<autocannon.Result> {
  const ids = s.sessionIds
  let i = cursors.get(ids) ?? 0
  return autocannon({
    url: s.server.url,
    method: 'POST',
    connections: conns,
    duration: durationSec,
    headers: s.headers,
    body: s.body,
    requests: ids.length === 0
      ? undefined
      : [{
          setupRequest: (request) => {
            request.headers = { ...request.headers, 'mcp-session-id': ids[i++ % ids.length]! }
            return request
          }
        }]
  }).then((result) => {
    cursors.set(ids, i % Math.max(ids.length, 1))
    return result
  })
}

/** One slice: req/s, latency, and the server's CPU time per request. */
async function slice (s: Scenario, durationSec = sliceSec, conns = connections): Promise<LoadResult> {
  return measured(s.name, s.server, () => cannon(s, durationSec, conns))
}

async function expectEcho (s: Scenario): Promise<void> {
  const headers = s.sessionIds.length === 0 ? s.headers : { ...s.headers, 'mcp-session-id': s.sessionIds[0]! }
  const res = await fetch(s.server.url, { method: 'POST', headers, body: s.body })
  const json = await res.json() as { result?: { content?: unknown } }
  if (res.status !== 200 || JSON.stringify(json.result?.content) !== JSON.stringify([{ type: 'text', text: 'hello' }])) {
    throw new Error(`${s.name}: unexpected answer ${res.status} ${JSON.stringify(json)}`)
  }
}

console.log(`modern-era benchmark (${quick ? 'quick' : 'full'}: ${rounds} rounds × ${sliceSec} s per scenario, ${connections} connections)`)
console.log(machine())
const pool = new ServerPool()
const start = pool.start
const bare = await start('./servers/bare.js')
const modern = await start('./servers/mcp-modern.js')
const sessions = await start('./servers/mcp.js')
const sdkV2 = await start('./servers/sdk-v2.js')
const sessionIds = await createSessions(sessions.url, 1000)
const fakeIds = Array.from({ length: 1000 }, (_, i) => `bench-session-${i.toString().padStart(8, '0')}-xxxxxxxxxxxx`)

const scenario = (name: string, server: ServerHandle, body: string, headers: Record<string, string>, ids: string[] = []): Scenario => ({ name, server, body, headers, sessionIds: ids, results: [] })
const bareBefore = scenario(BARE, bare, PING, HEADERS_2025, fakeIds)
const bareAfter = scenario(BARE, bare, PING, HEADERS_2025, fakeIds)
const modernEcho = scenario(MODERN_ECHO, modern, ECHO_MODERN, HEADERS_MODERN)
const sdkEcho = scenario(SDK_V2_ECHO, sdkV2, ECHO_MODERN, HEADERS_MODERN)
const sessionEcho = scenario(SESSION_ECHO, sessions, ECHO_2025, HEADERS_2025, sessionIds)
const bareModern = scenario(BARE_MODERN_BODY, bare, ECHO_MODERN, HEADERS_MODERN)
// One block between two bare slices; the plugin next to the SDK it is compared with.
const block = [bareBefore, modernEcho, sdkEcho, sessionEcho, bareModern, bareAfter]
for (const s of [modernEcho, sdkEcho, sessionEcho]) await expectEcho(s)

// Warm every server (JIT) before the first measured round.
for (const s of block) await slice(s)
const before = cpuTimes()
for (let round = 0; round < rounds; round++) {
  for (const s of block) s.results.push(await slice(s))
  process.stdout.write(`round ${round + 1}/${rounds}\r`)
}
// Paired: two servers under load at the same moment, half the connections each.
const pairs: Array<[Scenario, Scenario]> = [[bareBefore, modernEcho], [sessionEcho, modernEcho], [bareModern, modernEcho]]
const paired = pairs.map(([a, b]) => ({ a: a.name, b: b.name, rounds: [] as Array<{ a: LoadResult, b: LoadResult }> }))
for (let round = 0; round < rounds; round++) {
  for (const [k, [a, b]] of pairs.entries()) {
    const [ra, rb] = await Promise.all([slice(a, pairedSliceSec, pairedConnections), slice(b, pairedSliceSec, pairedConnections)])
    paired[k]!.rounds.push({ a: ra, b: rb })
  }
  process.stdout.write(`paired round ${round + 1}/${rounds}\r`)
}
const stealPct = stealBetween(before, cpuTimes())

if (profile) {
  const profiles: string[] = []
  for (const s of [modernEcho, bareBefore, sessionEcho]) {
    await s.server.startProfile()
    await slice(s, 10)
    profiles.push(`${s.name}: ${await s.server.stopProfile()}`)
  }
  console.log(profiles.join('\n'))
}
await pool.stopAll()

// Ratios: to the bare route, against the mean of the two bare slices around the block.
const bareMean = bareBefore.results.map((r, i) => ({
  rps: (r.rps + bareAfter.results[i]!.rps) / 2,
  cpu: (r.cpuMicrosPerRequest + bareAfter.results[i]!.cpuMicrosPerRequest) / 2
}))
const rows = [{ ...bareBefore, results: bareBefore.results.flatMap((r, i) => [r, bareAfter.results[i]!]) }, modernEcho, sdkEcho, sessionEcho, bareModern].map((s) => {
  const isBare = s.name === BARE
  const rpsRatios = isBare ? [] : s.results.map((r, i) => r.rps / bareMean[i]!.rps)
  const cpuRatios = isBare ? [] : s.results.map((r, i) => r.cpuMicrosPerRequest / bareMean[i]!.cpu)
  return {
    scenario: s.name,
    'req/s': Math.round(median(s.results.map((x) => x.rps))),
    'p50 ms': median(s.results.map((x) => x.p50)),
    'p99 ms': median(s.results.map((x) => x.p99)),
    'CPU µs/req': Number(median(s.results.map((x) => x.cpuMicrosPerRequest)).toFixed(1)),
    'req/s ÷ bare': isBare ? 1 : Number(median(rpsRatios).toFixed(3)),
    'CPU ÷ bare': isBare ? 1 : Number(median(cpuRatios).toFixed(3)),
    'steal %': median(s.results.map((x) => x.stealPct)),
    'non-2xx': s.results.reduce((sum, x) => sum + x.non2xx + x.errors, 0)
  }
})
const direct = (a: Scenario, b: Scenario, field: 'rps' | 'cpuMicrosPerRequest'): number[] => a.results.map((r, i) => r[field] / b.results[i]![field])
const ratios: ModernRatio[] = [
  { what: `${MODERN_ECHO} ÷ ${BARE}, req/s (interleaved)`, ...spread(modernEcho.results.map((r, i) => r.rps / bareMean[i]!.rps)) },
  { what: `${MODERN_ECHO} ÷ ${BARE}, CPU µs/req (interleaved)`, ...spread(modernEcho.results.map((r, i) => r.cpuMicrosPerRequest / bareMean[i]!.cpu)) },
  ...paired.flatMap((p) => [
    { what: `${p.b} ÷ ${p.a}, CPU µs/req (paired)`, ...spread(p.rounds.map((r) => r.b.cpuMicrosPerRequest / r.a.cpuMicrosPerRequest)) },
    { what: `${p.b} ÷ ${p.a}, req/s (paired)`, ...spread(p.rounds.map((r) => r.b.rps / r.a.rps)) }
  ]),
  { what: `${MODERN_ECHO} ÷ ${SDK_V2_ECHO}, req/s`, ...spread(direct(modernEcho, sdkEcho, 'rps')) },
  { what: `${SDK_V2_ECHO} ÷ ${MODERN_ECHO}, CPU µs/req`, ...spread(direct(sdkEcho, modernEcho, 'cpuMicrosPerRequest')) },
  { what: `${MODERN_ECHO} ÷ ${SESSION_ECHO}, req/s (interleaved)`, ...spread(direct(modernEcho, sessionEcho, 'rps')) },
  { what: `${SDK_V2_ECHO} ÷ ${BARE}, req/s (interleaved)`, ...spread(sdkEcho.results.map((r, i) => r.rps / bareMean[i]!.rps)) }
]
console.table(rows)
console.table(ratios.map((r) => ({ ratio: r.what, median: r.median, 'min–max': `${r.min}–${r.max}`, 'p25–p75': `${r.p25}–${r.p75}` })))
console.log(`CPU steal during the measured rounds: ${stealPct.toFixed(1)}%`)

const run: ModernRun = {
  date: new Date().toISOString(),
  machine: machine(),
  rounds,
  sliceSec,
  connections,
  pairedSliceSec,
  pairedConnections,
  stealPct,
  rows,
  ratios,
  paired,
  raw: [bareBefore, modernEcho, sdkEcho, sessionEcho, bareModern, bareAfter].map((s, position) => ({ scenario: s.name, group: 0, position, rounds: s.results }))
}
const out = new URL('./results/', import.meta.url.replace('/dist/bench/', '/bench/'))
mkdirSync(out, { recursive: true })
const file = new URL(`modern${quick ? '-quick' : ''}.json`, out)
writeFileSync(file, JSON.stringify(run, null, 2) + '\n')
console.log(`results written to ${file.pathname}`)
const broken = [...rows.filter((r) => r['non-2xx'] > 0).map((r) => r.scenario), ...paired.filter((p) => p.rounds.some(({ a, b }) => a.non2xx + a.errors + b.non2xx + b.errors > 0)).map((p) => `${p.b} ÷ ${p.a} (paired)`)]
if (broken.length > 0) {
  console.error(`non-2xx answers or errors in: ${broken.join(', ')}`)
  process.exitCode = 1
}
