/**
 * The wire contract of DESIGN.md §4, pinned row by row through `app.inject`, once per
 * protocol revision the row applies to (2025-03-26, 2025-06-18, 2025-11-25).
 *
 * Each row says how to build one HTTP request (given a fresh app and an open session of the
 * revision under test) and what must come back: status, JSON-RPC error code and id, headers,
 * and body shape. Every error row also asserts that the body is a JSON-RPC error object with
 * `id: null` and never Fastify's `{statusCode, error, message}` shape.
 */
import t from 'tap'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import type { McpPluginOptions } from '../lib/index.js'
import { buildApp, initializeParams, notification, openSession, post, postHeaders, rpc, sseMessages, type Session } from './helpers/index.js'

type TT = Parameters<Parameters<typeof t.test>[0]>[0]

const REVISIONS = ['2025-03-26', '2025-06-18', '2025-11-25'] as const
type Rev = typeof REVISIONS[number]
const SESSIONFUL_HEADER_REVS: readonly Rev[] = ['2025-06-18', '2025-11-25']
const SUPPORTED = ['2025-11-25', '2025-06-18', '2025-03-26']
const URL = '/mcp'
const ALLOW = 'GET, POST, DELETE'

/** Which app a row runs against; each kind is built once per revision. */
type AppKind = 'default' | 'small' | 'capped' | 'auth' | 'stateless' | 'json' | 'sse'
const RESOURCE_METADATA = 'https://mcp.example.com/.well-known/oauth-protected-resource'
const TOKENS: Record<string, string> = { 'Bearer alice-token': 'alice', 'Bearer bob-token': 'bob' }
const APP_OPTIONS: Record<AppKind, McpPluginOptions> = {
  default: {},
  small: { bodyLimit: 1024 },
  capped: { maxSessions: 1 },
  auth: {
    auth: {
      authenticate: (request) => {
        const principal = TOKENS[String(request.headers.authorization)]
        return principal === undefined ? null : { principal }
      },
      resourceMetadataUrl: RESOURCE_METADATA
    }
  },
  stateless: { stateless: true },
  json: { responseMode: 'json' },
  sse: { responseMode: 'sse' }
}

interface Ctx {
  app: FastifyInstance
  rev: Rev
  /** An open, initialized session of `rev` on `app`. */
  session: Session
  /** Open another session of `rev` on `app`. */
  fresh (): Promise<Session>
}

/** Expected JSON-RPC error: HTTP-level errors always carry `id: null`. */
interface ExpectedError {
  code: number
  id?: string | number | null
  message?: RegExp
}

interface Row {
  name: string
  /** Revisions the row applies to (default: all three). */
  revs?: readonly Rev[]
  app?: AppKind
  request (ctx: Ctx): InjectOptions | Promise<InjectOptions>
  status: number
  /** The body must be exactly one JSON-RPC error with this code (and id). */
  error?: ExpectedError
  /** Headers that must be present (string: exact; RegExp: match) or absent (`null`). */
  headers?: Record<string, string | RegExp | null>
  /** The body must be empty. */
  empty?: boolean
  /** Further checks on the parsed JSON body. */
  check? (t: TT, body: any, ctx: Ctx, res: LightMyRequestResponse): void | Promise<void>
}

// ---- request builders ------------------------------------------------------------------

function postTo (payload: unknown, headers: Record<string, string>): InjectOptions {
  return { method: 'POST', url: URL, headers, payload: typeof payload === 'string' ? payload : JSON.stringify(payload) }
}

/** A POST on the context session, with the session's headers plus overrides (`undefined` removes one). */
function onSession (ctx: Ctx, payload: unknown, extra: Record<string, string | undefined> = {}): InjectOptions {
  const headers: Record<string, string | undefined> = { ...ctx.session.headers, ...extra }
  return postTo(payload, Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== undefined)) as Record<string, string>)
}

function getOn (session: Session | undefined, extra: Record<string, string | undefined> = {}): InjectOptions {
  const headers: Record<string, string | undefined> = { accept: 'text/event-stream', ...(session === undefined ? {} : { 'mcp-session-id': session.id, 'mcp-protocol-version': session.protocolVersion }), ...extra }
  return { method: 'GET', url: URL, headers: Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== undefined)) as Record<string, string> }
}

function deleteOn (session: Session | undefined, extra: Record<string, string | undefined> = {}): InjectOptions {
  const headers: Record<string, string | undefined> = { ...(session === undefined ? {} : { 'mcp-session-id': session.id, 'mcp-protocol-version': session.protocolVersion }), ...extra }
  return { method: 'DELETE', url: URL, headers: Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== undefined)) as Record<string, string> }
}

function initialize (version: string, extra: Record<string, string | undefined> = {}): InjectOptions {
  return postTo(rpc(0, 'initialize', initializeParams(version)), postHeaders(extra))
}

/** A session of the revision that has been DELETEd (204 checked). */
async function deletedSession (ctx: Ctx): Promise<Session> {
  const s = await ctx.fresh()
  const res = await ctx.app.inject(deleteOn(s))
  if (res.statusCode !== 204) throw new Error(`DELETE failed: ${res.statusCode} ${res.payload}`)
  return s
}

const UNKNOWN_SESSION = 'bm90LWEtcmVhbC1zZXNzaW9uLWlkLWF0LWFsbC0xMjM0NTY'
const BATCH_REVS: readonly Rev[] = ['2025-03-26']

function pings (n: number): Array<Record<string, unknown>> {
  return Array.from({ length: n }, (_, i) => rpc(i + 1, 'ping'))
}

/** The visible-ASCII, ≥128-bit session id rule. */
function checkSessionId (t: TT, id: unknown): void {
  t.type(id, 'string', 'Mcp-Session-Id is set')
  const s = String(id)
  t.match(s, /^[\x21-\x7E]+$/, 'session id is visible ASCII only (0x21-0x7E)')
  t.ok(s.length >= 22, `session id carries >= 128 bits (length ${s.length} >= 22 base64url chars)`)
}

// ---- the table -------------------------------------------------------------------------

