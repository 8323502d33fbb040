import { rawRequest, messagesOf, type RawAnswer, type RawRequest } from './raw-http.js'

/** `pass` ✔, `fail` ✘, `skip` – (not applicable, e.g. session checks on a stateless server). */
export type CheckStatus = 'pass' | 'fail' | 'skip'

export interface DoctorCheck {
  /** Stable id (`session-id`, `unknown-id`, …). */
  id: string
  /** What was checked, for the table. */
  title: string
  status: CheckStatus
  /** One line: what the server did. */
  detail: string
  /** For a ✘: what to change. */
  fix?: string
}

export interface DoctorOptions {
  /** Headers on every request (auth). */
  headers?: Record<string, string>
  /** Called before each check runs (a progress line) and after it, with its outcome. */
  onProgress?: (title: string, check?: DoctorCheck) => void
  /** Milliseconds per exchange (default 5000). */
  timeoutMs?: number
}

export interface DoctorReport {
  url: string
  /** Whether the server keeps 2025 sessions (false: stateless, or none found). */
  sessions: boolean
  checks: DoctorCheck[]
  /** No ✘. */
  ok: boolean
}

const ACCEPT = 'application/json, text/event-stream'
const VERSION = '2025-11-25'
const MADE_UP_ID = 'mcp-doctor-unknown-session-0000000000'
const FOREIGN_ORIGIN = 'http://mcp-doctor.invalid'

/** Bits of an id, estimated from its length and the smallest usual alphabet holding its characters. */
export function entropyBits (id: string): number {
  const alphabet = /^[0-9a-f-]+$/i.test(id) ? (/^[0-9a-f]{8}-[0-9a-f]{4}-4/i.test(id) ? 0 : 16) : /^[0-9A-Za-z]+$/.test(id) ? 62 : /^[0-9A-Za-z_-]+$/.test(id) ? 64 : 94
  // A UUIDv4 carries 122 random bits whatever its 36 characters suggest.
  if (alphabet === 0) return 122
  return Math.floor(id.replace(/-/g, '').length * Math.log2(alphabet))
}

/**
 * Walk a server through the 2025 session rules (and the 2026-07-28 probe) and say, check by
 * check, what it gets right, what it gets wrong and how to fix it. Read-only apart from the
 * sessions it opens, which it deletes.
 */
