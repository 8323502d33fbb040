// Heap cost of the MemoryEventStore per 1,000 events, for typical MCP messages, set against
// the store's own approximate byte accounting (`stats.bytes`: data length + 96 per event),
// which is what maxBytes / maxBytesPerStream bound.
//
// For each kind of message: append N events (default 100,000) over 100 streams in 10
// sessions, with bounds high enough that nothing is evicted, collect garbage, and take the
// growth of heapUsed. The same N strings are also measured alone (flat, kept in an array), so
// the store's own overhead per event can be told apart from the data it has to keep anyway.
//
// The data is made as the plugin makes it, with JSON.stringify, whose result V8 returns as a
// tree of string pieces (a cons string); the store flattens what it keeps.
//
//   npx tsx bench/event-store-memory.ts [--events=100000] [--rounds=3]
//
// Needs --expose-gc: without it the script runs itself again with the flag.
import { spawnSync } from 'node:child_process'
import os from 'node:os'
import { MemoryEventStore } from '../lib/index.js'

const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) {
  const child = spawnSync(process.execPath, [...process.execArgv, '--expose-gc', process.argv[1]!, ...process.argv.slice(2)], { stdio: 'inherit' })
  process.exit(child.status ?? 1)
}
const collect = gc as () => void

function option (name: string, fallback: number): number {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`))
  const value = arg === undefined ? fallback : Number(arg.slice(name.length + 3))
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`--${name} must be a positive integer`)
  return value
}

const N = option('events', 100_000)
const ROUNDS = option('rounds', 3)
const SESSIONS = 10
const STREAMS_PER_SESSION = 10
const STREAMS = SESSIONS * STREAMS_PER_SESSION
const OVERHEAD = 96 // the store's per-event estimate (lib/stores/memory-event-store.ts)

interface Kind {
  name: string
  /** The i-th event's data: a fresh string each time, as JSON.stringify makes them. */
  make (i: number): string
}

const text1k = 'lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(18).slice(0, 1000)
const kinds: Kind[] = [
  { name: 'priming event (empty data)', make: () => '' },
  {
    name: 'progress notification',
    make: (i) => JSON.stringify({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: `tok-${i % 1000}`, progress: i, total: N } })
  },
  {
    name: 'log message',
    make: (i) => JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', logger: 'worker', data: { event: 'row-processed', row: i, table: 'orders', elapsedMs: i % 97 } } })
  },
  {
    name: '1 KB tool result',
    make: (i) => JSON.stringify({ jsonrpc: '2.0', id: i, result: { content: [{ type: 'text', text: text1k }] } })
  }
]

function heapUsed (): number {
  for (let i = 0; i < 4; i++) collect()
  return process.memoryUsage().heapUsed
}

function sessionOf (i: number): string {
  return `session-${(i % STREAMS) % SESSIONS}-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx` // 32+ chars, like a real id
}

function streamOf (i: number): string {
  return `p3kT9a${(i % STREAMS).toString(36)}` // prefix + counter, like the plugin's POST stream ids
}

interface Sample { heapPerEvent: number, stringsPerEvent: number, statsPerEvent: number, dataLength: number }

/** A flat copy of a string (one sequential string, no cons tree). */
function flat (data: string): string {
  return Buffer.from(data, 'latin1').toString('latin1')
}

// What is being measured is held here, not in a local: optimised code may drop a local
// that is no longer read before the heap is measured.
const held: { strings?: string[], store?: MemoryEventStore } = {}

function measure (kind: Kind): Sample {
  // Strings alone, in a preallocated array: what keeping the data costs whatever holds it.
  const slots = new Array<string>(N).fill('')
  const before = heapUsed()
  held.strings = slots
  let dataLength = 0
  for (let i = 0; i < N; i++) {
    const data = flat(kind.make(i))
    slots[i] = data
    dataLength += data.length
  }
  const stringsPerEvent = (heapUsed() - before) / N
  held.strings = undefined
  slots.length = 0

  const heapPerEvent = fill(kind)
  return { heapPerEvent, stringsPerEvent, statsPerEvent: dataLength / N + OVERHEAD, dataLength: dataLength / N }
}

/** Heap growth per event of a store holding N events of this kind. */
function fill (kind: Kind): number {
  const base = heapUsed()
  const store = held.store = new MemoryEventStore({ maxEventsPerStream: N, maxBytesPerStream: 2 ** 40, maxBytes: 2 ** 40 })
  let dataLength = 0
  for (let i = 0; i < N; i++) {
    const data = kind.make(i)
    dataLength += data.length
    store.appendNow(sessionOf(i), streamOf(i), data)
  }
  const perEvent = (heapUsed() - base) / N
  const { events, bytes, streams } = store.stats
  if (events !== N || streams !== STREAMS) throw new Error(`expected ${N} events in ${STREAMS} streams, got ${events} in ${streams}`)
  if (bytes !== dataLength + OVERHEAD * N) throw new Error('stats.bytes is not data length + 96 per event')
  held.store = undefined
  return perEvent
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`

console.log(`MemoryEventStore heap cost: ${N.toLocaleString('en')} events over ${STREAMS} streams in ${SESSIONS} sessions, median of ${ROUNDS} rounds`)
console.log(`node ${process.version}, ${os.platform()} ${os.arch()}, ${os.cpus().length} CPUs`)
// One unrecorded round: first-use allocations (code, maps, interned strings) are not the store's.
measure(kinds[1]!)

const rows = kinds.map((kind) => {
  const samples = Array.from({ length: ROUNDS }, () => measure(kind))
  const pick = (f: (s: Sample) => number): number => median(samples.map(f))
  return {
    kind: kind.name,
    dataLength: samples[0]!.dataLength,
    heap: pick((s) => s.heapPerEvent),
    strings: pick((s) => s.stringsPerEvent),
    stats: samples[0]!.statsPerEvent
  }
})

console.log('')
console.log('| message | data (chars) | `stats.bytes` / 1,000 events | heap / 1,000 events | heap ÷ stats | of which the data strings | store overhead / event |')
console.log('|---|---:|---:|---:|---:|---:|---:|')
for (const r of rows) {
  console.log(`| ${r.kind} | ${Math.round(r.dataLength)} | ${kib(r.stats * 1000)} | ${kib(r.heap * 1000)} | ${(r.heap / r.stats).toFixed(2)} | ${kib(r.strings * 1000)} | ${Math.round(r.heap - r.strings)} B |`)
}
console.log('')
console.log(`stats.bytes counts data length + ${OVERHEAD} B per event. "store overhead / event": heap per event less the (flat) data`)
console.log('string alone: the entry object and its slots in the stream and in the global order.')