const ROWS: Row[] = [
  // 202: notifications and responses only
  {
    name: 'POST notifications/initialized → 202, empty body',
    request: (ctx) => onSession(ctx, notification('notifications/initialized')),
    status: 202,
    empty: true
  },
  {
    name: 'POST unknown notification → 202, empty body',
    request: (ctx) => onSession(ctx, notification('notifications/whatever', { x: 1 })),
    status: 202,
    empty: true
  },
  {
    name: 'POST a result response only → 202, empty body',
    request: (ctx) => onSession(ctx, { jsonrpc: '2.0', id: 'srv-1', result: {} }),
    status: 202,
    empty: true
  },
  {
    name: 'POST an error response only → 202, empty body',
    request: (ctx) => onSession(ctx, { jsonrpc: '2.0', id: 7, error: { code: -1, message: 'declined' } }),
    status: 202,
    empty: true
  },

  // 200: a request
  {
    name: 'POST ping → 200 application/json {} with the request id',
    request: (ctx) => onSession(ctx, rpc(41, 'ping')),
    status: 200,
    headers: { 'content-type': /^application\/json/ },
    check (t, body, ctx, res) {
      t.same(body, { jsonrpc: '2.0', id: 41, result: {} })
      t.equal(res.headers['mcp-session-id'], ctx.session.id, 'the session id is echoed on the response')
    }
  },
  {
    name: 'POST ping with a string id → result carries the same string id',
    request: (ctx) => onSession(ctx, rpc('req-α', 'ping')),
    status: 200,
    headers: { 'content-type': /^application\/json/ },
    check (t, body) { t.same(body, { jsonrpc: '2.0', id: 'req-α', result: {} }) }
  },
  {
    name: 'Content-Type application/json; charset=utf-8 is accepted',
    request: (ctx) => onSession(ctx, rpc(1, 'ping'), { 'content-type': 'application/json; charset=utf-8' }),
    status: 200,
    check (t, body) { t.same(body, { jsonrpc: '2.0', id: 1, result: {} }) }
  },
  {
    name: 'tools/list → 200 with the demo tools and their JSON Schemas',
    request: (ctx) => onSession(ctx, rpc(2, 'tools/list')),
    status: 200,
    headers: { 'content-type': /^application\/json/ },
    check (t, body) {
      t.equal(body.id, 2)
      const names = (body.result.tools as Array<{ name: string }>).map((x) => x.name)
      t.ok(names.includes('echo') && names.includes('add'), 'echo and add are listed')
      const echo = body.result.tools.find((x: { name: string }) => x.name === 'echo')
      t.match(echo.inputSchema, { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] })
    }
  },
  {
    name: 'tools/call echo → 200 with the text content',
    request: (ctx) => onSession(ctx, rpc(3, 'tools/call', { name: 'echo', arguments: { text: 'hello' } })),
    status: 200,
    check (t, body) { t.same(body, { jsonrpc: '2.0', id: 3, result: { content: [{ type: 'text', text: 'hello' }] } }) }
  },

  // response modes: SSE when the handler sends related messages first
  {
    name: 'auto mode: a tool sending progress first → 200 text/event-stream, progress then the response',
    request: (ctx) => onSession(ctx, rpc(21, 'tools/call', { name: 'countdown', arguments: { from: 2, intervalMs: 0 }, _meta: { progressToken: 'tok' } })),
    status: 200,
    headers: {
      'content-type': /^text\/event-stream/,
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
      'mcp-session-id': /^[\x21-\x7E]{22,}$/
    },
    check (t, _body, ctx, res) {
      t.equal(res.headers['mcp-session-id'], ctx.session.id)
      const messages = sseMessages(res.payload)
      const progress = messages.filter((m) => m.method === 'notifications/progress')
      t.same(progress.map((m) => m.params.progress), [1, 2], 'one progress notification per step, in order')
      t.ok(progress.every((m) => m.params.progressToken === 'tok'), 'progress carries the request token')
      const last = messages[messages.length - 1]
      t.same(last, { jsonrpc: '2.0', id: 21, result: { content: [{ type: 'text', text: 'liftoff' }] } }, 'the response comes last')
      t.equal(messages.filter((m) => 'id' in m && !('method' in m)).length, 1, 'exactly one response on the stream')
    }
  },
  {
    name: 'json mode: the same call → 200 application/json, related messages dropped',
    app: 'json',
    request: (ctx) => onSession(ctx, rpc(22, 'tools/call', { name: 'countdown', arguments: { from: 2, intervalMs: 0 }, _meta: { progressToken: 'tok' } })),
    status: 200,
    headers: { 'content-type': /^application\/json/ },
    check (t, body) { t.same(body, { jsonrpc: '2.0', id: 22, result: { content: [{ type: 'text', text: 'liftoff' }] } }) }
  },
  {
    name: 'sse mode: ping → 200 text/event-stream carrying the response',
    app: 'sse',
    request: (ctx) => onSession(ctx, rpc(23, 'ping')),
    status: 200,
    headers: { 'content-type': /^text\/event-stream/, 'cache-control': 'no-cache, no-transform' },
    check (t, _body, _ctx, res) { t.same(sseMessages(res.payload), [{ jsonrpc: '2.0', id: 23, result: {} }]) }
  },
  {
    name: 'sse mode: initialize → 200 text/event-stream with the result and Mcp-Session-Id',
    app: 'sse',
    request: (ctx) => initialize(ctx.rev),
    status: 200,
    headers: { 'content-type': /^text\/event-stream/ },
    check (t, _body, ctx, res) {
      checkSessionId(t, res.headers['mcp-session-id'])
      const messages = sseMessages(res.payload)
      t.equal(messages.length, 1)
      t.equal(messages[0]?.result?.protocolVersion, ctx.rev)
    }
  },
  {
    name: 'sse mode: a notification-only POST is still 202, empty body',
    app: 'sse',
    request: (ctx) => onSession(ctx, notification('notifications/initialized')),
    status: 202,
    empty: true
  },

  // -32700
  {
    name: 'invalid JSON → 400 -32700 id null',
    request: (ctx) => onSession(ctx, '{"jsonrpc":"2.0","id":1,"method":"ping"'),
    status: 400,
    error: { code: -32700 }
  },
  {
    name: 'not JSON at all → 400 -32700 id null',
    request: (ctx) => onSession(ctx, 'hello world'),
    status: 400,
    error: { code: -32700 }
  },
  {
    name: 'empty body with Content-Type application/json → 400 -32700',
    request: (ctx) => ({ method: 'POST', url: URL, headers: ctx.session.headers }),
    status: 400,
    error: { code: -32700 }
  },

  // -32600: JSON but not JSON-RPC
  ...([
    ['a number', '42'],
    ['a string', '"ping"'],
    ['null', 'null'],
    ['true', 'true'],
    ['{}', '{}'],
    ['jsonrpc "1.0"', JSON.stringify({ jsonrpc: '1.0', id: 1, method: 'ping' })],
    ['no jsonrpc member', JSON.stringify({ id: 1, method: 'ping' })],
    ['a request with id null', JSON.stringify({ jsonrpc: '2.0', id: null, method: 'ping' })],
    ['a request with a float id', JSON.stringify({ jsonrpc: '2.0', id: 1.5, method: 'ping' })],
    ['a request with an object id', JSON.stringify({ jsonrpc: '2.0', id: { a: 1 }, method: 'ping' })],
    ['a request with an empty method', JSON.stringify({ jsonrpc: '2.0', id: 1, method: '' })],
    ['a request with a numeric method', JSON.stringify({ jsonrpc: '2.0', id: 1, method: 5 })],
    ['params that are a string', JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: 'x' })],
    ['params that are null', JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: null })],
    ['params that are a number', JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: 3 })],
    ['a response whose result is an array', JSON.stringify({ jsonrpc: '2.0', id: 1, result: [] })],
    ['a response whose result is null', JSON.stringify({ jsonrpc: '2.0', id: 1, result: null })],
    ['a request carrying result', JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', result: {} })],
    ['a response with both result and error', JSON.stringify({ jsonrpc: '2.0', id: 1, result: {}, error: { code: 1, message: 'x' } })],
    ['an empty array []', '[]']
  ] as const).map(([what, payload]): Row => ({
    name: `JSON that is not JSON-RPC (${what}) → 400 -32600 id null`,
    request: (ctx) => onSession(ctx, payload),
    status: 400,
    error: { code: -32600, message: /Invalid Request/ }
  })),

  // batches
  {
    name: 'batch of requests on a forbidding revision → 400 -32600',
    revs: SESSIONFUL_HEADER_REVS,
    request: (ctx) => onSession(ctx, [rpc(1, 'ping'), rpc(2, 'ping')]),
    status: 400,
    error: { code: -32600, message: /batch/i }
  },
  {
    name: 'batch of one request on a forbidding revision → 400 -32600',
    revs: SESSIONFUL_HEADER_REVS,
    request: (ctx) => onSession(ctx, [rpc(1, 'ping')]),
    status: 400,
    error: { code: -32600, message: /batch/i }
  },
  {
    name: 'notification-only batch on a forbidding revision → 400 -32600',
    revs: SESSIONFUL_HEADER_REVS,
    request: (ctx) => onSession(ctx, [notification('notifications/initialized')]),
    status: 400,
    error: { code: -32600 }
  },
  {
    name: 'batch of requests on 2025-03-26 → 200 with an array of responses',
    revs: BATCH_REVS,
    request: (ctx) => onSession(ctx, [rpc(1, 'ping'), rpc('two', 'tools/call', { name: 'echo', arguments: { text: 'b' } }), notification('notifications/initialized')]),
    status: 200,
    headers: { 'content-type': /^application\/json/ },
    check (t, body) {
      t.ok(Array.isArray(body), 'the body is an array')
      t.equal(body.length, 2, 'one response per request, none for the notification')
      const byId = new Map((body as Array<{ id: unknown }>).map((r) => [r.id, r]))
      t.same(byId.get(1), { jsonrpc: '2.0', id: 1, result: {} })
      t.same(byId.get('two'), { jsonrpc: '2.0', id: 'two', result: { content: [{ type: 'text', text: 'b' }] } })
    }
  },
  {
    name: 'batch on 2025-03-26 with an unknown method → array with a -32601 error for that id',
    revs: BATCH_REVS,
    request: (ctx) => onSession(ctx, [rpc(1, 'ping'), rpc(2, 'no/such')]),
    status: 200,
    check (t, body) {
      t.ok(Array.isArray(body))
      const two = (body as Array<{ id: unknown, error?: { code: number } }>).find((r) => r.id === 2)
      t.equal(two?.error?.code, -32601)
    }
  },
  {
    name: 'notification-only batch on 2025-03-26 → 202, empty body',
    revs: BATCH_REVS,
    request: (ctx) => onSession(ctx, [notification('notifications/initialized'), notification('notifications/other')]),
    status: 202,
    empty: true
  },
  {
    name: 'response-only batch on 2025-03-26 → 202, empty body',
    revs: BATCH_REVS,
    request: (ctx) => onSession(ctx, [{ jsonrpc: '2.0', id: 'a', result: {} }, { jsonrpc: '2.0', id: 'b', error: { code: 1, message: 'no' } }]),
    status: 202,
    empty: true
  },
  {
    name: 'batch of exactly 100 requests on 2025-03-26 → 200 with 100 responses',
    revs: BATCH_REVS,
    request: (ctx) => onSession(ctx, pings(100)),
    status: 200,
    check (t, body) {
      t.ok(Array.isArray(body))
      t.equal(body.length, 100)
      t.same(new Set((body as Array<{ id: number }>).map((r) => r.id)), new Set(pings(100).map((p) => p.id)))
    }
  },
  {
    name: 'batch over 100 messages → 400 -32600',
    request: (ctx) => onSession(ctx, pings(101)),
    status: 400,
    error: { code: -32600, message: /100/ }
  },
  {
    name: 'batch containing initialize → 400 -32600',
    request: (ctx) => onSession(ctx, [rpc(1, 'initialize', initializeParams(ctx.rev)), rpc(2, 'ping')]),
    status: 400,
    error: { code: -32600, message: /initialize/ }
  },
  {
    name: 'batch containing initialize, without a session → 400 -32600 and no session created',
    request: (ctx) => postTo([rpc(1, 'initialize', initializeParams(ctx.rev))], postHeaders()),
    status: 400,
    error: { code: -32600 },
    headers: { 'mcp-session-id': null }
  },
  {
    name: 'a batch with one invalid item → 400 -32600',
    revs: BATCH_REVS,
    request: (ctx) => onSession(ctx, [rpc(1, 'ping'), { jsonrpc: '2.0', id: null, method: 'ping' }]),
    status: 400,
    error: { code: -32600 }
  },

  // sessions
  {
    name: 'non-initialize POST without Mcp-Session-Id → 400 -32000',
    request: (ctx) => onSession(ctx, rpc(1, 'ping'), { 'mcp-session-id': undefined }),
    status: 400,
    error: { code: -32000, message: /Mcp-Session-Id/i }
  },
  {
    name: 'notification POST without Mcp-Session-Id → 400 -32000',
    request: (ctx) => onSession(ctx, notification('notifications/initialized'), { 'mcp-session-id': undefined }),
    status: 400,
    error: { code: -32000 }
  },
  {
    name: 'GET without Mcp-Session-Id → 400 -32000',
    request: (ctx) => getOn(undefined, { 'mcp-protocol-version': ctx.session.protocolVersion }),
    status: 400,
    error: { code: -32000 }
  },
  {
    name: 'DELETE without Mcp-Session-Id → 400 -32000',
    request: (ctx) => deleteOn(undefined, { 'mcp-protocol-version': ctx.session.protocolVersion }),
    status: 400,
    error: { code: -32000 }
  },
  {
    name: 'POST with an unknown session id → 404 -32001',
    request: (ctx) => onSession(ctx, rpc(1, 'ping'), { 'mcp-session-id': UNKNOWN_SESSION }),
    status: 404,
    error: { code: -32001 }
  },
  {
    name: 'GET with an unknown session id → 404 -32001',
    request: (ctx) => getOn({ ...ctx.session, id: UNKNOWN_SESSION }),
    status: 404,
    error: { code: -32001 }
  },
  {
    name: 'GET with a Last-Event-ID this session never issued → 400 -32000',
    request: (ctx) => getOn(ctx.session, { 'last-event-id': 'pNeverIssued0.1' }),
    status: 400,
    error: { code: -32000, message: /Last-Event-ID/ }
  },
  {
    name: 'GET with a malformed Last-Event-ID → 400 -32000',
    request: (ctx) => getOn(ctx.session, { 'last-event-id': 'not an event id' }),
    status: 400,
    error: { code: -32000, message: /Last-Event-ID/ }
  },
  {
    name: 'DELETE with an unknown session id → 404 -32001',
    request: (ctx) => deleteOn({ ...ctx.session, id: UNKNOWN_SESSION }),
    status: 404,
    error: { code: -32001 }
  },
  {
    name: 'DELETE → 204, empty body',
    request: async (ctx) => deleteOn(await ctx.fresh()),
    status: 204,
    empty: true
  },
  {
    name: 'POST on a deleted session → 404 -32001',
    request: async (ctx) => {
      const s = await deletedSession(ctx)
      return postTo(rpc(1, 'ping'), s.headers)
    },
    status: 404,
    error: { code: -32001 }
  },
  {
    name: 'notification POST on a deleted session → 404 -32001',
    request: async (ctx) => {
      const s = await deletedSession(ctx)
      return postTo(notification('notifications/initialized'), s.headers)
    },
    status: 404,
    error: { code: -32001 }
  },
  {
    name: 'GET on a deleted session → 404 -32001',
    request: async (ctx) => getOn(await deletedSession(ctx)),
    status: 404,
    error: { code: -32001 }
  },
  {
    name: 'DELETE on a deleted session → 404 -32001',
    request: async (ctx) => deleteOn(await deletedSession(ctx)),
    status: 404,
    error: { code: -32001 }
  },
  {
    name: 'deleting one session leaves another working',
    request: async (ctx) => {
      await deletedSession(ctx)
      return onSession(ctx, rpc(5, 'ping'))
    },
    status: 200,
    check (t, body) { t.same(body, { jsonrpc: '2.0', id: 5, result: {} }) }
  },

  // MCP-Protocol-Version header
  ...(['POST', 'GET', 'DELETE'] as const).map((method): Row => ({
    name: `${method} with an unsupported MCP-Protocol-Version → 400 -32000 listing the supported versions`,
    request: (ctx) => {
      const extra = { 'mcp-protocol-version': '1999-01-01' }
      return method === 'POST' ? onSession(ctx, rpc(1, 'ping'), extra) : method === 'GET' ? getOn(ctx.session, extra) : deleteOn(ctx.session, extra)
    },
    status: 400,
    error: { code: -32000 },
    check (t, body) {
      for (const v of SUPPORTED) t.ok(body.error.message.includes(v), `the message lists ${v}`)
      t.ok(body.error.message.includes('1999-01-01'), 'the message names the rejected version')
    }
  })),
  {
    name: 'MCP-Protocol-Version that is not a date → 400 -32000',
    request: (ctx) => onSession(ctx, rpc(1, 'ping'), { 'mcp-protocol-version': 'latest' }),
    status: 400,
    error: { code: -32000 }
  },
  {
    name: 'absent MCP-Protocol-Version header → accepted',
    request: (ctx) => onSession(ctx, rpc(9, 'ping'), { 'mcp-protocol-version': undefined }),
    status: 200,
    check (t, body) { t.same(body, { jsonrpc: '2.0', id: 9, result: {} }) }
  },
  {
    name: 'a 2025-03-26 header on a later session → accepted (the conformance suite does this)',
    revs: SESSIONFUL_HEADER_REVS,
    request: (ctx) => onSession(ctx, rpc(10, 'ping'), { 'mcp-protocol-version': '2025-03-26' }),
    status: 200,
    check (t, body) { t.same(body, { jsonrpc: '2.0', id: 10, result: {} }) }
  },
  {
    name: 'a 2025-03-26 header does not turn batches on for a later session',
    revs: SESSIONFUL_HEADER_REVS,
    request: (ctx) => onSession(ctx, [rpc(1, 'ping')], { 'mcp-protocol-version': '2025-03-26' }),
    status: 400,
    error: { code: -32600 }
  },

  // Accept
  ...([
    ['only application/json', 'application/json'],
    ['only text/event-stream', 'text/event-stream'],
    ['text/html', 'text/html']
  ] as const).map(([what, accept]): Row => ({
    name: `POST with Accept ${what} → 406 -32000`,
    request: (ctx) => onSession(ctx, rpc(1, 'ping'), { accept }),
    status: 406,
    error: { code: -32000, message: /Not Acceptable/ }
  })),
  {
    name: 'POST without Accept → 406 -32000',
    request: (ctx) => onSession(ctx, rpc(1, 'ping'), { accept: undefined }),
    status: 406,
    error: { code: -32000 }
  },
  {
    name: 'initialize with Accept application/json only → 406 -32000, no session created',
    request: (ctx) => initialize(ctx.rev, { accept: 'application/json' }),
    status: 406,
    error: { code: -32000 },
    headers: { 'mcp-session-id': null }
  },
  {
    name: 'GET with Accept application/json → 406 -32000',
    request: (ctx) => getOn(ctx.session, { accept: 'application/json' }),
    status: 406,
    error: { code: -32000 }
  },
  {
    name: 'GET without Accept → 406 -32000',
    request: (ctx) => getOn(ctx.session, { accept: undefined }),
    status: 406,
    error: { code: -32000 }
  },

  // Content-Type
  {
    name: 'Content-Type text/plain → 415 -32000',
    request: (ctx) => onSession(ctx, rpc(1, 'ping'), { 'content-type': 'text/plain' }),
    status: 415,
    error: { code: -32000 }
  },
  {
    name: 'Content-Type application/x-www-form-urlencoded → 415 -32000',
    request: (ctx) => onSession(ctx, 'a=1', { 'content-type': 'application/x-www-form-urlencoded' }),
    status: 415,
    error: { code: -32000 }
  },
  {
    name: 'no Content-Type and no body → 415 -32000',
    request: (ctx) => {
      const headers = { ...ctx.session.headers }
      delete (headers as Record<string, string | undefined>)['content-type']
      return { method: 'POST', url: URL, headers }
    },
    status: 415,
    error: { code: -32000 }
  },

  // body limit
  {
    name: 'body over bodyLimit → 413 -32000',
    app: 'small',
    request: (ctx) => onSession(ctx, rpc(1, 'tools/call', { name: 'echo', arguments: { text: 'x'.repeat(2000) } })),
    status: 413,
    error: { code: -32000 }
  },
  {
    name: 'Content-Length header over bodyLimit → 413 -32000',
    app: 'small',
    request: (ctx) => onSession(ctx, rpc(1, 'ping'), { 'content-length': '5000' }),
    status: 413,
    error: { code: -32000 }
  },
  {
    name: 'body just under bodyLimit → served',
    app: 'small',
    request: (ctx) => {
      const base = JSON.stringify(rpc(1, 'tools/call', { name: 'echo', arguments: { text: '' } }))
      return onSession(ctx, rpc(1, 'tools/call', { name: 'echo', arguments: { text: 'y'.repeat(1024 - base.length) } }))
    },
    status: 200,
    check (t, body) { t.equal(body.result.content[0].text.length, 1024 - JSON.stringify(rpc(1, 'tools/call', { name: 'echo', arguments: { text: '' } })).length) }
  },

  // Host / Origin
  {
    name: 'Host not allowed → 403 -32000',
    request: (ctx) => onSession(ctx, rpc(1, 'ping'), { host: 'evil.example.com' }),
    status: 403,
    error: { code: -32000, message: /Host/ }
  },
  {
    name: 'Host not allowed on initialize → 403, no session created',
    request: (ctx) => initialize(ctx.rev, { host: 'evil.example.com' }),
    status: 403,
    error: { code: -32000 },
    headers: { 'mcp-session-id': null }
  },
  {
    name: 'Origin not allowed → 403 -32000',
    request: (ctx) => onSession(ctx, rpc(1, 'ping'), { origin: 'http://evil.example.com' }),
    status: 403,
    error: { code: -32000, message: /Origin/ }
  },
  {
    name: 'Origin not allowed on GET → 403 -32000',
    request: (ctx) => getOn(ctx.session, { origin: 'https://evil.example.com' }),
    status: 403,
    error: { code: -32000 }
  },
  {
    name: 'Origin "null" → 403 -32000',
    request: (ctx) => onSession(ctx, rpc(1, 'ping'), { origin: 'null' }),
    status: 403,
    error: { code: -32000 }
  },
  {
    name: 'localhost Origin on a loopback server → allowed',
    request: (ctx) => onSession(ctx, rpc(1, 'ping'), { origin: 'http://localhost:5173' }),
    status: 200,
    check (t, body) { t.same(body.result, {}) }
  },

  // session cap
  {
    name: 'initialize with the session cap reached → 503 with Retry-After',
    app: 'capped',
    request: (ctx) => initialize(ctx.rev),
    status: 503,
    error: { code: -32000 },
    headers: { 'retry-after': /^[1-9]\d*$/, 'mcp-session-id': null }
  },
  {
    name: 'the session cap does not affect the existing session',
    app: 'capped',
    request: (ctx) => onSession(ctx, rpc(1, 'ping')),
    status: 200,
    check (t, body) { t.same(body.result, {}) }
  },

  // expiry
  {
    name: 'POST on an expired session → 404 -32001',
    request: async (ctx) => {
      // Age the record past the 30 min idle TTL instead of waiting for it.
      await ctx.app.mcp.sessions.update(ctx.session.id, { lastActiveAt: Date.now() - 24 * 60 * 60_000 })
      return onSession(ctx, rpc(1, 'ping'))
    },
    status: 404,
    error: { code: -32001 }
  },
  {
    name: 'DELETE on an expired session → 404 -32001',
    request: async (ctx) => {
      await ctx.app.mcp.sessions.update(ctx.session.id, { lastActiveAt: Date.now() - 24 * 60 * 60_000 })
      return deleteOn(ctx.session)
    },
    status: 404,
    error: { code: -32001 }
  },

  // authentication
  {
    name: 'auth on: no token → 401 -32000 with WWW-Authenticate resource_metadata',
    app: 'auth',
    request: (ctx) => onSession(ctx, rpc(1, 'ping'), { authorization: undefined }),
    status: 401,
    error: { code: -32000 },
    headers: { 'www-authenticate': `Bearer resource_metadata="${RESOURCE_METADATA}"` }
  },
  {
    name: 'auth on: invalid token → 401 with WWW-Authenticate',
    app: 'auth',
    request: (ctx) => onSession(ctx, rpc(1, 'ping'), { authorization: 'Bearer forged' }),
    status: 401,
    error: { code: -32000 },
    headers: { 'www-authenticate': /^Bearer resource_metadata="/ }
  },
  {
    name: 'auth on: initialize without a token → 401, no session created',
    app: 'auth',
    request: (ctx) => initialize(ctx.rev),
    status: 401,
    error: { code: -32000 },
    headers: { 'www-authenticate': /^Bearer /, 'mcp-session-id': null }
  },
  {
    name: 'auth on: the owning principal is served',
    app: 'auth',
    request: (ctx) => onSession(ctx, rpc(1, 'ping')),
    status: 200,
    check (t, body) { t.same(body, { jsonrpc: '2.0', id: 1, result: {} }) }
  },
  {
    name: 'auth on: a session owned by another principal → 404 -32001 (POST)',
    app: 'auth',
    request: (ctx) => onSession(ctx, rpc(1, 'ping'), { authorization: 'Bearer bob-token' }),
    status: 404,
    error: { code: -32001 }
  },
  {
    name: 'auth on: a session owned by another principal → 404 -32001 (DELETE)',
    app: 'auth',
    request: (ctx) => deleteOn(ctx.session, { authorization: 'Bearer bob-token' }),
    status: 404,
    error: { code: -32001 }
  },

  // stateless mode: GET and DELETE are disabled
  ...(['GET', 'DELETE'] as const).map((method): Row => ({
    name: `stateless: ${method} → 405 with Allow: POST`,
    app: 'stateless',
    request: () => (method === 'GET' ? getOn(undefined) : deleteOn(undefined)),
    status: 405,
    error: { code: -32000 },
    headers: { allow: 'POST' }
  })),
  {
    name: 'stateless: initialize → 200 without Mcp-Session-Id',
    app: 'stateless',
    request: (ctx) => initialize(ctx.rev),
    status: 200,
    headers: { 'mcp-session-id': null },
    check (t, body, ctx) { t.equal(body.result.protocolVersion, ctx.rev) }
  },
  {
    name: 'stateless: a request without Mcp-Session-Id is served',
    app: 'stateless',
    request: (ctx) => postTo(rpc(1, 'ping'), postHeaders({ 'mcp-protocol-version': ctx.rev })),
    status: 200,
    check (t, body) { t.same(body, { jsonrpc: '2.0', id: 1, result: {} }) }
  },
  {
    name: 'stateless: a batch under this revision\'s header follows the revision',
    app: 'stateless',
    request: (ctx) => postTo([rpc(1, 'ping')], postHeaders({ 'mcp-protocol-version': ctx.rev })),
    status: 200,
    revs: BATCH_REVS,
    check (t, body) { t.same(body, [{ jsonrpc: '2.0', id: 1, result: {} }]) }
  },
  {
    name: 'stateless: a batch under this revision\'s header → 400 -32600',
    app: 'stateless',
    request: (ctx) => postTo([rpc(1, 'ping')], postHeaders({ 'mcp-protocol-version': ctx.rev })),
    status: 400,
    revs: SESSIONFUL_HEADER_REVS,
    error: { code: -32600 }
  },

  // 405
  ...(['PUT', 'PATCH', 'HEAD', 'OPTIONS'] as const).map((method): Row => ({
    name: `${method} → 405 with Allow: ${ALLOW}`,
    request: (ctx) => ({ method, url: URL, headers: ctx.session.headers, ...(method === 'PUT' || method === 'PATCH' ? { payload: JSON.stringify(rpc(1, 'ping')) } : {}) }),
    status: 405,
    headers: { allow: ALLOW },
    // A HEAD response has no body by definition.
    ...(method === 'HEAD' ? { empty: true } : { error: { code: -32000 } })
  })),

  // JSON-RPC level errors: HTTP 200
  {
    name: 'unknown method → 200 -32601 with the request id',
    request: (ctx) => onSession(ctx, rpc(77, 'no/such/method')),
    status: 200,
    error: { code: -32601, id: 77, message: /no\/such\/method/ },
    headers: { 'content-type': /^application\/json/ }
  },
  {
    name: 'unknown method with a string id → 200 -32601 with that id',
    request: (ctx) => onSession(ctx, rpc('abc', 'no-such/method')),
    status: 200,
    error: { code: -32601, id: 'abc' }
  },
  {
    name: 'tools/call of an unknown tool → 200 -32602',
    request: (ctx) => onSession(ctx, rpc(4, 'tools/call', { name: 'nope', arguments: {} })),
    status: 200,
    error: { code: -32602, id: 4, message: /nope/ }
  },
  {
    name: 'tools/call without a name → 200 -32602',
    request: (ctx) => onSession(ctx, rpc(4, 'tools/call', { arguments: {} })),
    status: 200,
    error: { code: -32602, id: 4 }
  },
  {
    name: 'tools/list with an invalid cursor → 200 -32602',
    request: (ctx) => onSession(ctx, rpc(5, 'tools/list', { cursor: 'not-a-cursor' })),
    status: 200,
    error: { code: -32602, id: 5 }
  },
  {
    name: 'tools/list with a non-string cursor → 200 -32602',
    request: (ctx) => onSession(ctx, rpc(5, 'tools/list', { cursor: 42 })),
    status: 200,
    error: { code: -32602, id: 5 }
  },
  {
    name: 'tools/call with _meta that is not an object → 200 -32602',
    request: (ctx) => onSession(ctx, rpc(4, 'tools/call', { name: 'echo', arguments: { text: 'x' }, _meta: ['progressToken'] })),
    status: 200,
    error: { code: -32602, id: 4 }
  },
  {
    name: 'tools/call with params and _meta of many keys → 200 result',
    request: (ctx) => onSession(ctx, rpc(4, 'tools/call', { name: 'echo', arguments: { text: 'x' }, _meta: { progressToken: 't', 'a/b': 1, '': null }, extra: { any: [1] } })),
    status: 200,
    check (t, body) {
      t.equal(body.id, 4)
      t.same(body.result, { content: [{ type: 'text', text: 'x' }] })
    }
  },
  {
    name: 'params as an array → 200 -32602',
    request: (ctx) => onSession(ctx, { jsonrpc: '2.0', id: 6, method: 'ping', params: [1, 2] }),
    status: 200,
    error: { code: -32602, id: 6 }
  },
  {
    name: 'tool arguments failing the schema → 200 result isError naming the field',
    request: (ctx) => onSession(ctx, rpc(8, 'tools/call', { name: 'echo', arguments: { text: 5 } })),
    status: 200,
    check (t, body) {
      t.equal(body.id, 8)
      t.notOk('error' in body, 'not a JSON-RPC error')
      t.equal(body.result.isError, true)
      t.equal(body.result.content[0].type, 'text')
      t.match(body.result.content[0].text, /text/, 'the message names the field')
      t.match(body.result.content[0].text, /string/i, 'the message says what was expected')
    }
  },
  {
    name: 'tool arguments missing a required field → isError naming the field',
    request: (ctx) => onSession(ctx, rpc(8, 'tools/call', { name: 'add', arguments: { a: 1 } })),
    status: 200,
    check (t, body) {
      t.equal(body.result.isError, true)
      t.match(body.result.content[0].text, /\bb\b/, 'the message names the missing field b')
    }
  },
  {
    name: 'a throwing tool → 200 result isError with the thrown message',
    request: (ctx) => onSession(ctx, rpc(9, 'tools/call', { name: 'boom', arguments: { why: 'kaboom 42' } })),
    status: 200,
    check (t, body) {
      t.equal(body.id, 9)
      t.notOk('error' in body)
      t.equal(body.result.isError, true)
      t.equal(body.result.content[0].text, 'kaboom 42')
    }
  },
  {
    name: 'ping → {}',
    request: (ctx) => onSession(ctx, rpc(0, 'ping')),
    status: 200,
    check (t, body) { t.same(body, { jsonrpc: '2.0', id: 0, result: {} }) }
  },

  // initialize and version negotiation
  {
    name: 'initialize with this revision → echoed, with a session id',
    request: (ctx) => initialize(ctx.rev),
    status: 200,
    headers: { 'content-type': /^application\/json/ },
    check (t, body, ctx, res) {
      t.equal(body.id, 0)
      t.equal(body.result.protocolVersion, ctx.rev)
      t.ok(body.result.capabilities.tools, 'tools capability advertised')
      t.equal(body.result.serverInfo.name, 'fastify-mcp-streamable-demo')
      checkSessionId(t, res.headers['mcp-session-id'])
    }
  },
  {
    name: 'initialize with an unknown version (2099-01-01) → answered with 2025-11-25',
    request: () => initialize('2099-01-01'),
    status: 200,
    check (t, body, _ctx, res) {
      t.equal(body.result.protocolVersion, '2025-11-25')
      checkSessionId(t, res.headers['mcp-session-id'])
    }
  },
  {
    name: 'initialize with invalid params → 200 -32602, no session',
    request: () => postTo(rpc(3, 'initialize', { protocolVersion: 5 }), postHeaders()),
    status: 200,
    error: { code: -32602, id: 3 },
    headers: { 'mcp-session-id': null }
  },
  ...([['an array', []], ['null', null]] as const).map(([what, capabilities]): Row => ({
    name: `initialize with capabilities that are ${what} → 200 -32602, no session`,
    request: () => postTo(rpc(3, 'initialize', { protocolVersion: '2025-06-18', capabilities, clientInfo: { name: 'c', version: '1' } }), postHeaders()),
    status: 200,
    error: { code: -32602, id: 3 },
    headers: { 'mcp-session-id': null }
  }))
]

