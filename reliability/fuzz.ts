// The fuzz: requests drawn by fast-check (a fixed seed, so a run is repeatable) from
// JSON-RPC-ish bodies, headers, methods, ids (up to and beyond 2^53) and huge strings, sent
// against a running server while a well-behaved session and a 2026-07-28 caller keep calling
// `echo` beside them. Each answer is checked against what the spec and the README promise.
import fc from 'fast-check'
import { JSON_POST, LATEST, MODERN, echo, exchange, modernEcho, openSession, type Answer, type Session } from './http.js'

/** One drawn request; `sessionSlot` picks a session of the pool (the fuzz's own, never the sentinel's). */
export interface FuzzRequest {
  method: string
  headers: Record<string, string>
  sessionSlot?: number
  body?: string | Buffer
  /** The id of a single well-formed request whose answer must carry it back, exactly. */
  expectId?: string | number
  /** The single request's id is a number beyond 2^53: no number can carry it back exactly. */
  bigId?: boolean
}

const BIG = '\u0000BIG\u0000'
const BIG_IDS = ['9007199254740993', '-9007199254740993', '18446744073709551616', '1e400', '12345678901234567890.5']
const METHODS = [
  'initialize', 'notifications/initialized', 'ping', 'tools/list', 'tools/call', 'resources/list', 'resources/read',
  'resources/templates/list', 'resources/subscribe', 'resources/unsubscribe', 'prompts/list', 'prompts/get',
  'completion/complete', 'logging/setLevel', 'notifications/cancelled', 'notifications/roots/list_changed',
  'notifications/progress', 'server/discover', 'subscriptions/listen', 'rpc.discover', ''
]
const VERSIONS = [LATEST, '2025-06-18', '2025-03-26', '2024-11-05', MODERN, '2099-01-01', 'latest', '']
const TOOLS = ['echo', 'add', 'countdown', 'nope', '']

const HUGE_SIZES = [20_000, 200_000, 1_000_000]
const huge = fc.constantFrom(...HUGE_SIZES).chain((n) => fc.constantFrom('x', 'é', '\u{1F600}', '"', '\\').map((c) => c.repeat(Math.ceil(n / c.length))))
const text = fc.oneof({ arbitrary: fc.string({ maxLength: 40 }), weight: 6 }, { arbitrary: fc.string({ unit: 'binary', maxLength: 40 }), weight: 3 }, { arbitrary: huge, weight: 1 })
/** Header values must be visible ASCII for Node's client to send them at all. */
const headerText = (max: number) => fc.string({ maxLength: max }).map((s) => s.replace(/[^\x20-\x7e]/g, '?'))
const small = fc.oneof(fc.integer({ min: -5, max: 5 }), fc.double({ noNaN: true }), fc.boolean(), fc.constant(null), fc.string({ maxLength: 10 }))

const id = fc.oneof(
  { arbitrary: fc.integer({ min: -1000, max: 1_000_000 }), weight: 6 },
  { arbitrary: fc.string({ maxLength: 12 }), weight: 3 },
  { arbitrary: fc.constant(BIG), weight: 2 },
  { arbitrary: fc.constantFrom(Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 0.5, -0), weight: 1 },
  { arbitrary: fc.constantFrom(null, true, {}, [], { a: 1 }), weight: 1 },
  { arbitrary: huge, weight: 1 }
)

const envelope = fc.record({
  'io.modelcontextprotocol/protocolVersion': fc.oneof(fc.constantFrom(...VERSIONS), fc.string({ maxLength: 12 }), fc.integer()),
  'io.modelcontextprotocol/clientCapabilities': fc.oneof(fc.constant({}), fc.constant({ sampling: {} }), small),
  'io.modelcontextprotocol/clientInfo': fc.oneof(fc.constant({ name: 'fuzz', version: '1' }), fc.record({ name: text, version: text }), small),
  'io.modelcontextprotocol/logLevel': fc.constantFrom('debug', 'info', 'nope'),
  progressToken: fc.oneof(fc.integer(), fc.string({ maxLength: 8 }))
}, { requiredKeys: [] })

