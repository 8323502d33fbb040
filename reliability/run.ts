// npm run reliability: every scenario against the server process, one after the other,
// then docs/reliability.md from the figures. Options (all optional):
//   --only churn,fuzz,slowloris,redis,shutdown,expiry   a subset (the other figures are kept)
//   --cycles 100000      churn cycles on the memory store (and --redis-cycles on Redis)
//   --fuzz 20000 --seed 20  the fuzz's size and seed
//   --label after        results/<label>.json; `before` with MCP_RELIABILITY_DIST naming an
//                        older build's dist/ gives the "before" column; docs are written for `after`
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs'
import os from 'node:os'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import { RedisServer } from '../test/helpers/redis-server.js'
import { churn } from './churn.js'
import { fuzz } from './fuzz-run.js'
import { slowloris } from './slowloris.js'
import { redisFaults } from './redis-faults.js'
import { shutdownUnderLoad } from './shutdown.js'
import { expiry } from './expiry.js'
import { renderReport, type Results } from './report.js'

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    cycles: { type: 'string', default: '100000' },
    'redis-cycles': { type: 'string' },
    fuzz: { type: 'string', default: '20000' },
    seed: { type: 'string', default: '20' },
    label: { type: 'string', default: 'after' },
    'slowloris-sec': { type: 'string', default: '60' },
    'shutdown-limit-sec': { type: 'string', default: '120' },
    'expiry-limit-sec': { type: 'string', default: '60' }
  }
})

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const only = values.only === undefined ? undefined : new Set(values.only.split(','))
const wanted = (name: string) => only === undefined || only.has(name)
const cycles = Number(values.cycles)
const redisCycles = Number(values['redis-cycles'] ?? values.cycles)

const resultsFile = `${ROOT}reliability/results/${values.label}.json`
// A subset updates the figures it ran and keeps the others (each with its own date).
const kept: Partial<Results> = only !== undefined && existsSync(resultsFile) ? JSON.parse(readFileSync(resultsFile, 'utf8')) as Results : {}
const results: Results = {
  ...kept,
  date: new Date().toISOString(),
  label: values.label,
  build: process.env.MCP_RELIABILITY_DIST ?? 'this build',
  machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, load average at start ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`,
  seconds: { ...kept.seconds },
  ranAt: { ...kept.ranAt }
}

async function timed<T> (name: string, run: () => Promise<T>): Promise<T> {
  process.stdout.write(`${name}… `)
  const started = performance.now()
  const result = await run()
  const seconds = Math.round((performance.now() - started) / 1000)
  results.seconds[name] = seconds
  results.ranAt![name] = new Date().toISOString().slice(0, 16).replace('T', ' ')
  process.stdout.write(`${seconds} s\n${JSON.stringify(result)}\n`)
  return result
}

if (wanted('shutdown')) results.shutdown = await timed('shutdown', () => shutdownUnderLoad({ limitSec: Number(values['shutdown-limit-sec']) }))
if (wanted('slowloris')) results.slowloris = await timed('slowloris', () => slowloris({ limitSec: Number(values['slowloris-sec']) }))
if (wanted('redis')) results.redis = await timed('redis', () => redisFaults())
if (wanted('expiry')) results.expiry = await timed('expiry', () => expiry({ limitSec: Number(values['expiry-limit-sec']) }))
if (wanted('fuzz')) results.fuzz = await timed('fuzz', () => fuzz({ count: Number(values.fuzz), seed: Number(values.seed) }))
if (wanted('churn')) {
  results.churnMemory = await timed('churn (memory)', () => churn({ cycles }))
  const redis = await RedisServer.start()
  try {
    results.churnRedis = await timed('churn (redis)', () => churn({ cycles: redisCycles, redis }))
  } finally {
    await redis.close()
  }
}

mkdirSync(`${ROOT}reliability/results`, { recursive: true })
writeFileSync(resultsFile, `${JSON.stringify(results, null, 2)}\n`)
if (values.label === 'after') {
  const beforeFile = `${ROOT}reliability/results/before.json`
  const before = existsSync(beforeFile) ? JSON.parse(readFileSync(beforeFile, 'utf8')) as Results : undefined
  writeFileSync(`${ROOT}docs/reliability.md`, renderReport(results, before))
  process.stdout.write('docs/reliability.md written\n')
}
