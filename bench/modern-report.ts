// The 2026-07-28 benchmarks' results files, their targets, and their generated page
// (docs/benchmarks-modern.md). Kept apart from targets.ts and docs.ts, which only call in.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import type { LoadResult } from './harness.js'
import type { PairedScenarios, RawScenario, TargetRow } from './targets.js'

/** The 2026-07-28 benchmark scripts, in the order `npm run bench` and `npm run bench:modern` run them. */
export const MODERN_SCRIPTS = ['modern.js', 'listen-streams.js', 'listen-latency.js']

export const MODERN_ECHO = 'plugin, 2026-07-28: tools/call echo (stateless)'
export const SDK_V2_ECHO = 'official v2 server (createMcpHandler, JSON): tools/call echo'
export const SESSION_ECHO = 'plugin, 2025 session: tools/call echo, 1,000 sessions'
export const BARE_MODERN_BODY = 'bare route, given the modern echo request'

/** One ratio over rounds: each round's value, and their median, range and quartiles. */
export interface ModernRatio {
  what: string
  median: number
  min: number
  max: number
  p25: number
  p75: number
  values: number[]
}

/** A markdown table of `rows`, first column left-aligned (as docs.ts writes them). */
function table (columns: string[], rows: ReadonlyArray<object>): string {
  const lines = [`| ${columns.join(' | ')} |`, `|${columns.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`]
  for (const row of rows) lines.push(`| ${columns.map((c) => String((row as Record<string, unknown>)[c] ?? '')).join(' | ')} |`)
  return lines.join('\n')
}

const round3 = (n: number): number => Number(n.toFixed(3))

/** Median, range and quartiles of one ratio's per-round values. */
export function spread (values: number[]): Omit<ModernRatio, 'what'> {
  const sorted = [...values].sort((a, b) => a - b)
  const at = (p: number): number => {
    const x = p * (sorted.length - 1)
    const lo = Math.floor(x)
    return sorted[lo]! + (sorted[Math.min(lo + 1, sorted.length - 1)]! - sorted[lo]!) * (x - lo)
  }
  return { median: round3(at(0.5)), min: round3(sorted[0]!), max: round3(sorted.at(-1)!), p25: round3(at(0.25)), p75: round3(at(0.75)), values: values.map(round3) }
}

/** A results file of bench/modern.ts. */
export interface ModernRun {
  date: string
  machine: Record<string, unknown>
  rounds: number
  sliceSec: number
  connections: number
  pairedSliceSec: number
  pairedConnections: number
  stealPct: number
  rows: Array<Record<string, string | number>>
  ratios: ModernRatio[]
  paired: PairedScenarios[]
  raw: RawScenario[]
}

/** A results file of bench/listen-streams.ts. */
export interface ListenStreamsRun {
  date: string
  machine: Record<string, unknown>
  streams: number
  memory: Array<{ server: string, streams: number, rssMiB: number, heapMiB: number, heapPerStreamBytes: number, rssPerStreamBytes: number, openSec: number }>
  fanout: Array<{ server: string, fanout: number, 'p50 ms': number, 'p99 ms': number, 'max ms': number }>
}

/** A results file of bench/listen-latency.ts. */
export interface ListenLatencyRun {
  date: string
  machine: Record<string, unknown>
  samples: number
  listenersPerInstance: number
  rows: Array<{ path: string, 'p50 ms': number, 'p99 ms': number, 'max ms': number, 'mean ms': number }>
  /** Through Redis to another instance, minus a single instance without Redis: over all samples, and per round. */
  extra: { 'p50 ms': number, 'p99 ms': number, roundsMedian: { 'p50 ms': number, 'p99 ms': number }, rounds: Array<{ 'p50 ms': number, 'p99 ms': number }> }
}

export type { LoadResult }

const results = new URL('../bench/results/', import.meta.url.replace('/dist/bench/', '/bench/'))

function read<T> (name: string): T | undefined {
  const file = new URL(name, results)
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) as T : undefined
}

