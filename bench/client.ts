// Client CPU per `tools/call`: this package's client against the official SDK 1.x client,
// on the same demo server (bench/servers/mcp.ts, in its own process so its CPU is not
// counted). Paired rounds, alternating which client goes first; the figure is the median of
// the per-round ratios. Goal (issue 19): ≤ 1/3 of the SDK client's CPU per call. The SDK
// client prints MaxListenersExceededWarning during the run: its transport adds an abort
// listener per request to one long-lived signal (not this client's doing).
//
// Then the client as the bench's load generator (bench/client-load.ts): the same calls sent
// by 8 of our clients and by autocannon (one pre-opened session, a canned body), with the
// generator's own CPU per call (autocannon's run time is rounded up to its 1 s sampling
// tick, so no calls/s is compared).
//
//   npm run build && node dist/bench/client.js [calls per round, default 2000] [rounds, default 5]
import { fork } from 'node:child_process'
import autocannon from 'autocannon'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { connect } from '../lib/client/index.js'
import { clientLoad, closeAll, openClients } from './client-load.js'

const CALLS = Number(process.argv[2] ?? 2000)
const ROUNDS = Number(process.argv[3] ?? 5)
const CONCURRENCY = 8

function cpuMicros (): number {
  const { user, system } = process.cpuUsage()
  return user + system
}

/** CPU µs per call of `call`, run CALLS times with CONCURRENCY in flight. */
async function measure (call: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 200; i++) await call()
  const start = cpuMicros()
  let next = 0
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => { while (next++ < CALLS) await call() }))
  return (cpuMicros() - start) / CALLS
}

const server = fork(new URL('./servers/mcp.js', import.meta.url), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
const port = await new Promise<number>((resolve) => server.on('message', (m: { type: string, port: number }) => { if (m.type === 'ready') resolve(m.port) }))
const url = new URL(`http://127.0.0.1:${port}/mcp`)

async function ours (mode: 'legacy' | 'auto'): Promise<number> {
  const client = await connect(url, { mode, openStream: false })
  try { return await measure(() => client.callTool('echo', { text: 'hello' })) } finally { await client.close() }
}

async function sdk (): Promise<number> {
  const client = new Client({ name: 'bench', version: '1.0.0' })
  await client.connect(new StreamableHTTPClientTransport(url))
  try { return await measure(() => client.callTool({ name: 'echo', arguments: { text: 'hello' } })) } finally { await client.close() }
}

const rows: Array<{ round: number, sdk: number, legacy: number, modern: number }> = []
for (let round = 0; round < ROUNDS; round++) {
  const row = { round, sdk: 0, legacy: 0, modern: 0 }
  if (round % 2 === 0) { row.sdk = await sdk(); row.legacy = await ours('legacy'); row.modern = await ours('auto') } else { row.modern = await ours('auto'); row.legacy = await ours('legacy'); row.sdk = await sdk() }
  rows.push(row)
  console.log(`round ${round + 1}/${ROUNDS}: SDK ${row.sdk.toFixed(0)} µs, ours 2025 ${row.legacy.toFixed(0)} µs (${(row.legacy / row.sdk).toFixed(2)}×), ours 2026-07-28 ${row.modern.toFixed(0)} µs (${(row.modern / row.sdk).toFixed(2)}×)`)
}
const median = (values: number[]): number => { const s = [...values].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]! }
const legacyRatio = median(rows.map((r) => r.legacy / r.sdk))
const modernRatio = median(rows.map((r) => r.modern / r.sdk))
console.log(`\nclient CPU per tools/call, median of ${ROUNDS} paired rounds of ${CALLS} calls (${CONCURRENCY} in flight):`)
console.log(`  @modelcontextprotocol/sdk 1.32.2 Client: ${median(rows.map((r) => r.sdk)).toFixed(0)} µs`)
console.log(`  fastify-mcp-streamable/client, 2025 session: ${median(rows.map((r) => r.legacy)).toFixed(0)} µs = ${legacyRatio.toFixed(2)}× (goal ≤ 0.33×: ${legacyRatio <= 1 / 3 ? 'met' : 'not met'})`)
console.log(`  fastify-mcp-streamable/client, 2026-07-28: ${median(rows.map((r) => r.modern)).toFixed(0)} µs = ${modernRatio.toFixed(2)}×`)

// The load generator: our clients against autocannon, paired rounds.
const BODY = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { text: 'hello' } } })
async function viaClients (): Promise<{ cpu: number, p50: number, p99: number }> {
  const clients = await openClients(url, CONCURRENCY)
  try {
    await clientLoad(clients, { amount: 200 })
    const start = cpuMicros()
    const result = await clientLoad(clients, { amount: CALLS })
    if (result.errors > 0) throw new Error(`${result.errors} failed calls`)
    return { cpu: (cpuMicros() - start) / result.calls, p50: result.p50, p99: result.p99 }
  } finally { await closeAll(clients) }
}
async function viaAutocannon (): Promise<{ cpu: number }> {
  const session = await connect(url, { mode: 'legacy', openStream: false })
  try {
    const options = { url: url.href, method: 'POST' as const, connections: CONCURRENCY, body: BODY, headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': session.protocolVersion, 'mcp-session-id': session.sessionId! } }
    await autocannon({ ...options, amount: 200 })
    const start = cpuMicros()
    const result = await autocannon({ ...options, amount: CALLS })
    if (result.non2xx + result.errors > 0) throw new Error(`${result.non2xx + result.errors} failed requests`)
    return { cpu: (cpuMicros() - start) / CALLS }
  } finally { await session.close() }
}
const loads: Array<{ ours: { cpu: number, p50: number, p99: number }, cannon: { cpu: number } }> = []
for (let round = 0; round < ROUNDS; round++) {
  const pair = round % 2 === 0 ? { ours: await viaClients(), cannon: await viaAutocannon() } : { cannon: await viaAutocannon(), ours: await viaClients() }
  loads.push(pair)
}
console.log(`\nas the load generator (${CONCURRENCY} clients vs autocannon with ${CONCURRENCY} connections, ${CALLS} tools/call per round; the generator's CPU per call, medians):`)
console.log(`  autocannon 9 (one session, canned body): ${median(loads.map((l) => l.cannon.cpu)).toFixed(0)} µs`)
console.log(`  fastify-mcp-streamable/client (${CONCURRENCY} sessions): ${median(loads.map((l) => l.ours.cpu)).toFixed(0)} µs = ${median(loads.map((l) => l.ours.cpu / l.cannon.cpu)).toFixed(2)}× autocannon (latency p50 ${median(loads.map((l) => l.ours.p50)).toFixed(2)} ms, p99 ${median(loads.map((l) => l.ours.p99)).toFixed(2)} ms)`)
server.send({ type: 'stop' })