// ---- runner ----------------------------------------------------------------------------

function checkHeaders (t: TT, res: LightMyRequestResponse, expected: Row['headers']): void {
  for (const [name, want] of Object.entries(expected ?? {})) {
    const got = res.headers[name]
    if (want === null) t.equal(got, undefined, `no ${name} header`)
    else if (typeof want === 'string') t.equal(got, want, `${name}: ${want}`)
    else t.match(String(got), want, `${name} matches ${want}`)
  }
}

/** The only error body shape the endpoint may produce. */
function checkErrorShape (t: TT, body: any, expected: ExpectedError): void {
  t.same(Object.keys(body).sort(), ['error', 'id', 'jsonrpc'], 'exactly jsonrpc, id, error')
  t.equal(body.jsonrpc, '2.0')
  t.equal(body.id, expected.id === undefined ? null : expected.id, `id is ${JSON.stringify(expected.id ?? null)}`)
  t.ok(Number.isInteger(body.error?.code), 'error.code is an integer')
  t.equal(body.error?.code, expected.code, `error.code ${expected.code}`)
  t.type(body.error?.message, 'string', 'error.message is a string')
  t.ok(String(body.error?.message).length > 0, 'error.message is not empty')
  if (expected.message !== undefined) t.match(body.error?.message, expected.message)
  t.notOk('statusCode' in body, 'not Fastify\'s {statusCode, error, message} shape')
}