export async function runDoctor (url: string | URL, options: DoctorOptions = {}): Promise<DoctorReport> {
  const target = new URL(url)
  const ms = options.timeoutMs ?? 5000
  const extra = options.headers ?? {}
  const checks: DoctorCheck[] = []
  const send = (method: string, headers: Record<string, string>, body?: unknown, more: Pick<RawRequest, 'events' | 'ms' | 'until' | 'settleMs'> = {}): Promise<RawAnswer> =>
    rawRequest(target, { method, headers: { ...extra, ...headers }, body, ...more, ms: more.ms ?? ms })
  const run = async (id: string, title: string, body: () => Promise<Omit<DoctorCheck, 'id' | 'title'>>): Promise<DoctorCheck> => {
    options.onProgress?.(title)
    let check: DoctorCheck
    try {
      const outcome = await body()
      // A fix belongs to a ✘ only.
      check = outcome.status === 'fail' ? { id, title, ...outcome } : { id, title, status: outcome.status, detail: outcome.detail }
    } catch (err) {
      check = { id, title, status: 'fail', detail: `no usable answer: ${(err as Error).message}`, fix: 'Check that the server runs at this URL and answers within the timeout.' }
    }
    checks.push(check)
    options.onProgress?.(title, check)
    return check
  }
  const post = (headers: Record<string, string>, body: unknown): Promise<RawAnswer> => send('POST', { 'Content-Type': 'application/json', Accept: ACCEPT, ...headers }, body)
  const initialize = (headers: Record<string, string> = {}): Promise<RawAnswer> => post(headers, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: VERSION, capabilities: {}, clientInfo: { name: 'mcp-doctor', version: '1' } } })
  const withSession = (id: string, headers: Record<string, string> = {}): Record<string, string> => ({ 'Mcp-Session-Id': id, 'MCP-Protocol-Version': negotiated, ...headers })
  const toolsList = { jsonrpc: '2.0', id: 2, method: 'tools/list' }

  let sessionId: string | undefined
  let negotiated = VERSION
  let wrongName: string | undefined
  const init = await run('initialize', 'initialize is answered', async () => {
    const res = await initialize()
    const result = messagesOf(res).find((m) => m.id === 1)?.result
    if (res.status !== 200 || result === undefined) return { status: 'fail', detail: `HTTP ${res.status} without an InitializeResult`, fix: 'Answer a 2025 initialize (POST, JSON-RPC) with 200 and the result, as JSON or SSE.' }
    negotiated = typeof result.protocolVersion === 'string' ? result.protocolVersion : VERSION
    sessionId = res.headers['mcp-session-id'] as string | undefined
    const spelled = res.rawNames.find((name) => name.toLowerCase() !== 'mcp-session-id' && /session/i.test(name))
    if (sessionId === undefined && spelled !== undefined) wrongName = spelled
    return { status: 'pass', detail: `200, protocol version ${negotiated}` }
  })

  await run('session-id', 'a session id is issued in Mcp-Session-Id', async () => {
    if (init.status === 'fail') return { status: 'skip', detail: 'initialize failed' }
    if (wrongName !== undefined) return { status: 'fail', detail: `the id came in "${wrongName}", which clients do not read`, fix: 'Send the session id in the Mcp-Session-Id response header (and read it from the same request header).' }
    if (sessionId === undefined) return { status: 'skip', detail: 'no Mcp-Session-Id: a stateless server (session checks skipped)' }
    return { status: 'pass', detail: `issued (${sessionId.length} characters)` }
  })
  const sessions = sessionId !== undefined
  const id = sessionId ?? ''
  const needsSession = (): Omit<DoctorCheck, 'id' | 'title'> | undefined => sessions ? undefined : { status: 'skip', detail: wrongName === undefined ? 'stateless server' : 'no session id to use' }

  await run('session-id-ascii', 'the id is visible ASCII only', async () => needsSession() ?? (/^[\x21-\x7e]+$/.test(id)
    ? { status: 'pass', detail: 'only 0x21-0x7E' }
    : { status: 'fail', detail: `the id has characters outside 0x21-0x7E: ${JSON.stringify(id)}`, fix: 'Mint ids from visible ASCII only (e.g. crypto.randomUUID() or base64url of random bytes): spaces and controls break header handling.' }))

  await run('session-id-entropy', 'the id is unguessable', async () => {
    const skip = needsSession()
    if (skip !== undefined) return skip
    const bits = entropyBits(id)
    return bits >= 122 ? { status: 'pass', detail: `about ${bits} bits` } : { status: 'fail', detail: `about ${bits} bits`, fix: 'Use at least 128 random bits from a CSPRNG (crypto.randomUUID(), randomBytes(16)).' }
  })

  await run('missing-id', 'a request without the id → 400', async () => needsSession() ?? await (async () => {
    const res = await post({ 'MCP-Protocol-Version': negotiated }, toolsList)
    return res.status === 400 ? { status: 'pass', detail: '400' } : { status: 'fail', detail: `HTTP ${res.status}`, fix: 'Answer 400 Bad Request to a non-initialize request without Mcp-Session-Id.' }
  })())

  let unknownStatus = 0
  await run('unknown-id', 'an unknown id → 404', async () => needsSession() ?? await (async () => {
    const res = await post(withSession(MADE_UP_ID), toolsList)
    unknownStatus = res.status
    if (res.status === 404) return { status: 'pass', detail: '404: clients re-initialize' }
    return {
      status: 'fail',
      detail: `HTTP ${res.status}${res.status === 400 ? ': clients only start a new session on 404, so a 400 strands them on a dead id' : ''}`,
      fix: 'Answer 404 Not Found to a session id you do not know (expired, deleted, another instance\'s without a shared store).'
    }
  })())

  await run('header-case', 'the session header is read in any case', async () => needsSession() ?? await (async () => {
    // Header names are case-insensitive (RFC 9110): a server matching one spelling strands clients and proxies that send another.
    for (const name of ['MCP-SESSION-ID', 'mcp-session-id']) {
      const res = await post({ [name]: id, 'MCP-Protocol-Version': negotiated }, toolsList)
      if (res.status !== 200) return { status: 'fail', detail: `HTTP ${res.status} to "${name}"`, fix: 'Read header names case-insensitively (Mcp-Session-Id, mcp-session-id and MCP-SESSION-ID are one header).' }
    }
    return { status: 'pass', detail: 'MCP-SESSION-ID and mcp-session-id accepted' }
  })())

  await run('protocol-version-missing', 'no MCP-Protocol-Version → 2025-03-26 assumed', async () => {
    if (wrongName !== undefined) return { status: 'skip', detail: 'no session id to use' }
    const res = await post(sessions ? { 'Mcp-Session-Id': id } : {}, toolsList)
    return res.status === 200
      ? { status: 'pass', detail: '200: served' }
      : { status: 'fail', detail: `HTTP ${res.status}: 2025-03-26 clients, which send no such header, are refused`, fix: 'When MCP-Protocol-Version is absent, assume 2025-03-26 (or the version negotiated at initialize) instead of refusing the request.' }
  })

  await run('protocol-version', 'an unsupported MCP-Protocol-Version → 400', async () => {
    const res = await post(sessions ? withSession(id, { 'MCP-Protocol-Version': '1999-01-01' }) : { 'MCP-Protocol-Version': '1999-01-01' }, toolsList)
    return res.status === 400 ? { status: 'pass', detail: '400' } : { status: 'fail', detail: `HTTP ${res.status}`, fix: 'Answer 400 to an MCP-Protocol-Version you do not support, listing the supported ones.' }
  })

  await run('protocol-version-modern', 'a 2026-07-28 header on a 2025 session → 400', async () => needsSession() ?? await (async () => {
    // Without the _meta envelope it is no valid 2026-07-28 request, and 2026-07-28 is no 2025 revision: either way a 400.
    const res = await post(withSession(id, { 'MCP-Protocol-Version': '2026-07-28' }), toolsList)
    const code = messagesOf(res)[0]?.error?.code as number | undefined
    if (res.status === 400) return { status: 'pass', detail: `400${code === undefined ? '' : ` ${code}`}` }
    return {
      status: 'fail',
      detail: `HTTP ${res.status}: the session request was served under a revision it did not negotiate`,
      fix: 'Check MCP-Protocol-Version on session requests: a 2026-07-28 value without the _meta envelope is unsupported for 2025 traffic and invalid for 2026-07-28, so answer 400.'
    }
  })())

  await run('accept', 'a POST whose Accept lacks the MCP types → 406', async () => {
    const res = await send('POST', { 'Content-Type': 'application/json', Accept: 'text/html', ...(sessions ? withSession(id) : { 'MCP-Protocol-Version': negotiated }) }, toolsList)
    return res.status === 406 ? { status: 'pass', detail: '406' } : { status: 'fail', detail: `HTTP ${res.status}`, fix: 'Answer 406 when Accept lists neither application/json nor text/event-stream.' }
  })

  await run('content-type', 'a POST that is not application/json → 415', async () => {
    const res = await send('POST', { 'Content-Type': 'text/plain', Accept: ACCEPT, ...(sessions ? withSession(id) : { 'MCP-Protocol-Version': negotiated }) }, JSON.stringify(toolsList))
    return res.status === 415 ? { status: 'pass', detail: '415' } : { status: res.status >= 400 && res.status < 500 ? 'pass' : 'fail', detail: `HTTP ${res.status}`, fix: 'Answer 415 Unsupported Media Type when Content-Type is not application/json.' }
  })

  await run('origin', 'a foreign Origin → 403', async () => {
    const res = await initialize({ Origin: FOREIGN_ORIGIN })
    const leaked = res.headers['mcp-session-id']
    if (typeof leaked === 'string') await send('DELETE', { 'Mcp-Session-Id': leaked, 'MCP-Protocol-Version': negotiated }).catch(() => {})
    return res.status === 403
      ? { status: 'pass', detail: '403' }
      : { status: 'fail', detail: `HTTP ${res.status} to Origin ${FOREIGN_ORIGIN}: open to DNS rebinding from any web page`, fix: 'Validate Origin and answer 403 to origins you do not serve (localhost servers especially).' }
  })

  let streamIds: string[] = []
  await run('get-stream', 'GET opens a stream or answers 405', async () => {
    if (wrongName !== undefined) return { status: 'skip', detail: 'no session id to use' }
    const res = await send('GET', { Accept: 'text/event-stream', ...(sessions ? withSession(id) : { 'MCP-Protocol-Version': negotiated }) }, undefined, { ms: 500, events: 1 })
    if (res.status === 405) return { status: 'pass', detail: '405: no standalone stream' }
    if (res.status === 200 && String(res.headers['content-type']).startsWith('text/event-stream')) {
      streamIds = res.events.flatMap((e) => e.id === undefined ? [] : [e.id])
      return { status: 'pass', detail: '200 text/event-stream' }
    }
    return { status: 'fail', detail: `HTTP ${res.status} ${String(res.headers['content-type'] ?? '')}`, fix: 'Answer GET with an SSE stream (Content-Type: text/event-stream) or 405 Method Not Allowed.' }
  })

  await run('resume', 'Last-Event-ID replays only the missed events of that stream', async () => {
    const skip = needsSession()
    if (skip !== undefined) return skip
    // A stream that replays nothing never says so: 500 ms of silence is the answer. One that
    // must replay is read until it did (within the timeout), then 500 ms more for extras.
    const resume = (lastEventId: string, expect?: (answer: RawAnswer) => boolean): Promise<RawAnswer> =>
      send('GET', withSession(id, { Accept: 'text/event-stream', 'Last-Event-ID': lastEventId }), undefined, expect === undefined ? { ms: 500 } : { until: expect, settleMs: 500 })
    const getId = streamIds.at(-1)
    let seen = 'the GET stream carries no event id'
    if (getId !== undefined) {
      const again = await resume(getId)
      if (again.status !== 200) return { status: 'fail', detail: `HTTP ${again.status} to the GET stream's own Last-Event-ID`, fix: 'Resume a stream from the Last-Event-ID it issued.' }
      const foreign = await resume('mcp-doctor-foreign-event')
      if (foreign.status === 200 && foreign.events.some((e) => e.data !== '')) return { status: 'fail', detail: 'a made-up Last-Event-ID replayed events', fix: 'Replay only events after the given id, and only from the stream that issued it.' }
      seen = `the GET stream's own id resumes; a made-up one ${foreign.status === 200 ? 'replays nothing' : `answers ${foreign.status}`}`
    }
    // Two more streams: POSTs answered as SSE. The first one resumed from its first event id
    // must bring back its own answer once and nothing of the second; the GET stream's id
    // nothing of either.
    const probe = (n: number): Record<string, unknown> => ({ jsonrpc: '2.0', id: `mcp-doctor-resume-${n}`, method: 'tools/list' })
    const postOf = (n: number): Promise<RawAnswer> => send('POST', withSession(id, { 'Content-Type': 'application/json', Accept: ACCEPT }), probe(n))
    const idsOf = (res: RawAnswer): string[] => res.events.flatMap((e) => e.id === undefined ? [] : [e.id])
    const answered = (res: RawAnswer, n: number): number => messagesOf(res).filter((m) => m.id === `mcp-doctor-resume-${n}` && m.method === undefined).length
    const first = await postOf(1)
    const second = await postOf(2)
    const firstIds = idsOf(first)
    if (firstIds.length < 2 || answered(first, 1) !== 1 || idsOf(second).length === 0) {
      if (getId === undefined) return { status: 'skip', detail: 'no event ids on the GET stream or on POST streams: nothing to resume' }
      return { status: 'pass', detail: `${seen} (POST answers carry no resumable stream to cross-check)` }
    }
    const missed = await resume(firstIds[0]!, (res) => answered(res, 1) > 0)
    if (missed.status !== 200) return { status: 'fail', detail: `HTTP ${missed.status} to a POST stream's own Last-Event-ID`, fix: 'Resume a stream from the Last-Event-ID it issued.' }
    const times = answered(missed, 1)
    if (times === 0) return { status: 'fail', detail: 'a POST stream resumed from its first event id did not replay the answer it missed', fix: 'Keep the events of each stream and replay those after Last-Event-ID (or issue no event ids).' }
    if (times > 1) return { status: 'fail', detail: `a POST stream resumed from its first event id replayed its answer ${times} times`, fix: 'Replay each event after Last-Event-ID once.' }
    const crossFix = 'Replay only events of the stream that issued the Last-Event-ID, never those of the session\'s other streams.'
    if (answered(missed, 2) > 0) return { status: 'fail', detail: 'resuming one POST stream also replayed the answer sent on another', fix: crossFix }
    if (getId !== undefined) {
      const crossed = await resume(getId)
      if (answered(crossed, 1) + answered(crossed, 2) > 0) return { status: 'fail', detail: 'resuming the GET stream replayed answers sent on POST streams', fix: crossFix }
    }
    return { status: 'pass', detail: `${seen}; a POST stream resumed gets back only its missed answer, nothing of the other streams` }
  })

  await run('delete', 'DELETE → 2xx or 405, then the id → 404', async () => needsSession() ?? await (async () => {
    const res = await send('DELETE', withSession(id))
    if (res.status === 405) return { status: 'pass', detail: '405: the client cannot end sessions (they wait for the TTL)' }
    if (res.status < 200 || res.status >= 300) return { status: 'fail', detail: `HTTP ${res.status}`, fix: 'Answer DELETE with 2xx (session ended) or 405 (not allowed).' }
    const after = await post(withSession(id), toolsList)
    if (after.status === 404) return { status: 'pass', detail: `${res.status}, then 404` }
    // Forgotten, and answered like any unknown id: that answer is the unknown-id check's concern.
    if (after.status === unknownStatus) return { status: 'pass', detail: `${res.status}, then ${after.status} as for any unknown id` }
    return { status: 'fail', detail: `${res.status}, then HTTP ${after.status} for the deleted id`, fix: 'Forget a deleted session: answer 404 to its id.' }
  })())

  await run('discover', 'the 2026-07-28 probe lets clients choose', async () => {
    const meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {}, 'io.modelcontextprotocol/clientInfo': { name: 'mcp-doctor', version: '1' } }
    const res = await post({ 'MCP-Protocol-Version': '2026-07-28', 'Mcp-Method': 'server/discover' }, { jsonrpc: '2.0', id: 'server-discover-probe-1', method: 'server/discover', params: { _meta: meta } })
    const message = messagesOf(res)[0]
    if (typeof res.headers['mcp-session-id'] === 'string') await send('DELETE', { 'Mcp-Session-Id': res.headers['mcp-session-id'], 'MCP-Protocol-Version': negotiated }).catch(() => {})
    if (res.status === 200 && Array.isArray(message?.result?.supportedVersions)) return { status: 'pass', detail: `serves ${message.result.supportedVersions.join(', ')}` }
    if (res.status >= 400 && res.status < 500 && res.status !== 401 && res.status !== 403) return { status: 'pass', detail: `HTTP ${res.status}${message?.error === undefined ? '' : ` ${message.error.code}`}: 2025 only; clients fall back to initialize` }
    return { status: 'fail', detail: `HTTP ${res.status}${message?.error === undefined ? '' : ` ${message.error.code}`}: clients cannot tell the era and give up`, fix: 'Answer server/discover with a DiscoverResult, or with a 4xx JSON-RPC error (e.g. 400 -32601) so clients fall back to initialize.' }
  })

  if (sessions) await send('DELETE', withSession(id)).catch(() => {})
  return { url: target.href, sessions, checks, ok: checks.every((c) => c.status !== 'fail') }
}

const MARK: Record<CheckStatus, string> = { pass: '✔', fail: '✘', skip: '–' }

/** The report as a table: one line per check, the fix under each ✘. */
export function formatReport (report: DoctorReport): string {
  const width = Math.max(...report.checks.map((c) => c.title.length))
  const lines = [`mcp-streamable doctor ${report.url}${report.sessions ? '' : ' (no sessions)'}`, '']
  for (const check of report.checks) {
    lines.push(`${MARK[check.status]} ${check.title.padEnd(width)}  ${check.detail}`)
    if (check.status === 'fail' && check.fix !== undefined) lines.push(`  ${' '.repeat(width)}  fix: ${check.fix}`)
  }
  const failed = report.checks.filter((c) => c.status === 'fail').length
  lines.push('', failed === 0 ? 'No problem found.' : `${failed} problem${failed === 1 ? '' : 's'} found.`)
  return lines.join('\n')
}