const args = fc.oneof(
  fc.record({ text }, { requiredKeys: [] }),
  fc.record({ a: small, b: small }, { requiredKeys: [] }),
  fc.record({ from: fc.integer({ min: -2, max: 3 }), intervalMs: fc.integer({ min: -2, max: 5 }) }, { requiredKeys: [] }),
  fc.dictionary(fc.string({ maxLength: 8 }), small, { maxKeys: 4 }),
  small
)

const params = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 2 },
  {
    arbitrary: fc.record({
      name: fc.oneof({ arbitrary: fc.constantFrom(...TOOLS), weight: 4 }, { arbitrary: text, weight: 1 }),
      arguments: args,
      uri: fc.oneof(fc.constantFrom('file:///x', 'note://1', ''), text),
      protocolVersion: fc.constantFrom(...VERSIONS),
      capabilities: fc.oneof(fc.constant({}), small),
      clientInfo: fc.oneof(fc.constant({ name: 'fuzz', version: '1' }), small),
      level: fc.constantFrom('debug', 'info', 'emergency', 'nope'),
      requestId: id,
      cursor: fc.string({ maxLength: 10 }),
      _meta: envelope
    }, { requiredKeys: [] }),
    weight: 8
  },
  { arbitrary: small, weight: 1 }
)

const messageParts = {
  jsonrpc: fc.oneof({ arbitrary: fc.constant('2.0'), weight: 19 }, { arbitrary: fc.constantFrom('1.0', 2, null), weight: 1 }),
  id,
  method: fc.oneof({ arbitrary: fc.constantFrom(...METHODS), weight: 8 }, { arbitrary: text, weight: 1 }, { arbitrary: small, weight: 1 }),
  params,
  result: fc.oneof(fc.constant({}), small),
  error: fc.oneof(fc.record({ code: fc.integer(), message: fc.string({ maxLength: 10 }) }), small)
}
/** Mostly requests; sometimes any subset of the fields (notifications, responses, nonsense). */
const message = fc.oneof(
  { arbitrary: fc.record(messageParts, { requiredKeys: ['jsonrpc', 'id', 'method'] }), weight: 8 },
  { arbitrary: fc.record(messageParts, { requiredKeys: [] }), weight: 2 }
).map((m) => {
  // A result or error only where no method is.
  const copy: Record<string, unknown> = { ...m }
  if (copy.method !== undefined) { delete copy.result; delete copy.error }
  return copy
})

/** A JSON body text: a message, a batch, a bare JSON value, or not JSON at all. */
const body = fc.oneof(
  { arbitrary: message.map((m) => ({ text: JSON.stringify(m), single: m })), weight: 14 },
  { arbitrary: fc.array(message, { maxLength: 5 }).map((batch) => ({ text: JSON.stringify(batch), single: undefined })), weight: 2 },
  { arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => ({ text: JSON.stringify(v) ?? 'null', single: undefined })), weight: 1 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 60 }).map((s) => ({ text: s, single: undefined })), weight: 1 },
  { arbitrary: fc.uint8Array({ maxLength: 60 }).map((bytes) => ({ text: Buffer.from(bytes), single: undefined })), weight: 1 }
)

/** A header: mostly `usual`, sometimes `odd`, sometimes absent. */
function header<T> (usual: fc.Arbitrary<T>, odd: fc.Arbitrary<T>, weights: [number, number, number] = [8, 1, 1]): fc.Arbitrary<T | undefined> {
  return fc.oneof({ arbitrary: usual, weight: weights[0] }, { arbitrary: odd, weight: weights[1] }, { arbitrary: fc.constant(undefined), weight: weights[2] })
}

