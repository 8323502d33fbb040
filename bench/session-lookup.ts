// Session lookup throughput: the plugin with 1,000 and 10,000 live sessions, POSTing `ping`
// and `tools/call echo` with a different Mcp-Session-Id on every request, side by side in
// the same run with a bare Fastify route (the ceiling). Each server runs in its own process.
//
//   npm run bench              full run (10 s per scenario)
//   npm run bench -- --quick   short run (3 s per scenario)
import { mkdirSync, writeFileSync } from 'node:fs'
import { createSessions, load, machine, startServer, type LoadResult, JSON_HEADERS } from './harness.js'

const quick = process.argv.includes('--quick')
const durationSec = quick ? 3 : 10
const warmupSec = quick ? 1 : 3
const connections = 32
const sessionCounts = [1_000, 10_000]

const PING = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' })
const ECHO = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { text: 'hello' } } })

async function expectAnswer (url: string, sessionId: string, body: string, expected: unknown): Promise<void> {
  const res = await fetch(url, { method: 'POST', headers: { ...JSON_HEADERS, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' }, body })
  const json = await res.json() as { result?: unknown }
  if (res.status !== 200 || JSON.stringify(json.result) !== JSON.stringify(expected)) {
    throw new Error(`unexpected answer ${res.status} ${JSON.stringify(json)}`)
  }
}

const results: LoadResult[] = []
const fakeIds = Array.from({ length: 1000 }, (_, i) => `bench-session-${i.toString().padStart(8, '0')}-xxxxxxxxxxxx`)

async function runBare (label: string): Promise<void> {
  const bare = await startServer('./servers/bare.js')
  results.push(await load({ name: label, server: bare, body: PING, sessionIds: fakeIds, durationSec, connections, warmupSec }))
  await bare.stop()
}

console.log(`session lookup benchmark (${quick ? 'quick' : 'full'}: ${durationSec} s per scenario, ${connections} connections)`)
console.log(machine())

await runBare('bare route (before)')
for (const count of sessionCounts) {
  const server = await startServer('./servers/mcp.js')
  const ids = await createSessions(server.url, count)
  await expectAnswer(server.url, ids[0]!, PING, {})
  await expectAnswer(server.url, ids[ids.length - 1]!, ECHO, { content: [{ type: 'text', text: 'hello' }] })
  results.push(await load({ name: `ping, ${count.toLocaleString('en')} sessions`, server, body: PING, sessionIds: ids, durationSec, connections, warmupSec }))
  results.push(await load({ name: `tools/call echo, ${count.toLocaleString('en')} sessions`, server, body: ECHO, sessionIds: ids, durationSec, connections, warmupSec }))
  await server.stop()
}
await runBare('bare route (after)')

const bares = results.filter((r) => r.name.startsWith('bare'))
const bareRps = bares.reduce((sum, r) => sum + r.rps, 0) / bares.length
const bareCpu = bares.reduce((sum, r) => sum + r.cpuMicrosPerRequest, 0) / bares.length

const rows = results.map((r) => ({
  scenario: r.name,
  'req/s': Math.round(r.rps),
  'p50 ms': r.p50,
  'p99 ms': r.p99,
  'CPU µs/req': Number(r.cpuMicrosPerRequest.toFixed(1)),
  'req/s ÷ bare': Number((r.rps / bareRps).toFixed(3)),
  'CPU ÷ bare': Number((r.cpuMicrosPerRequest / bareCpu).toFixed(3)),
  'non-2xx': r.non2xx + r.errors
}))
console.table(rows)

const broken = results.filter((r) => r.non2xx + r.errors > 0)
const out = new URL('./results/', import.meta.url.replace('/dist/bench/', '/bench/'))
mkdirSync(out, { recursive: true })
const file = new URL(`session-lookup${quick ? '-quick' : ''}.json`, out)
writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), machine: machine(), durationSec, connections, bareRps, bareCpuMicros: bareCpu, rows }, null, 2) + '\n')
console.log(`results written to ${file.pathname}`)
if (broken.length > 0) {
  console.error(`non-2xx answers or errors in: ${broken.map((r) => r.name).join(', ')}`)
  process.exitCode = 1
}