/** This suffix's (`''` or `-quick`) results files, those that exist. */
export function readModernRuns (suffix: string): { run?: ModernRun, streams?: ListenStreamsRun, latency?: ListenLatencyRun } {
  return { run: read<ModernRun>(`modern${suffix}.json`), streams: read<ListenStreamsRun>(`listen-streams${suffix}.json`), latency: read<ListenLatencyRun>(`listen-latency${suffix}.json`) }
}

const ratioOf = (run: ModernRun, what: string): ModernRatio => {
  const found = run.ratios.find((r) => r.what === what)
  if (found === undefined) throw new Error(`no ratio "${what}" in the modern results`)
  return found
}
const range = (r: ModernRatio): string => `${r.min.toFixed(2)}–${r.max.toFixed(2)}`

/** The issue's goals for 2026-07-28 requests, against one modern.ts run. */
export function modernTargets (run: ModernRun | undefined): TargetRow[] {
  if (run === undefined) return []
  const rows: TargetRow[] = []
  const add = (target: string, goal: string, reached: string, met: boolean): void => { rows.push({ target, goal, reached, met: met ? 'yes' : 'NO' }) }
  const rps = ratioOf(run, `${MODERN_ECHO} ÷ bare route, req/s (interleaved)`)
  const rpsPaired = ratioOf(run, `${MODERN_ECHO} ÷ bare route, req/s (paired)`)
  add('2026-07-28 tools/call echo req/s ÷ bare route', '≥ 0.9×', `${rps.median.toFixed(2)}× (rounds ${range(rps)}); paired ${rpsPaired.median.toFixed(2)}×`, rps.median >= 0.9)
  const cpu = ratioOf(run, `${MODERN_ECHO} ÷ bare route, CPU µs/req (paired)`)
  const cpuApart = ratioOf(run, `${MODERN_ECHO} ÷ bare route, CPU µs/req (interleaved)`)
  add('2026-07-28 tools/call echo CPU per call ÷ bare route\'s', '≤ 1.1×', `${cpu.median.toFixed(2)}× paired (rounds ${range(cpu)}); interleaved ${cpuApart.median.toFixed(2)}×`, cpu.median <= 1.1)
  const sdk = ratioOf(run, `${MODERN_ECHO} ÷ ${SDK_V2_ECHO}, req/s`)
  const sdkCpu = ratioOf(run, `${SDK_V2_ECHO} ÷ ${MODERN_ECHO}, CPU µs/req`)
  add('plugin ÷ official v2 server (2026-07-28 tools/call echo, req/s)', '≥ 15×', `${sdk.median.toFixed(1)}× (rounds ${sdk.min.toFixed(1)}–${sdk.max.toFixed(1)}; CPU per call ${sdkCpu.median.toFixed(1)}× lower)`, sdk.median >= 15)
  return rows
}

const COLUMNS = ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', 'req/s ÷ bare', 'CPU ÷ bare', 'steal %']