const headers = fc.record({
  accept: header(fc.constant(JSON_POST.accept), fc.oneof(fc.constantFrom('application/json', 'text/event-stream', '*/*', 'text/html', ''), headerText(30))),
  'content-type': header(fc.constantFrom('application/json', 'application/json; charset=utf-8'), fc.oneof(fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', ''), headerText(30))),
  'mcp-protocol-version': header(fc.constantFrom(LATEST, '2025-06-18', MODERN), fc.oneof(fc.constantFrom(...VERSIONS), headerText(20)), [6, 2, 2]),
  'mcp-method': header(fc.constantFrom(...METHODS.filter((m) => m !== '')), headerText(20), [2, 1, 7]),
  'mcp-name': header(fc.constantFrom(...TOOLS.filter((n) => n !== '')), fc.oneof(headerText(20), fc.string({ maxLength: 10 }).map((s) => `=?base64?${Buffer.from(s).toString('base64')}?=`)), [2, 1, 7]),
  'last-event-id': header(headerText(30), headerText(30), [1, 0, 9]),
  origin: header(fc.constant('http://127.0.0.1'), fc.constantFrom('http://evil.example', 'null'), [1, 1, 18])
}).map((h) => Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined)) as Record<string, string>)

/** Which session id the request carries: one of the pool, a made-up one, a huge one, or none. */
const sessionChoice = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: 7 }).map((slot) => ({ slot, header: undefined as string | undefined })), weight: 10 },
  { arbitrary: fc.constant({ slot: undefined, header: undefined }), weight: 6 },
  { arbitrary: headerText(40).map((header) => ({ slot: undefined, header })), weight: 2 },
  { arbitrary: fc.constantFrom(8_000, 20_000).map((n) => ({ slot: undefined, header: 'a'.repeat(n) })), weight: 1 }
)

const httpMethod = fc.oneof(
  { arbitrary: fc.constant('POST'), weight: 85 },
  { arbitrary: fc.constant('GET'), weight: 6 },
  { arbitrary: fc.constant('DELETE'), weight: 5 },
  { arbitrary: fc.constantFrom('PUT', 'PATCH', 'OPTIONS'), weight: 4 }
)

const VALID_ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': MODERN,
  'io.modelcontextprotocol/clientCapabilities': {},
  'io.modelcontextprotocol/clientInfo': { name: 'fuzz', version: '1' }
}

/**
 * How the parts fit together: `wild` leaves them as drawn; `session` makes the headers those
 * of a pool session's client (so the body's oddities reach the methods), `modern` those of a
 * 2026-07-28 caller (envelope in `_meta`, routing headers derived from the body).
 */
const mode = fc.oneof({ arbitrary: fc.constant('wild' as const), weight: 3 }, { arbitrary: fc.constant('session' as const), weight: 3 }, { arbitrary: fc.constant('modern' as const), weight: 3 })

function nameOf (message: Record<string, unknown>): unknown {
  const params = message.params as Record<string, unknown> | undefined
  if (params === null || typeof params !== 'object') return undefined
  return message.method === 'resources/read' ? params.uri : params.name
}

const request: fc.Arbitrary<FuzzRequest> = fc.record({ method: httpMethod, headers, session: sessionChoice, body, mode, slot: fc.integer({ min: 0, max: 7 }) }).map(({ method, headers, session, body, mode, slot }) => {
  let sent: Record<string, string> = { ...headers }
  let sessionSlot = session.slot
  if (session.header !== undefined) sent['mcp-session-id'] = session.header
  let text = body.text
  const single = body.single
  if (mode === 'session') {
    sent = { ...JSON_POST, 'mcp-protocol-version': LATEST }
    sessionSlot = slot
  } else if (mode === 'modern' && single !== undefined) {
    const params = single.params !== null && typeof single.params === 'object' ? single.params as Record<string, unknown> : {}
    const meta = params._meta !== null && typeof params._meta === 'object' ? params._meta : {}
    single.params = { ...params, _meta: { ...meta, ...VALID_ENVELOPE } }
    text = JSON.stringify(single)
    sent = { ...JSON_POST, 'mcp-protocol-version': MODERN }
    sessionSlot = undefined
    if (typeof single.method === 'string' && /^[\x21-\x7e]+$/.test(single.method)) sent['mcp-method'] = single.method
    const name = nameOf(single)
    if (typeof name === 'string' && name.length < 1000) sent['mcp-name'] = /^[\x21-\x7e]+$/.test(name) ? name : `=?base64?${Buffer.from(name).toString('base64')}?=`
  }
  const request: FuzzRequest = { method, headers: sent }
  if (sessionSlot !== undefined) request.sessionSlot = sessionSlot
  if (method === 'POST' || method === 'PUT' || method === 'PATCH') {
    request.body = typeof text === 'string' ? text.replaceAll(JSON.stringify(BIG), () => BIG_IDS[text.length % BIG_IDS.length]!) : text
    if (method === 'POST' && single !== undefined && typeof single.method === 'string' && (Number.isSafeInteger(single.id) || (typeof single.id === 'string' && single.id !== BIG && single.id.length < 1000))) {
      request.expectId = single.id as string | number
    }
    if (single !== undefined && single.id === BIG) request.bigId = true
  }
  return request
})

