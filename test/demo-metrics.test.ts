// `METRICS=1 npm start`: the demo installs the OpenTelemetry SDK with the Prometheus exporter
// and serves /metrics on its own host and port. Scraped from a running demo process after a
// short session, parsed as the Prometheus text format.
import t from 'tap'
import { openSessionHttp, request, rpc } from './helpers/index.js'
import { startDemo } from './helpers/demo-process.js'

interface Sample { name: string, labels: Record<string, string>, value: number }

/** The Prometheus text exposition format: `# TYPE` lines and samples (HELP, UNIT and other comments skipped). */
function parseExposition (text: string): { types: Map<string, string>, samples: Sample[] } {
  const types = new Map<string, string>()
  const samples: Sample[] = []
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice(7).split(' ')
      types.set(name!, type!)
      continue
    }
    if (line === '' || line.startsWith('#')) continue
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (match === null) throw new Error(`not an exposition line: ${line}`)
    const labels: Record<string, string> = {}
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = pair[2]!.replace(/\\(.)/g, '$1')
    samples.push({ name: match[1]!, labels, value: Number(match[3]) })
  }
  return { types, samples }
}

function sum (samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((total, s) => total + s.value, 0)
}

t.test('METRICS=1: /metrics on the MCP endpoint\'s host and port, in Prometheus names', async (t) => {
  const [demo, plain] = await Promise.all([startDemo({ METRICS: '1' }), startDemo({ METRICS: '' })])
  t.teardown(() => { demo.child.kill('SIGKILL'); plain.child.kill('SIGKILL') })

  const session = await openSessionHttp(demo.url)
  for (const [id, name] of [[1, 'echo'], [2, 'echo'], [3, 'no-such-tool']] as const) {
    const call = await request(demo.url, 'POST', session.headers, rpc(id, 'tools/call', { name, arguments: { text: 'hi' } }))
    await call.waitEnd()
  }
  const deleted = await request(demo.url, 'DELETE', session.headers)
  await deleted.waitEnd()
  t.equal(deleted.status, 204)

  const metricsUrl = new URL('/metrics', demo.url)
  t.equal(metricsUrl.port, demo.url.port, 'the same port as the MCP endpoint')
  const res = await fetch(metricsUrl)
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /^text\/plain/)
  const { types, samples } = parseExposition(await res.text())

  t.equal(types.get('mcp_server_operation_duration_seconds'), 'histogram')
  t.equal(types.get('mcp_server_session_duration_seconds'), 'histogram')
  const echo = { mcp_method_name: 'tools/call', gen_ai_tool_name: 'echo', gen_ai_operation_name: 'execute_tool', mcp_protocol_version: '2025-11-25', network_transport: 'tcp' }
  t.equal(sum(samples, 'mcp_server_operation_duration_seconds_count', echo), 2, 'two echo calls')
  t.equal(sum(samples, 'mcp_server_operation_duration_seconds_bucket', { ...echo, le: '+Inf' }), 2)
  const les = samples.filter((s) => s.name === 'mcp_server_operation_duration_seconds_bucket' && s.labels.gen_ai_tool_name === 'echo').map((s) => s.labels.le)
  t.same(les, ['0.01', '0.02', '0.05', '0.1', '0.2', '0.5', '1', '2', '5', '10', '30', '60', '120', '300', '+Inf'], 'the conventions\' buckets')
  t.equal(sum(samples, 'mcp_server_operation_duration_seconds_count', { mcp_method_name: 'tools/call', error_type: '-32602' }), 1, 'the error')
  t.equal(sum(samples, 'mcp_server_operation_duration_seconds_count', { mcp_method_name: 'initialize' }), 1)
  t.equal(sum(samples, 'mcp_server_session_duration_seconds_count'), 1, 'the deleted session')
  t.equal(types.get('mcp_server_session_started_total'), 'counter')
  t.equal(sum(samples, 'mcp_server_session_started_total'), 1)
  t.equal(sum(samples, 'mcp_server_session_ended_total', { mcp_session_end_reason: 'deleted' }), 1)
  t.equal(sum(samples, 'mcp_server_session_active'), 0)
  t.equal(sum(samples, 'mcp_server_stream_open', { mcp_stream_kind: 'get' }), 0)
  t.ok(samples.every((s) => !Object.values(s.labels).includes(session.id)), 'no session id in any label')

  t.equal((await fetch(new URL('/metrics', plain.url))).status, 404, 'without METRICS=1 there is no /metrics')

  demo.child.kill('SIGTERM')
  t.equal(await demo.exited, 0, 'closes cleanly, the SDK shut down')
})

t.test('the Grafana dashboard queries only metrics the plugin exports, by their Prometheus names', async (t) => {
  const { readFileSync } = await import('node:fs')
  const { METRIC } = await import('../lib/telemetry/names.js')
  const dashboard = JSON.parse(readFileSync(new URL('../docs/grafana-dashboard.json', import.meta.url), 'utf8'))
  const exprs: string[] = dashboard.panels.flatMap((panel: { targets: Array<{ expr: string }> }) => panel.targets.map((target) => target.expr))
  const exported = new Set(Object.values(METRIC).map((name) => name.replaceAll('.', '_')))
  const used = new Set(exprs.flatMap((expr) => [...expr.matchAll(/\bmcp_server_[a-z_]+/g)].map((m) => m[0])))
  t.ok(used.size >= 10, 'most metrics are on the dashboard')
  for (const name of used) {
    const base = name.replace(/_(bucket|count|sum)$/, '').replace(/_(seconds|bytes|total)$/, '')
    t.ok(exported.has(base), `${name} is a metric of the plugin`)
  }
  for (const panel of ['Request rate by method', 'Latency by method (p50 / p95 / p99)', 'Sessions', 'Open streams by kind, listen subscriptions', 'Errors by method and error.type']) {
    t.ok(dashboard.panels.some((p: { title: string }) => p.title === panel), panel)
  }
})