/** Write docs/benchmarks-modern.md from the full run's files (skipped when modern.json is missing). */
export function writeModernDocs (): boolean {
  const { run, streams, latency } = readModernRuns('')
  if (run === undefined) return false
  const m = run.machine
  const parts = [
    '# Benchmarks: 2026-07-28 requests',
    '',
    '<!-- Generated by bench/modern-report.ts from bench/results/modern.json, listen-streams.json and listen-latency.json (npm run bench:modern): do not edit by hand. -->',
    '',
    `Full run of ${run.date.slice(0, 16).replace('T', ' ')} UTC (\`npm run bench:modern\`) on ${String(m.cpus)}, ${String(m.memoryGiB)} GiB, Node ${String(m.node)}, load average ${String(m.loadavg)} at the start; ` +
      `${run.rounds} rounds × ${run.sliceSec} s per scenario, ${run.connections} connections; CPU steal during the rounds ${run.stealPct}%. ` +
      'The machine (2 vCPUs) is shared with other agents running test suites: absolute req/s and µs move from one second to the next, so only same-round ratios are used, and every ratio is given with its spread over rounds.',
    '',
    '## Targets',
    '',
    table(['target', 'goal', 'reached', 'met'], modernTargets(run)),
    '',
    '## Stateless `tools/call echo`',
    '',
    'Each round runs one block, between two slices of the bare route: the plugin answering a 2026-07-28 `tools/call echo` (the envelope in `params._meta`; the MCP-Protocol-Version, Mcp-Method and Mcp-Name headers), the official v2 server (`@modelcontextprotocol/server` 2.4.0, `createMcpHandler` with `responseMode: \'json\'` mounted in Fastify through `@modelcontextprotocol/node`\'s `toNodeHandler`, the same `echo` tool), the plugin\'s 2025 session path (`tools/call echo`, 1,000 sessions on the memory store) and the bare route given the very same modern echo request. ' +
      'The bare route is the one of [benchmarks.md](benchmarks.md): a Fastify POST route that parses a `ping` and answers a fixed result. Ratios to it are taken against the mean of the two bare slices around the block, in the same round; the scenarios of the block are compared with each other directly. ' +
      'The table gives medians over rounds.',
    '',
    table(COLUMNS, run.rows),
    '',
    `Paired slices load two servers at the same moment (${run.pairedConnections} connections each, ${run.pairedSliceSec} s), so the machine's drift hits both alike: the CPU-per-call targets are judged on them. Every ratio, with its spread over the ${run.rounds} rounds:`,
    '',
    table(['ratio', 'median', 'min–max', 'p25–p75'], run.ratios.map((r) => ({ ratio: r.what, median: r.median.toFixed(3), 'min–max': `${r.min.toFixed(3)}–${r.max.toFixed(3)}`, 'p25–p75': `${r.p25.toFixed(3)}–${r.p75.toFixed(3)}` })))
  ]
  if (streams !== undefined) {
    parts.push('', '## Listen streams', '',
      `Run of ${streams.date.slice(0, 16).replace('T', ' ')} UTC. ${streams.streams.toLocaleString('en')} \`subscriptions/listen\` streams (\`toolsListChanged\`) held by one process, each opened by its own POST and counted once its acknowledgement arrived; RSS and heap (after GC) with them open, and the growth per stream over the idle server:`,
      '',
      table(['server', 'streams', 'rssMiB', 'heapMiB', 'heapPerStreamBytes', 'rssPerStreamBytes', 'openSec'], streams.memory),
      '',
      'A `tools/list_changed` fanned out to all of them, from the moment the server is asked until each client has it:',
      '',
      table(['server', 'fanout', 'p50 ms', 'p99 ms', 'max ms'], streams.fanout))
  }
  if (latency !== undefined) {
    parts.push('', '## `tools/list_changed` through Redis', '',
      `Run of ${latency.date.slice(0, 16).replace('T', ' ')} UTC. Two plugin instances (A and B) on one redis-server started by the benchmark, and a third without Redis; ${latency.listenersPerInstance} listen stream(s) on each. A tool is registered on A (or on the single instance), alternately, ${latency.samples} times each; the delay is measured from the moment the benchmark asks the instance (IPC, the same for all paths) until the notification arrives on the client's stream.`,
      '',
      table(['path', 'p50 ms', 'p99 ms', 'max ms', 'mean ms'], latency.rows),
      '',
      `Extra latency of the cross-instance path over the single instance without Redis: p50 ${latency.extra['p50 ms']} ms, p99 ${latency.extra['p99 ms']} ms (percentiles over all samples; the same difference round by round, p50/p99: ${latency.extra.rounds.map((r) => `${r['p50 ms']}/${r['p99 ms']}`).join(', ')} ms, median ${latency.extra.roundsMedian['p50 ms']}/${latency.extra.roundsMedian['p99 ms']} ms).`)
  }
  const docs = new URL('../../docs/', results)
  mkdirSync(docs, { recursive: true })
  writeFileSync(new URL('benchmarks-modern.md', docs), parts.join('\n') + '\n')
  return true
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(writeModernDocs() ? 'wrote docs/benchmarks-modern.md' : 'no bench/results/modern.json: nothing written')
}