/** `count` requests drawn from `seed`: the same list for the same arguments. */
export function fuzzRequests (count: number, seed: number): FuzzRequest[] {
  return fc.sample(request, { seed, numRuns: count })
}

const STACK = /\bat [^\n]*(?:file:|node:|\/)[^\n]*:\d+:\d+|node_modules/
/** How long an error body may be, whatever the request carried (client text is capped). */
const ERROR_BODY_MAX = 16 * 1024

function isJsonRpcError (value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false
  const m = value as Record<string, unknown>
  const error = m.error as Record<string, unknown> | undefined
  return m.jsonrpc === '2.0' && 'id' in m && (m.id === null || typeof m.id === 'string' || typeof m.id === 'number') &&
    error !== null && typeof error === 'object' && Number.isInteger(error.code) && typeof error.message === 'string'
}

function isJsonRpcMessage (value: unknown): boolean {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false
  const m = value as Record<string, unknown>
  if (m.jsonrpc !== '2.0') return false
  if (typeof m.method === 'string') return true
  return 'id' in m && ('result' in m || isJsonRpcError(m))
}

/** The length of an error message without its id (which must come back as sent, however long). */
function withoutId (message: unknown): number {
  return JSON.stringify({ ...(message as Record<string, unknown>), id: null }).length
}

/** What is wrong with `answer` to `request` (empty when nothing is). */
export function checkAnswer (request: FuzzRequest, answer: Answer): string[] {
  const problems: string[] = []
  const type = String(answer.headers['content-type'] ?? '')
  if (answer.status === 0) return [`no answer: ${answer.error}`]
  if (answer.status >= 500 && answer.status !== 503) problems.push(`status ${answer.status}`)
  if (STACK.test(answer.body)) problems.push('a stack trace or path in the body')
  if (answer.error !== undefined && answer.cut !== true) problems.push(`the answer broke off: ${answer.error}`)
  if (answer.cut === true && !type.startsWith('text/event-stream')) problems.push('a non-stream answer did not end in time')
  if (answer.status >= 400) {
    let parsed: unknown
    try { parsed = JSON.parse(answer.body) } catch { problems.push(`a ${answer.status} whose body is not JSON`) }
    if (parsed !== undefined && !isJsonRpcError(parsed)) problems.push(`a ${answer.status} whose body is not a JSON-RPC error`)
    else if (parsed !== undefined && withoutId(parsed) > ERROR_BODY_MAX) problems.push(`a ${answer.body.length}-character error body`)
  } else if (answer.status === 202) {
    if (answer.body !== '') problems.push('a 202 with a body')
  } else if (answer.status === 200 && request.method === 'POST') {
    let messages: unknown[] = []
    try {
      messages = type.startsWith('text/event-stream')
        ? answer.body.split('\n').filter((l) => l.startsWith('data:') && l.slice(5).trim() !== '').map((l) => JSON.parse(l.slice(5).trim()))
        : [JSON.parse(answer.body)].flat()
    } catch {
      problems.push('a 200 whose messages are not JSON')
    }
    if (!messages.every(isJsonRpcMessage)) problems.push('a 200 carrying something other than JSON-RPC messages')
    const response = messages.find((m) => (m as Record<string, unknown>).method === undefined) as Record<string, unknown> | undefined
    if (request.expectId !== undefined && response !== undefined && response.id !== request.expectId) {
      problems.push(`answered with id ${JSON.stringify(response.id)} for ${JSON.stringify(request.expectId)}`)
    }
    if (request.bigId === true && typeof response?.id === 'number') problems.push(`answered id ${response.id} for an id beyond 2^53`)
    for (const m of messages) if (isJsonRpcError(m) && withoutId(m) > ERROR_BODY_MAX) problems.push('a long JSON-RPC error')
  }
  return problems
}

