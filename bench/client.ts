// Client CPU per `tools/call`: this package's client against the official SDK 1.x client,
// on the same demo server (bench/servers/mcp.ts, in its own process so its CPU is not
// counted). Paired rounds, alternating which client goes first; the figure is the median of
// the per-round ratios. Goal (issue 19): ≤ 1/3 of the SDK client's CPU per call. The SDK
// client prints MaxListenersExceededWarning during the run: its transport adds an abort
// listener per request to one long-lived signal (not this client's doing).
//
//   npm run build && node dist/bench/client.js [calls per round, default 2000] [rounds, default 5]
import { fork } from 'node:child_process'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { connect } from '../lib/client/index.js'

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
server.send({ type: 'stop' })
