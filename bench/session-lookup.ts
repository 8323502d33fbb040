// Session lookup throughput: the plugin on the memory store, on Redis and on Redis with the
// near-cache, with 1,000 and 10,000 live sessions, POSTing `ping` and `tools/call echo` with a
// different Mcp-Session-Id on every request, side by side in the same run with a bare Fastify
// route (the ceiling) and the official SDK's stateful server (1,000 sessions, echo). Each
// server runs in its own process; Redis is a redis-server started for the run.
//
// The machine is small and shared (CPU steal comes and goes), so scenarios are not run one
// after the other: every round runs a short slice of each, and each round's ratios are taken
// against that round's bare-route slice. The table reports medians over rounds.
//
//   npm run bench              full run (7 rounds of 3 s per scenario)
//   npm run bench -- --quick   short run (4 rounds of 1.5 s per scenario)
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createSessions, load, machine, startServer, JSON_HEADERS, type LoadResult, type ServerHandle } from './harness.js'
import { RedisServer } from '../test/redis-server.js'
import { writeDocs } from './docs.js'

const quick = process.argv.includes('--quick')
const rounds = quick ? 4 : 7
const sliceSec = quick ? 1.5 : 3
const connections = 32
const sessionCounts = [1_000, 10_000]

const PING = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' })
const INITIALIZE = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1.0.0' } } })
const ECHO = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { text: 'hello' } } })

interface Scenario {
  name: string
  server: ServerHandle
  body: string
  sessionIds: string[]
  results: LoadResult[]
}