export interface FuzzReport {
  seed: number
  requests: number
  ms: number
  statuses: Record<string, number>
  /** SSE streams (GET) left open by the server, cut by the fuzz after its wait. */
  streamsCut: number
  violations: Array<{ request: string, problems: string[] }>
  violationCount: number
  sentinel: { checks: number, failures: string[] }
  modern: { checks: number, failures: string[] }
}

export interface FuzzOptions {
  url: URL
  count: number
  seed: number
  concurrency?: number
  /** Asked after each request: false when the server process is gone (the run stops). */
  alive?: () => boolean
}

function summary (request: FuzzRequest, body: string | Buffer | undefined): string {
  const text = body === undefined ? '' : typeof body === 'string' ? body : `<${body.length} bytes>`
  const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, v.length > 60 ? `${v.slice(0, 60)}…(${v.length})` : v]))
  return `${request.method} ${JSON.stringify(headers)} ${text.length > 300 ? `${text.slice(0, 300)}…(${text.length})` : text}`
}

/** Run the fuzz; the sentinel calls go on all along, one at a time each. */
export async function runFuzz ({ url, count, seed, concurrency = 8, alive = () => true }: FuzzOptions): Promise<FuzzReport> {
  const requests = fuzzRequests(count, seed)
  const pool: Session[] = []
  for (let i = 0; i < 8; i++) pool.push(await openSession(url))
  const sentinelSession = await openSession(url)
  const report: FuzzReport = { seed, requests: 0, ms: 0, statuses: {}, streamsCut: 0, violations: [], violationCount: 0, sentinel: { checks: 0, failures: [] }, modern: { checks: 0, failures: [] } }
  const state = { done: false }
  const sentinels = (async () => {
    for (let n = 1; !state.done; n++) {
      const text = `sentinel ${n} ✓ ${'#'.repeat(n % 50)}`
      const legacy = await echo(url, sentinelSession, n, text)
      report.sentinel.checks++
      if (!legacy.ok && report.sentinel.failures.length < 20) report.sentinel.failures.push(`${legacy.answer.status} ${legacy.answer.error ?? legacy.answer.body.slice(0, 200)}`)
      const modern = await modernEcho(url, n, text)
      report.modern.checks++
      if (!modern.ok && report.modern.failures.length < 20) report.modern.failures.push(`${modern.answer.status} ${modern.answer.error ?? modern.answer.body.slice(0, 200)}`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  })()
  const started = performance.now()
  let next = 0
  const worker = async () => {
    while (next < requests.length && alive()) {
      const request = requests[next++]!
      const headers = { ...request.headers }
      if (request.sessionSlot !== undefined) headers['mcp-session-id'] = pool[request.sessionSlot]!.id
      const answer = await exchange(url, request.method, headers, request.body, { timeoutMs: request.method === 'GET' ? 500 : 15_000 })
      report.requests++
      report.statuses[answer.status] = (report.statuses[answer.status] ?? 0) + 1
      if (answer.cut === true && answer.status === 200) report.streamsCut++
      const problems = checkAnswer(request, answer)
      if (problems.length > 0) {
        report.violationCount++
        if (report.violations.length < 20) report.violations.push({ request: summary(request, request.body), problems })
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  report.ms = Math.round(performance.now() - started)
  state.done = true
  await sentinels
  return report
}
