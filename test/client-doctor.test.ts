// The doctor against the demo (all ✔), small deliberately broken servers (each gets exactly
// its ✘: a proxy in front of the demo changes one behaviour) and the official SDK servers.
import http from 'node:http'
import t from 'tap'
import { runDoctor, formatReport, entropyBits, type DoctorReport } from '../lib/client/index.js'
import { serve } from './helpers/index.js'
import { nodeServer, readBody, sdkV1, sdkV2 } from './helpers/foreign.js'

interface Twist {
  /** Rewrite the request headers before they reach the demo. */
  request?: (headers: http.IncomingHttpHeaders) => void
  /** Rewrite the status and headers of the demo's answer. */
  response?: (status: number, headers: http.IncomingHttpHeaders) => number
}

/** The demo behind a proxy that changes one behaviour. */
async function brokenDemo (t: Parameters<typeof serve>[0], twist: Twist): Promise<URL> {
  const { url: demo } = await serve(t, { demo: true })
  return nodeServer(t, async (req, res) => {
    const body = await readBody(req)
    const headers = { ...req.headers, host: demo.host }
    twist.request?.(headers)
    const upstream = http.request(demo, { method: req.method, headers, agent: false }, (answer) => {
      const out = { ...answer.headers }
      const status = twist.response?.(answer.statusCode!, out) ?? answer.statusCode!
      res.writeHead(status, out)
      res.flushHeaders()
      answer.pipe(res)
    })
    upstream.on('error', () => res.destroy())
    res.on('close', () => upstream.destroy())
    upstream.end(body === '' ? undefined : body)
  })
}

function failures (report: DoctorReport): string[] {
  return report.checks.filter((c) => c.status === 'fail').map((c) => c.id)
}

t.test('the demo: all ✔', async (t) => {
  const { url } = await serve(t, { demo: true })
  const progress: string[] = []
  const report = await runDoctor(url, { onProgress: (title, check) => { if (check === undefined) progress.push(title) } })
  t.same(failures(report), [], formatReport(report))
  t.ok(report.ok)
  t.ok(report.sessions)
  t.equal(report.checks.filter((c) => c.status === 'skip').length, 0, 'nothing skipped')
  t.equal(progress.length, report.checks.length, 'a progress line per check')
  t.match(formatReport(report), /No problem found/)
})

t.test('400 for an unknown id: exactly that ✘, and why', async (t) => {
  const url = await brokenDemo(t, { response: (status) => status === 404 ? 400 : status })
  const report = await runDoctor(url)
  t.same(failures(report), ['unknown-id'], formatReport(report))
  t.match(report.checks.find((c) => c.id === 'unknown-id'), { detail: /strands them/, fix: /404/ })
  t.notOk(report.ok)
})

t.test('X-Session-ID instead of Mcp-Session-Id: exactly that ✘', async (t) => {
  const url = await brokenDemo(t, {
    request: (headers) => { if (headers['x-session-id'] !== undefined) { headers['mcp-session-id'] = headers['x-session-id']; delete headers['x-session-id'] } },
    response: (status, headers) => { if (headers['mcp-session-id'] !== undefined) { headers['x-session-id'] = headers['mcp-session-id']; delete headers['mcp-session-id'] } return status }
  })
  const report = await runDoctor(url)
  t.same(failures(report), ['session-id'], formatReport(report))
  t.match(report.checks.find((c) => c.id === 'session-id'), { detail: /x-session-id/i, fix: /Mcp-Session-Id/ })
})

t.test('no Origin check: exactly that ✘', async (t) => {
  const url = await brokenDemo(t, { request: (headers) => { delete headers.origin } })
  const report = await runDoctor(url)
  t.same(failures(report), ['origin'], formatReport(report))
  t.match(report.checks.find((c) => c.id === 'origin'), { detail: /DNS rebinding/ })
})

t.test('session ids with spaces: exactly that ✘', async (t) => {
  const url = await brokenDemo(t, {
    request: (headers) => { if (typeof headers['mcp-session-id'] === 'string') headers['mcp-session-id'] = headers['mcp-session-id'].replace(/^session /, '') },
    response: (status, headers) => { if (headers['mcp-session-id'] !== undefined) headers['mcp-session-id'] = `session ${String(headers['mcp-session-id'])}`; return status }
  })
  const report = await runDoctor(url)
  t.same(failures(report), ['session-id-ascii'], formatReport(report))
})

t.test('entropy estimates', async (t) => {
  t.equal(entropyBits('123e4567-e89b-42d3-a456-426614174000'), 122, 'a UUIDv4')
  t.ok(entropyBits('jQuZvso0Swr7nxAKLEfzAflrguw8l9UW') > 128)
  t.ok(entropyBits('1234') < 20)
})

t.test('SDK v1 stateful: sessions, no Origin check', async (t) => {
  const url = await sdkV1(t, true)
  const report = await runDoctor(url)
  t.comment(formatReport(report))
  t.ok(report.sessions)
  t.same(failures(report), ['origin'])
})

t.test('SDK v1 stateless: reported as stateless, not as errors', async (t) => {
  const url = await sdkV1(t, false)
  const report = await runDoctor(url)
  t.comment(formatReport(report))
  t.notOk(report.sessions)
  t.match(report.checks.find((c) => c.id === 'session-id'), { status: 'skip', detail: /stateless/ })
  t.same(failures(report), ['origin'])
})

t.test('SDK v2 createMcpHandler: stateless, serves 2026-07-28', async (t) => {
  const url = await sdkV2(t)
  const report = await runDoctor(url)
  t.comment(formatReport(report))
  t.notOk(report.sessions)
  t.match(report.checks.find((c) => c.id === 'discover'), { status: 'pass', detail: /2026-07-28/ })
  t.same(failures(report), ['origin'])
})