/**
 * openSession that also sends extra headers (Authorization) on every request and reads an
 * initialize answered as SSE (responseMode 'sse').
 */
async function openWith (app: FastifyInstance, rev: Rev, extra: Record<string, string> = {}): Promise<Session> {
  const res = await app.inject(initialize(rev, extra))
  if (res.statusCode !== 200) throw new Error(`initialize failed: ${res.statusCode} ${res.payload}`)
  const id = res.headers['mcp-session-id'] as string
  const answer = String(res.headers['content-type']).startsWith('text/event-stream') ? sseMessages(res.payload).at(-1) : res.json()
  if (answer?.result?.protocolVersion !== rev) throw new Error(`initialize answered ${res.payload.slice(0, 200)}`)
  const headers = postHeaders({ ...extra, 'mcp-session-id': id, 'mcp-protocol-version': rev })
  const ack = await app.inject(postTo(notification('notifications/initialized'), headers))
  if (ack.statusCode !== 202) throw new Error(`initialized failed: ${ack.statusCode}`)
  return { id, protocolVersion: rev, headers }
}

async function contextFor (t: TT, rev: Rev, kind: AppKind): Promise<Ctx> {
  const app = await buildApp(t, { demo: true, options: APP_OPTIONS[kind] })
  app.mcp.tool({
    name: 'boom',
    description: 'Always throws',
    inputSchema: Type.Object({ why: Type.String() })
  }, async ({ why }) => { throw new Error(why) })
  const open = kind === 'auth' ? () => openWith(app, rev, { authorization: 'Bearer alice-token' }) : kind === 'sse' ? () => openWith(app, rev) : () => openSession(app, rev)
  const session = await open()
  if (session.protocolVersion !== rev) throw new Error(`negotiated ${session.protocolVersion}, wanted ${rev}`)
  return { app, rev, session, fresh: open }
}

