// The extra latency of a `tools/list_changed` that crosses instances through Redis. Two
// plugin instances, A and B, on one redis-server started here (same key prefix: a change on
// one is published on Redis and every instance delivers it to its own listen streams), and a
// third instance without Redis (memory store: the change is delivered in-process). Listen
// streams are open on all three. A tool is registered on A, then on the single instance,
// alternately; the delay is measured from the moment this process asks the instance (IPC,
// the same on every path) until the notification arrives on each client's stream:
//
// - single instance, no Redis: registered and heard on the same process;
// - through Redis, same instance: registered on A, heard on A (A publishes, A receives);
// - through Redis, other instance: registered on A, heard on B.
//
// The extra latency (other instance minus single instance) is the difference of their
// percentiles over all samples; samples are taken in rounds, alternating paths, and the same
// difference per round is reported beside it, as its spread.
//
//   node dist/bench/listen-latency.js [--quick] [--samples=1000] [--listeners=4]   (--quick: 200 samples)
import http from 'node:http'
import { mkdirSync, writeFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { machine, startServer, type ServerHandle } from './harness.js'
import { RedisServer } from '../test/helpers/redis-server.js'
import { median } from './targets.js'
import type { ListenLatencyRun } from './modern-report.js'

function option (name: string, fallback: number): number {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`))
  return arg === undefined ? fallback : Number(arg.slice(name.length + 3))
}
const quick = process.argv.includes('--quick')
const SAMPLES = option('samples', quick ? 200 : 1000)
const LISTENERS = option('listeners', 4)
const ROUNDS = quick ? 4 : 10
const MODERN = '2026-07-28'
const HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': MODERN, 'mcp-method': 'subscriptions/listen' }

/** Open one listen stream (toolsListChanged); resolves once it is acknowledged. */
function openListen (url: string, onChange: () => void): Promise<http.ClientRequest> {
  const body = JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'subscriptions/listen',
    params: { notifications: { toolsListChanged: true }, _meta: { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} } }
  })
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: 'POST', agent: false, headers: { ...HEADERS, 'content-length': Buffer.byteLength(body) } }, (response) => {
      if (response.statusCode !== 200) return reject(new Error(`listen answered ${response.statusCode}`))
      response.setEncoding('utf8')
      response.on('data', (text: string) => {
        if (text.includes('notifications/subscriptions/acknowledged')) resolve(request)
        // One chunk may carry several events when the client lags.
        for (let at = text.indexOf('notifications/tools/list_changed'); at >= 0; at = text.indexOf('notifications/tools/list_changed', at + 1)) onChange()
      })
    })
    request.on('error', reject)
    request.end(body)
  })
}

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!
const fixed = (n: number): number => Number(n.toFixed(2))

console.log(`listen latency benchmark: ${SAMPLES} changes per path in ${ROUNDS} rounds, ${LISTENERS} listen streams per instance`)
console.log(machine())
const redis = await RedisServer.start()
const env = { REDIS_URL: redis.url, REDIS_PREFIX: 'benchlisten:' }
const a = await startServer('./servers/mcp-modern.js', env)
const b = await startServer('./servers/mcp-modern.js', env)
const single = await startServer('./servers/mcp-modern.js')
const servers: ServerHandle[] = [a, b, single]

type Path = 'single' | 'sameViaRedis' | 'otherViaRedis'
const PATHS: Array<[Path, string]> = [
  ['single', 'single instance, no Redis'],
  ['sameViaRedis', 'through Redis, same instance (registered on A, heard on A)'],
  ['otherViaRedis', 'through Redis, other instance (registered on A, heard on B)']
]
/** Per path, per round, the delays (ms) of every listener. */
const delays: Record<Path, number[][]> = { single: [], sameViaRedis: [], otherViaRedis: [] }
let startedAt = 0
let round = 0
let pending = 0
let onArrived: (() => void) | undefined
function listener (path: Path): () => void {
  return () => {
    (delays[path][round] ??= []).push(performance.now() - startedAt)
    if (--pending === 0) onArrived?.()
  }
}
const streams: http.ClientRequest[] = []
for (let i = 0; i < LISTENERS; i++) {
  streams.push(await openListen(a.url, listener('sameViaRedis')), await openListen(b.url, listener('otherViaRedis')), await openListen(single.url, listener('single')))
}

/** Ask `server` to register a tool; resolves once every listener expected has heard of it. */
function change (server: ServerHandle, expected: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${pending} of ${expected} notifications missing after 10 s`)), 10_000)
    pending = expected
    onArrived = () => { clearTimeout(timer); resolve() }
    startedAt = performance.now()
    server.child.send({ type: 'broadcast' })
  })
}
const pause = (ms: number): Promise<unknown> => new Promise((resolve) => setTimeout(resolve, ms))

// Warm up both paths (JIT, Redis connections).
for (let i = 0; i < 20; i++) { await change(a, 2 * LISTENERS); await change(single, LISTENERS) }
for (const path of Object.keys(delays) as Path[]) delays[path] = []
const perRound = Math.ceil(SAMPLES / ROUNDS)
for (round = 0; round < ROUNDS; round++) {
  for (let i = 0; i < perRound; i++) {
    await change(a, 2 * LISTENERS)
    await pause(5)
    await change(single, LISTENERS)
    await pause(5)
  }
}
for (const stream of streams) stream.destroy()
for (const server of servers) await server.stop()
await redis.close()

const pooled = (path: Path): number[] => delays[path].flat().sort((x, y) => x - y)
const rows = PATHS.map(([path, label]) => {
  const sorted = pooled(path)
  return { path: label, 'p50 ms': fixed(percentile(sorted, 0.5)), 'p99 ms': fixed(percentile(sorted, 0.99)), 'max ms': fixed(sorted.at(-1)!), 'mean ms': fixed(sorted.reduce((s, x) => s + x, 0) / sorted.length) }
})
const extraRounds = delays.otherViaRedis.map((other, i) => {
  const o = [...other].sort((x, y) => x - y)
  const s = [...delays.single[i]!].sort((x, y) => x - y)
  return { 'p50 ms': fixed(percentile(o, 0.5) - percentile(s, 0.5)), 'p99 ms': fixed(percentile(o, 0.99) - percentile(s, 0.99)) }
})
const run: ListenLatencyRun = {
  date: new Date().toISOString(),
  machine: machine(),
  samples: perRound * ROUNDS,
  listenersPerInstance: LISTENERS,
  rows,
  extra: {
    'p50 ms': fixed(percentile(pooled('otherViaRedis'), 0.5) - percentile(pooled('single'), 0.5)),
    'p99 ms': fixed(percentile(pooled('otherViaRedis'), 0.99) - percentile(pooled('single'), 0.99)),
    roundsMedian: { 'p50 ms': fixed(median(extraRounds.map((r) => r['p50 ms']))), 'p99 ms': fixed(median(extraRounds.map((r) => r['p99 ms']))) },
    rounds: extraRounds
  }
}
console.table(rows)
console.table(extraRounds)
console.log(`extra latency through Redis to another instance: p50 ${run.extra['p50 ms']} ms, p99 ${run.extra['p99 ms']} ms (all samples; median over rounds: ${run.extra.roundsMedian['p50 ms']} / ${run.extra.roundsMedian['p99 ms']} ms)`)
const out = new URL('./results/', import.meta.url.replace('/dist/bench/', '/bench/'))
mkdirSync(out, { recursive: true })
const file = new URL(`listen-latency${quick ? '-quick' : ''}.json`, out)
writeFileSync(file, JSON.stringify(run, null, 2) + '\n')
console.log(`results written to ${file.pathname}`)