async function expectAnswer (url: string, sessionId: string, body: string, expected: unknown): Promise<void> {
  const res = await fetch(url, { method: 'POST', headers: { ...JSON_HEADERS, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' }, body })
  const json = await res.json() as { result?: unknown }
  if (res.status !== 200 || JSON.stringify(json.result) !== JSON.stringify(expected)) {
    throw new Error(`unexpected answer ${res.status} ${JSON.stringify(json)}`)
  }
}

/** Jiffies of CPU time the hypervisor gave to others (Linux `steal`), and the total. */
function cpuTimes (): { steal: number, total: number } {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number)
    return { steal: fields[7] ?? 0, total: fields.reduce((a, b) => a + b, 0) }
  } catch {
    return { steal: 0, total: 0 }
  }
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

console.log(`session lookup benchmark (${quick ? 'quick' : 'full'}: ${rounds} rounds × ${sliceSec} s per scenario, ${connections} connections)`)
console.log(machine())

const fakeIds = Array.from({ length: 1000 }, (_, i) => `bench-session-${i.toString().padStart(8, '0')}-xxxxxxxxxxxx`)
const servers: ServerHandle[] = []
const bare = await startServer('./servers/bare.js')
servers.push(bare)
const scenarios: Scenario[] = [{ name: 'bare route', server: bare, body: PING, sessionIds: fakeIds, results: [] }]
const redis = await RedisServer.start()
/** Heap growth per session (after GC) while `create` opens them: what an idle session costs. */
const idleHeap: Array<{ server: string, sessions: number, bytesPerSession: number }> = []
async function measuredSessions (name: string, server: ServerHandle, count: number): Promise<string[]> {
  const before = (await server.heap()).heapUsed
  const ids = await createSessions(server.url, count)
  const after = (await server.heap()).heapUsed
  idleHeap.push({ server: name, sessions: count, bytesPerSession: Math.round((after - before) / count) })
  return ids
}
const ECHOED = { content: [{ type: 'text', text: 'hello' }] }
for (const count of sessionCounts) {
  const label = count.toLocaleString('en')
  const memory = await startServer('./servers/mcp.js')
  // Two processes on one Redis and one key prefix: sessions created through one serve both.
  const env = { REDIS_URL: redis.url, REDIS_PREFIX: `bench${count}:` }
  const onRedis = await startServer('./servers/mcp-redis.js', env)
  const nearCache = await startServer('./servers/mcp-redis.js', { ...env, NEAR_CACHE: '1' })
  servers.push(memory, onRedis, nearCache)
  const variants: Array<[string, ServerHandle, string[]]> = []
  variants.push(['memory', memory, await measuredSessions('plugin, memory store', memory, count)])
  const redisIds = await createSessions(onRedis.url, count)
  variants.push(['Redis', onRedis, redisIds], ['Redis + near-cache', nearCache, redisIds])
  for (const [variant, server, ids] of variants) {
    await expectAnswer(server.url, ids[0]!, PING, {})
    await expectAnswer(server.url, ids[ids.length - 1]!, ECHO, ECHOED)
    scenarios.push({ name: `${variant}: ping, ${label} sessions`, server, body: PING, sessionIds: ids, results: [] })
    scenarios.push({ name: `${variant}: tools/call echo, ${label} sessions`, server, body: ECHO, sessionIds: ids, results: [] })
  }
}
// Session creation: every request an initialize (no session header), on its own server.
const initServers: Array<[string, ServerHandle]> = [
  ['memory', await startServer('./servers/mcp.js')],
  ['Redis', await startServer('./servers/mcp-redis.js', { REDIS_URL: redis.url, REDIS_PREFIX: 'benchinit:' })],
  ['official SDK', await startServer('./servers/sdk.js')]
]
for (const [variant, server] of initServers) {
  servers.push(server)
  scenarios.push({ name: `${variant}: initialize`, server, body: INITIALIZE, sessionIds: [], results: [] })
}
const sdk = await startServer('./servers/sdk.js')
servers.push(sdk)
const sdkIds = await measuredSessions('official SDK (McpServer + transport per session)', sdk, 1000)
await expectAnswer(sdk.url, sdkIds[0]!, ECHO, ECHOED)
scenarios.push({ name: 'official SDK: tools/call echo, 1,000 sessions', server: sdk, body: ECHO, sessionIds: sdkIds, results: [] })

// One unrecorded slice each, so every server is warm (JIT) before the first measured round.
for (const s of scenarios) await load({ ...s, durationSec: sliceSec, connections, warmupSec: 0 })
const before = cpuTimes()
for (let round = 0; round < rounds; round++) {
  for (const s of scenarios) s.results.push(await load({ ...s, durationSec: sliceSec, connections, warmupSec: 0 }))
}
const after = cpuTimes()
for (const server of servers) await server.stop()
await redis.close()
const stealPct = after.total > before.total ? (100 * (after.steal - before.steal)) / (after.total - before.total) : 0

const baseline = scenarios[0]!
const rows = scenarios.map((s) => {
  const rpsRatios = s.results.map((r, i) => r.rps / baseline.results[i]!.rps)
  const cpuRatios = s.results.map((r, i) => r.cpuMicrosPerRequest / baseline.results[i]!.cpuMicrosPerRequest)
  return {
    scenario: s.name,
    'req/s': Math.round(median(s.results.map((r) => r.rps))),
    'p50 ms': median(s.results.map((r) => r.p50)),
    'p99 ms': median(s.results.map((r) => r.p99)),
    'CPU µs/req': Number(median(s.results.map((r) => r.cpuMicrosPerRequest)).toFixed(1)),
    'req/s ÷ bare': Number(median(rpsRatios).toFixed(3)),
    'CPU ÷ bare': Number(median(cpuRatios).toFixed(3)),
    'non-2xx': s.results.reduce((sum, r) => sum + r.non2xx + r.errors, 0)
  }
})
console.table(rows)
console.table(idleHeap)
console.log(`CPU steal during the measured rounds: ${stealPct.toFixed(1)}% (time the hypervisor gave to other guests; high values mean noisy numbers)`)

const out = new URL('./results/', import.meta.url.replace('/dist/bench/', '/bench/'))
mkdirSync(out, { recursive: true })
const file = new URL(`session-lookup${quick ? '-quick' : ''}.json`, out)
writeFileSync(file, JSON.stringify({
  date: new Date().toISOString(),
  machine: machine(),
  rounds,
  sliceSec,
  connections,
  stealPct: Number(stealPct.toFixed(1)),
  rows,
  idleHeap,
  raw: scenarios.map((s) => ({ scenario: s.name, rounds: s.results }))
}, null, 2) + '\n')
console.log(`results written to ${file.pathname}`)
if (!quick) {
  writeDocs(file)
  console.log('docs/benchmarks.md and docs/benchmarks.svg regenerated from it')
}
const broken = rows.filter((r) => r['non-2xx'] > 0)
if (broken.length > 0) {
  console.error(`non-2xx answers or errors in: ${broken.map((r) => r.scenario).join(', ')}`)
  process.exitCode = 1
}