let rowRuns = 0
for (const rev of REVISIONS) {
  t.test(`wire contract, protocol revision ${rev}`, async (t) => {
    for (const row of ROWS) {
      if (row.revs !== undefined && !row.revs.includes(rev)) continue
      rowRuns++
      await t.test(row.name, async (t) => {
        // A fresh app per row: rows cannot leak sessions, caps or tools into each other.
        const ctx = await contextFor(t, rev, row.app ?? 'default')
        const res = await ctx.app.inject(await row.request(ctx))
        t.equal(res.statusCode, row.status, `status ${row.status} (got ${res.statusCode}: ${res.payload.slice(0, 300)})`)
        checkHeaders(t, res, row.headers)
        if (row.empty === true) t.equal(res.payload, '', 'empty body')
        let body: any
        if (row.error !== undefined || row.check !== undefined || row.status >= 400) {
          if (row.empty !== true && !String(res.headers['content-type']).startsWith('text/event-stream')) {
            t.match(String(res.headers['content-type']), /^application\/json/, 'a JSON body')
            try {
              body = res.json()
            } catch {
              t.fail(`the body is not JSON: ${res.payload.slice(0, 300)}`)
              return
            }
          }
        }
        if (row.error !== undefined) checkErrorShape(t, body, row.error)
        else if (row.status >= 400 && row.empty !== true) t.fail('an error row without an expected error')
        if (row.check !== undefined) await row.check(t, body, ctx, res)
      })
    }
  })
}

