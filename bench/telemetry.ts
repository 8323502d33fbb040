// What the OpenTelemetry instrumentation costs per call, three ways, each in its own process
// (a global SDK is process-wide): `off` (telemetry: false, no instrumentation runs), `api`
// (the default: @opentelemetry/api present, no SDK installed, the goal being within 2% of
// `off`) and `sdk` (the trace and metrics SDKs installed, every span sampled, recorded and
// handed to an exporter, every metric recorded). Each process serves N `tools/call echo`
// through `inject` (half on a 2025 session, half 2026-07-28), so no socket or load generator
// is measured; the request and answer path through Fastify and the plugin is.
//
// Three measures:
// - paired, in one process (the default): three apps side by side, `off`, `api` and `sdk`
//   (its tracer and meter passed in the options, so the global API stays without an SDK for
//   the other two), warmed up, then rounds in which each serves a batch of calls in turn
//   (the order rotating); CPU time per call, and the median over rounds of the same-round
//   ratios to `off`. One process, the same JIT and heap, the batches interleaved: the
//   machine's drift cancels out of the ratios, which are the figures to publish.
// - separate processes (--cpu): each mode in its own process (a global SDK), rounds in turn.
// - instructions (--callgrind; needs valgrind): each mode under callgrind at two call counts
//   after the same warm-up, (Ir(N2) - Ir(N1)) / (N2 - N1); `off` runs twice to show the
//   method's own noise (JIT and GC timing make it large: see docs/observability.md).
//
//   npm run bench:telemetry [-- --cpu | --callgrind] [-- --quick]
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
const MODES = ['off', 'api', 'sdk'] as const
type Mode = typeof MODES[number]
const self = fileURLToPath(import.meta.url)

// ---- child: one mode, N calls -------------------------------------------------------------

async function child (mode: Mode, calls: number, warmup: number): Promise<void> {
  if (mode === 'sdk') await installSdk()
  const call = await caller(mode === 'off' ? { telemetry: false } : {})
  for (let i = 0; i < warmup; i++) await call(i)
  const start = process.cpuUsage()
  for (let i = 0; i < calls; i++) await call(i)
  const used = process.cpuUsage(start)
  process.stdout.write(JSON.stringify({ cpuMicros: used.user + used.system }) + '\n')
}

/** An app with the plugin (these options) and an echo tool; returns one call of it (2025 or 2026-07-28 by parity). */
async function caller (options: import('../lib/index.js').McpPluginOptions): Promise<(i: number) => Promise<void>> {
  const { default: Fastify } = await import('fastify')
  const { default: mcp } = await import('../lib/index.js')
  const { Type } = await import('@sinclair/typebox')
  const app = Fastify()
  await app.register(mcp, options)
  app.mcp.tool({ name: 'echo', description: 'Echo', inputSchema: Type.Object({ text: Type.String() }) }, async ({ text }) => text)
  await app.ready()
  const base = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }
  const init = await app.inject({ method: 'POST', url: '/mcp', headers: base, payload: { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'bench', version: '1' } } } })
  const session = { ...base, 'mcp-session-id': String(init.headers['mcp-session-id']), 'mcp-protocol-version': '2025-11-25' }
  const legacy = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { text: 'hello' } } })
  const modernHeaders = { ...base, 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'echo' }
  const modern = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { text: 'hello' }, _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {}, 'io.modelcontextprotocol/clientInfo': { name: 'bench', version: '1' } } } })
  const call = async (i: number): Promise<void> => {
    const res = i % 2 === 0
      ? await app.inject({ method: 'POST', url: '/mcp', headers: session, payload: legacy })
      : await app.inject({ method: 'POST', url: '/mcp', headers: modernHeaders, payload: modern })
    if (res.statusCode !== 200) throw new Error(`call failed: ${res.statusCode} ${res.payload}`)
  }
  return call
}

/** The three apps in this process; `sdk` gets a tracer and meter of its own SDK providers. */
async function paired (quick: boolean): Promise<void> {
  const { context, propagation } = await import('@opentelemetry/api')
  const { AsyncLocalStorageContextManager } = await import('@opentelemetry/context-async-hooks')
  const { W3CTraceContextPropagator } = await import('@opentelemetry/core')
  const { BasicTracerProvider, SimpleSpanProcessor, AlwaysOnSampler } = await import('@opentelemetry/sdk-trace-base')
  const { MeterProvider, PeriodicExportingMetricReader, InMemoryMetricExporter, AggregationTemporality } = await import('@opentelemetry/sdk-metrics')
  const dropped = { export: (_spans: unknown[], done: (result: { code: number }) => void) => done({ code: 0 }), shutdown: async () => {} }
  const tracer = new BasicTracerProvider({ sampler: new AlwaysOnSampler(), spanProcessors: [new SimpleSpanProcessor(dropped)] }).getTracer('bench')
  const meter = new MeterProvider({ readers: [new PeriodicExportingMetricReader({ exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE), exportIntervalMillis: 3_600_000 })] }).getMeter('bench')
  // What an SDK setup installs globally; the `off` and `api` apps never enter a context.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  propagation.setGlobalPropagator(new W3CTraceContextPropagator())
  const calls: Record<Mode, (i: number) => Promise<void>> = {
    off: await caller({ telemetry: false }),
    api: await caller({}),
    sdk: await caller({ telemetry: { tracer, meter } })
  }
  const collect = (globalThis as { gc?: () => void }).gc
  const batch = quick ? 500 : 2000
  const rounds = quick ? 6 : 30
  for (const mode of MODES) for (let i = 0; i < 4 * batch; i++) await calls[mode](i)
  const perCall: Record<Mode, number[]> = { off: [], api: [], sdk: [] }
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < MODES.length; k++) {
      const mode = MODES[(r + k) % MODES.length]!
      // A batch pays for its own garbage only, not the one before it (run with --expose-gc).
      collect?.()
      const start = process.cpuUsage()
      for (let i = 0; i < batch; i++) await calls[mode](i)
      const used = process.cpuUsage(start)
      perCall[mode].push((used.user + used.system) / batch)
    }
  }
  const ratios = (mode: Mode): number[] => perCall[mode].map((v, i) => v / perCall.off[i]!)
  console.log(`CPU time per call, three apps in one process (${rounds} rounds of ${batch} calls each, order rotating; median of same-round ratios, [quartiles]):`)
  for (const mode of MODES) {
    const sorted = ratios(mode).sort((a, b) => a - b)
    const q = (f: number): number => sorted[Math.floor(f * (sorted.length - 1))]!
    console.log(`  ${mode.padEnd(4)} ${median(perCall[mode]).toFixed(1)} µs   vs off: ${pct(median(ratios(mode)))} [${pct(q(0.25))}, ${pct(q(0.75))}]`)
  }
}

