// The doctor against the demo (all ✔), small deliberately broken servers (each gets exactly
// its ✘: a proxy in front of the demo changes one behaviour) and the official SDK servers.
import http from 'node:http'
import t, { type Test } from 'tap'
import { runDoctor, formatReport, entropyBits, type DoctorReport } from '../lib/client/index.js'
import { serve } from './helpers/index.js'
import { nodeServer, readBody, sdkV1, sdkV2 } from './helpers/foreign.js'

interface Twist {
  /** Rewrite the request headers before they reach the demo (`rawNames`: the names as the client spelled them). */
  request?: (headers: http.IncomingHttpHeaders, rawNames: string[]) => void
  /** Rewrite the status and headers of the demo's answer. */
  response?: (status: number, headers: http.IncomingHttpHeaders) => number
}

/** The demo behind a proxy that changes one behaviour. */
async function brokenDemo (t: Test, twist: Twist): Promise<URL> {
  const { url: demo } = await serve(t, { demo: true })
  return nodeServer(t, async (req, res) => {
    const body = await readBody(req)
    const headers = { ...req.headers, host: demo.host }
    twist.request?.(headers, req.rawHeaders.filter((_, i) => i % 2 === 0))
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

t.test('a missing MCP-Protocol-Version refused: exactly that ✘', async (t) => {
  const url = await brokenDemo(t, { request: (headers) => { if (headers['mcp-session-id'] !== undefined && headers['mcp-protocol-version'] === undefined) headers['mcp-protocol-version'] = 'required' } })
  const report = await runDoctor(url)
  t.same(failures(report), ['protocol-version-missing'], formatReport(report))
  t.match(report.checks.find((c) => c.id === 'protocol-version-missing'), { detail: /HTTP 400: 2025-03-26 clients/, fix: /assume 2025-03-26/ })
  t.match(formatReport(report), /✘ no MCP-Protocol-Version → 2025-03-26 assumed +HTTP 400.*\n +fix: When MCP-Protocol-Version is absent/)
})

t.test('an unsupported MCP-Protocol-Version served: exactly that ✘', async (t) => {
  const known = ['2025-11-25', '2025-06-18', '2025-03-26', '2026-07-28']
  const url = await brokenDemo(t, { request: (headers) => { if (typeof headers['mcp-protocol-version'] === 'string' && !known.includes(headers['mcp-protocol-version'])) delete headers['mcp-protocol-version'] } })
  const report = await runDoctor(url)
  t.same(failures(report), ['protocol-version'], formatReport(report))
  t.match(formatReport(report), /✘ an unsupported MCP-Protocol-Version → 400 +HTTP 200\n +fix: Answer 400/)
})

t.test('a 2026-07-28 header served on a 2025 session: exactly that ✘', async (t) => {
  const url = await brokenDemo(t, { request: (headers) => { if (headers['mcp-session-id'] !== undefined && headers['mcp-protocol-version'] === '2026-07-28') headers['mcp-protocol-version'] = '2025-11-25' } })
  const report = await runDoctor(url)
  t.same(failures(report), ['protocol-version-modern'], formatReport(report))
  t.match(formatReport(report), /✘ a 2026-07-28 header on a 2025 session → 400 +HTTP 200: the session request was served under a revision it did not negotiate\n +fix: Check MCP-Protocol-Version/)
})

t.test('the session header read in one spelling only: exactly that ✘', async (t) => {
  const url = await brokenDemo(t, { request: (headers, rawNames) => { if (rawNames.some((name) => /^mcp-session-id$/i.test(name) && name !== 'Mcp-Session-Id')) delete headers['mcp-session-id'] } })
  const report = await runDoctor(url)
  t.same(failures(report), ['header-case'], formatReport(report))
  t.match(report.checks.find((c) => c.id === 'header-case'), { detail: 'HTTP 400 to "MCP-SESSION-ID"', fix: /case-insensitively/ })
})

t.test('the demo answering POSTs as SSE: a POST stream resumed gets back only its missed answer', async (t) => {
  const { url } = await serve(t, { demo: true, options: { responseMode: 'sse' } })
  const report = await runDoctor(url)
  t.same(failures(report), [], formatReport(report))
  t.match(report.checks.find((c) => c.id === 'resume'), { status: 'pass', detail: /the GET stream's own id resumes; .*a POST stream resumed gets back only its missed answer, nothing of the other streams/ })
})

/**
 * In front of the demo (POSTs answered as SSE): every event of a session is logged in the
 * order it left, and a GET with a logged Last-Event-ID (of a GET stream only, with `getOnly`)
 * gets all later ones, of any stream.
 */
async function replayingAcrossStreams (t: Test, getOnly: boolean): Promise<URL> {
  const { url: demo } = await serve(t, { demo: true, options: { responseMode: 'sse' } })
  const logs = new Map<string, Array<{ id: string, text: string, get: boolean }>>()
  return nodeServer(t, async (req, res) => {
    const body = await readBody(req)
    const session = req.headers['mcp-session-id'] as string | undefined
    const log = session === undefined ? undefined : logs.get(session)
    const lastEventId = req.headers['last-event-id'] as string | undefined
    const at = lastEventId === undefined || log === undefined ? -1 : log.findIndex((e) => e.id === lastEventId)
    if (req.method === 'GET' && at >= 0 && (!getOnly || log![at]!.get)) {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.end(log!.slice(at + 1).map((e) => e.text).join(''))
      return
    }
    const upstream = http.request(demo, { method: req.method, headers: { ...req.headers, host: demo.host }, agent: false }, (answer) => {
      const id = (answer.headers['mcp-session-id'] as string | undefined) ?? session
      if (id !== undefined && !logs.has(id)) logs.set(id, [])
      res.writeHead(answer.statusCode!, answer.headers)
      res.flushHeaders()
      let pending = ''
      answer.setEncoding('utf8')
      answer.on('data', (chunk: string) => {
        pending += chunk
        for (let end = pending.indexOf('\n\n'); end >= 0; end = pending.indexOf('\n\n')) {
          const text = pending.slice(0, end + 2)
          pending = pending.slice(end + 2)
          const eventId = /^id: ?(.*)$/m.exec(text)?.[1]
          if (eventId !== undefined && id !== undefined) logs.get(id)!.push({ id: eventId, text, get: req.method === 'GET' })
        }
        res.write(chunk)
      })
      answer.on('end', () => res.end())
    })
    upstream.on('error', () => res.destroy())
    res.on('close', () => upstream.destroy())
    upstream.end(body === '' ? undefined : body)
  })
}

t.test('a server replaying every stream of the session after a Last-Event-ID: exactly that ✘', async (t) => {
  const report = await runDoctor(await replayingAcrossStreams(t, false))
  t.same(failures(report), ['resume'], formatReport(report))
  t.match(formatReport(report), /✘ Last-Event-ID replays only the missed events of that stream +resuming one POST stream also replayed the answer sent on another\n +fix: Replay only events of the stream that issued the Last-Event-ID/)
})

t.test('a server replaying POST streams after the GET stream\'s Last-Event-ID: exactly that ✘', async (t) => {
  const report = await runDoctor(await replayingAcrossStreams(t, true))
  t.same(failures(report), ['resume'], formatReport(report))
  t.match(report.checks.find((c) => c.id === 'resume'), { detail: 'resuming the GET stream replayed answers sent on POST streams', fix: /never those of the session's other streams/ })
})

t.test('a server slow to replay (1 s under load): the doctor waits for the missed answer, still ✔', async (t) => {
  const { url: demo } = await serve(t, { demo: true, options: { responseMode: 'sse' } })
  const slow = await nodeServer(t, async (req, res) => {
    const body = await readBody(req)
    const replay = req.method === 'GET' && req.headers['last-event-id'] !== undefined
    const upstream = http.request(demo, { method: req.method, headers: { ...req.headers, host: demo.host }, agent: false }, (answer) => {
      res.writeHead(answer.statusCode!, answer.headers)
      res.flushHeaders()
      // A replay leaves 1 s late, in order, its end after it.
      const delay = replay ? 1000 : 0
      answer.on('data', (chunk: Buffer) => { setTimeout(() => res.write(chunk), delay) })
      answer.on('end', () => { setTimeout(() => res.end(), delay) })
    })
    upstream.on('error', () => res.destroy())
    res.on('close', () => upstream.destroy())
    upstream.end(body === '' ? undefined : body)
  })
  const report = await runDoctor(slow)
  t.same(failures(report), [], formatReport(report))
  t.match(report.checks.find((c) => c.id === 'resume'), { status: 'pass', detail: /a POST stream resumed gets back only its missed answer/ })
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

t.test('SDK v1 stateful with an event store: resumption ✔, only from the same stream', async (t) => {
  const url = await sdkV1(t, true, true)
  const report = await runDoctor(url)
  t.comment(formatReport(report))
  t.same(failures(report), ['origin'])
  t.match(report.checks.find((c) => c.id === 'resume'), { status: 'pass', detail: /^the GET stream carries no event id; a POST stream resumed gets back only its missed answer, nothing of the other streams/ })
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