t.test('every applicable row ran for every revision', async (t) => {
  const expected = REVISIONS.reduce((n, rev) => n + ROWS.filter((r) => r.revs === undefined || r.revs.includes(rev)).length, 0)
  t.equal(rowRuns, expected)
  t.ok(rowRuns > 3 * 60, `${rowRuns} row runs`)
})

// ---- contract checks that need more than one request -----------------------------------

for (const rev of REVISIONS) {
  t.test(`sessions, revision ${rev}`, async (t) => {
    const app = await buildApp(t, { demo: true })

    t.test('two sessions get different, well-formed ids', async (t) => {
      const a = await app.inject(initialize(rev))
      const b = await app.inject(initialize(rev))
      t.equal(a.statusCode, 200)
      t.equal(b.statusCode, 200)
      checkSessionId(t, a.headers['mcp-session-id'])
      checkSessionId(t, b.headers['mcp-session-id'])
      t.not(a.headers['mcp-session-id'], b.headers['mcp-session-id'])
    })

    t.test('DELETE → 204, then the id answers 404 -32001 on POST, GET and DELETE', async (t) => {
      const s = await openSession(app, rev)
      const del = await app.inject(deleteOn(s))
      t.equal(del.statusCode, 204)
      t.equal(del.payload, '')
      for (const req of [postTo(rpc(1, 'ping'), s.headers), getOn(s), deleteOn(s)]) {
        const res = await app.inject(req)
        t.equal(res.statusCode, 404, `${req.method} → 404`)
        checkErrorShape(t, res.json(), { code: -32001 })
      }
    })

    t.test('a session survives a rejected request', async (t) => {
      const s = await openSession(app, rev)
      const bad = await post(app, '{', s.headers)
      t.equal(bad.statusCode, 400)
      const ok = await post(app, rpc(1, 'ping'), s.headers)
      t.equal(ok.statusCode, 200)
      t.same(ok.json(), { jsonrpc: '2.0', id: 1, result: {} })
    })

    t.test('a new initialize is accepted after a 404', async (t) => {
      const s = await openSession(app, rev)
      await app.inject(deleteOn(s))
      const again = await app.inject(initialize(rev))
      t.equal(again.statusCode, 200)
      t.not(again.headers['mcp-session-id'], s.id, 'a new id, not the deleted one')
    })
  })
}

t.test('the session cap frees up after a DELETE', async (t) => {
  const app = await buildApp(t, { demo: true, options: { maxSessions: 1 } })
  const s = await openSession(app)
  const full = await app.inject(initialize('2025-11-25'))
  t.equal(full.statusCode, 503)
  t.match(String(full.headers['retry-after']), /^[1-9]\d*$/)
  t.equal((await app.inject(deleteOn(s))).statusCode, 204)
  const again = await app.inject(initialize('2025-11-25'))
  t.equal(again.statusCode, 200)
  checkSessionId(t, again.headers['mcp-session-id'])
})