/** The trace and metrics SDKs as an application installs them; spans go to an exporter that drops them. */
async function installSdk (): Promise<void> {
  const { context, metrics, propagation, trace } = await import('@opentelemetry/api')
  const { AsyncLocalStorageContextManager } = await import('@opentelemetry/context-async-hooks')
  const { W3CTraceContextPropagator } = await import('@opentelemetry/core')
  const { BasicTracerProvider, SimpleSpanProcessor, AlwaysOnSampler } = await import('@opentelemetry/sdk-trace-base')
  const { MeterProvider, PeriodicExportingMetricReader, InMemoryMetricExporter, AggregationTemporality } = await import('@opentelemetry/sdk-metrics')
  const dropped = { export: (_spans: unknown[], done: (result: { code: number }) => void) => done({ code: 0 }), shutdown: async () => {} }
  trace.setGlobalTracerProvider(new BasicTracerProvider({ sampler: new AlwaysOnSampler(), spanProcessors: [new SimpleSpanProcessor(dropped)] }))
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  propagation.setGlobalPropagator(new W3CTraceContextPropagator())
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [new PeriodicExportingMetricReader({ exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE), exportIntervalMillis: 3_600_000 })] }))
}

// ---- parent --------------------------------------------------------------------------------

async function instructions (mode: Mode, calls: number, warmup: number): Promise<number> {
  // --predictable: V8 compiles, collects and seeds its random numbers on the main thread, in
  // the same order every run, so two runs of the same mode count (nearly) the same.
  const { stderr } = await run('valgrind', ['--tool=callgrind', '--callgrind-out-file=/dev/null', process.execPath, '--predictable', '--random-seed=1', self, '--child', mode, String(calls), String(warmup)], { maxBuffer: 64 * 1024 * 1024 })
  const match = /Collected : (\d+)/.exec(stderr)
  if (match === null) throw new Error(`no callgrind total for ${mode}: ${stderr.slice(-500)}`)
  return Number(match[1])
}

async function cpuPerCall (mode: Mode, calls: number): Promise<number> {
  const { stdout } = await run(process.execPath, [self, '--child', mode, String(calls), String(calls)])
  return JSON.parse(stdout.trim().split('\n').at(-1)!).cpuMicros / calls
}

function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

const pct = (ratio: number): string => `${ratio >= 1 ? '+' : ''}${((ratio - 1) * 100).toFixed(2)}%`

async function main (): Promise<void> {
  const args = process.argv.slice(2)
  if (args[0] === '--child') return child(args[1] as Mode, Number(args[2]), Number(args[3]))
  const quick = args.includes('--quick')
  if (!args.includes('--cpu') && !args.includes('--callgrind')) return paired(quick)
  if (args.includes('--cpu')) {
    const calls = quick ? 2000 : 10_000
    const rounds = quick ? 3 : 9
    const perCall: Record<Mode, number[]> = { off: [], api: [], sdk: [] }
    for (let r = 0; r < rounds; r++) for (const mode of MODES) perCall[mode].push(await cpuPerCall(mode, calls))
    const ratio = (mode: Mode): number => median(perCall[mode].map((v, i) => v / perCall.off[i]!))
    console.log(`CPU time per call (median of ${rounds} rounds, ${calls} calls each after ${calls} warm-up; a shared machine's noise is in it):`)
    for (const mode of MODES) console.log(`  ${mode.padEnd(4)} ${median(perCall[mode]).toFixed(1)} µs   vs off: ${pct(ratio(mode))}`)
    return
  }
  const [n1, n2, warmup] = quick ? [200, 1000, 500] : [500, 2500, 1500]
  console.log(`Instructions per call under callgrind ((Ir(${n2}) - Ir(${n1})) / ${n2 - n1}, after ${warmup} warm-up calls):`)
  const runs: Array<[string, Mode]> = [['off', 'off'], ['api', 'api'], ['sdk', 'sdk'], ['off (again)', 'off']]
  const per: number[] = []
  for (const [, mode] of runs) {
    const a = await instructions(mode, n1, warmup)
    const b = await instructions(mode, n2, warmup)
    per.push((b - a) / (n2 - n1))
  }
  runs.forEach(([label], i) => console.log(`  ${label.padEnd(11)} ${Math.round(per[i]!).toLocaleString('en')} Ir   vs off: ${pct(per[i]! / per[0]!)}`))
}

await main()
