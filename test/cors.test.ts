import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify'
import fastifyCors from '@fastify/cors'
import mcp, { type McpPluginOptions } from '../lib/index.js'
import { registerDemoTools } from '../examples/demo/app.js'
import { buildApp, initializeParams, listen, notification, openSession, post, postHeaders, request, rpc, sseMessages, streamHeaders } from './helpers/index.js'

const APP_ORIGIN = 'https://app.example.com'
const EVIL_ORIGIN = 'https://evil.example.com'
const MCP_HEADERS = ['content-type', 'mcp-session-id', 'mcp-protocol-version', 'last-event-id', 'authorization']
const INIT = rpc(0, 'initialize', initializeParams())

/** A comma-separated header value as a lower-case list. */
function headerList (value: string | string[] | number | undefined): string[] {
  if (value === undefined) return []
  const text = Array.isArray(value) ? value.join(',') : String(value)
  return text.split(',').map((h) => h.trim().toLowerCase()).filter((h) => h !== '')
}

function preflight (app: FastifyInstance, origin: string, method = 'POST', headers = MCP_HEADERS.join(', ')): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'OPTIONS',
    url: '/mcp',
    headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers }
  })
}

function corsApp (t: Test, options: McpPluginOptions = {}): Promise<FastifyInstance> {
  return buildApp(t, { demo: true, options: { cors: true, allowedOrigins: [APP_ORIGIN], ...options } })
}

/** The CORS headers every actual response to the allowed origin must carry. */
function assertCorsActual (t: Test, headers: Record<string, unknown>, origin = APP_ORIGIN): void {
  t.equal(headers['access-control-allow-origin'], origin, 'Access-Control-Allow-Origin echoes the origin')
  t.ok(headerList(headers['access-control-expose-headers'] as string).includes('mcp-session-id'), 'Mcp-Session-Id exposed')
}

t.test('cors: true — preflight from an allowed origin', async (t) => {
  const app = await corsApp(t)
  const res = await preflight(app, APP_ORIGIN)
  t.equal(res.statusCode, 204)
  t.equal(res.payload, '')
  t.equal(res.headers['access-control-allow-origin'], APP_ORIGIN)
  const allowed = headerList(res.headers['access-control-allow-headers'])
  for (const header of MCP_HEADERS) t.ok(allowed.includes(header), `Access-Control-Allow-Headers includes ${header}`)
  const methods = headerList(res.headers['access-control-allow-methods'])
  for (const method of ['get', 'post', 'delete']) t.ok(methods.includes(method), `Access-Control-Allow-Methods includes ${method}`)
  t.match(String(res.headers.vary ?? ''), /origin/i, 'Vary: Origin for a reflected origin')

  // Preflights for GET and DELETE too (the session stream and termination).
  for (const method of ['GET', 'DELETE']) {
    const other = await preflight(app, APP_ORIGIN, method, 'mcp-session-id, mcp-protocol-version')
    t.equal(other.statusCode, 204, `preflight for ${method}`)
    t.equal(other.headers['access-control-allow-origin'], APP_ORIGIN)
  }

  // Nothing was created by preflights.
  t.equal((await app.mcp.stats()).sessions, 0)
})

t.test('cors: true — actual requests from an allowed origin', async (t) => {
  const app = await corsApp(t)
  const init = await post(app, INIT, postHeaders({ origin: APP_ORIGIN }))
  t.equal(init.statusCode, 200)
  t.type(init.headers['mcp-session-id'], 'string')
  assertCorsActual(t, init.headers)
  const exposed = headerList(init.headers['access-control-expose-headers'])
  t.ok(exposed.includes('mcp-protocol-version'), 'MCP-Protocol-Version exposed')
  t.ok(exposed.includes('www-authenticate'), 'WWW-Authenticate exposed')

  const id = init.headers['mcp-session-id'] as string
  const headers = postHeaders({ origin: APP_ORIGIN, 'mcp-session-id': id, 'mcp-protocol-version': init.json().result.protocolVersion })
  const ack = await post(app, notification('notifications/initialized'), headers)
  t.equal(ack.statusCode, 202)
  t.equal(ack.headers['access-control-allow-origin'], APP_ORIGIN, '202 carries CORS too')

  // JSON-RPC error statuses must be readable by the page as well.
  const missing = await post(app, rpc(1, 'ping'), postHeaders({ origin: APP_ORIGIN, 'mcp-protocol-version': '2025-11-25' }))
  t.equal(missing.statusCode, 400)
  t.equal(missing.headers['access-control-allow-origin'], APP_ORIGIN, '400 carries CORS')
  const unknown = await post(app, rpc(1, 'ping'), { ...headers, 'mcp-session-id': 'nope' })
  t.equal(unknown.statusCode, 404)
  t.equal(unknown.headers['access-control-allow-origin'], APP_ORIGIN, '404 carries CORS')

  const del = await app.inject({ method: 'DELETE', url: '/mcp', headers })
  t.equal(del.statusCode, 204)
  t.equal(del.headers['access-control-allow-origin'], APP_ORIGIN, 'DELETE carries CORS')
})

t.test('cors: true — a POST answered as SSE keeps the CORS headers (hijacked reply)', async (t) => {
  const app = await corsApp(t)
  const init = await post(app, INIT, postHeaders({ origin: APP_ORIGIN }))
  const id = init.headers['mcp-session-id'] as string
  const headers = postHeaders({ origin: APP_ORIGIN, 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' })
  await post(app, notification('notifications/initialized'), headers)

  const res = await post(app, rpc(2, 'tools/call', { name: 'countdown', arguments: { from: 2, intervalMs: 0 }, _meta: { progressToken: 'p' } }), headers)
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/event-stream/, 'answered as SSE')
  assertCorsActual(t, res.headers)
  t.equal(res.headers['mcp-session-id'], id, 'session id on the stream')
  const messages = sseMessages(res.payload)
  t.same(messages[messages.length - 1].result.content, [{ type: 'text', text: 'liftoff' }])

  // responseMode 'sse': even initialize is a stream, and its session id must be readable.
  const sseApp = await corsApp(t, { responseMode: 'sse' })
  const sseInit = await post(sseApp, INIT, postHeaders({ origin: APP_ORIGIN }))
  t.equal(sseInit.statusCode, 200)
  t.match(sseInit.headers['content-type'], /^text\/event-stream/)
  assertCorsActual(t, sseInit.headers)
  t.type(sseInit.headers['mcp-session-id'], 'string')
  t.equal(sseMessages(sseInit.payload)[0].id, 0)
})

t.test('cors: true — the GET stream over a real socket keeps the CORS headers', async (t) => {
  const app = await corsApp(t)
  const url = await listen(app)
  const init = await request(url, 'POST', postHeaders({ origin: APP_ORIGIN }), INIT)
  await init.waitEnd()
  t.equal(init.status, 200)
  assertCorsActual(t, init.headers)
  const id = init.headers['mcp-session-id'] as string
  const session = { id, protocolVersion: '2025-11-25', headers: postHeaders({ 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' }) }
  const ack = await request(url, 'POST', { ...session.headers, origin: APP_ORIGIN }, notification('notifications/initialized'))
  await ack.waitEnd()
  t.equal(ack.status, 202)

  const stream = await request(url, 'GET', streamHeaders(session, { origin: APP_ORIGIN }))
  t.teardown(() => stream.destroy())
  t.equal(stream.status, 200)
  t.match(stream.headers['content-type'], /^text\/event-stream/)
  assertCorsActual(t, stream.headers)
  t.equal(stream.headers['mcp-session-id'], id)
  stream.destroy()

  // And an evil origin cannot open it.
  const evil = await request(url, 'GET', streamHeaders(session, { origin: EVIL_ORIGIN }))
  await evil.waitEnd()
  t.equal(evil.status, 403)
  t.equal(evil.headers['access-control-allow-origin'], undefined)
})

t.test('cors: true — a disallowed origin gets no CORS grant and a 403', async (t) => {
  const app = await corsApp(t)
  const pre = await preflight(app, EVIL_ORIGIN)
  t.equal(pre.headers['access-control-allow-origin'], undefined, 'no Access-Control-Allow-Origin on the preflight')
  t.equal(pre.statusCode, 403, 'the preflight is refused by the Origin guard')
  t.equal(pre.json().error.code, -32000)

  const res = await post(app, INIT, postHeaders({ origin: EVIL_ORIGIN }))
  t.equal(res.statusCode, 403)
  t.equal(res.json().error.code, -32000)
  t.equal(res.json().id, null)
  t.equal(res.headers['access-control-allow-origin'], undefined, 'no Access-Control-Allow-Origin on the request')
  t.equal(res.headers['mcp-session-id'], undefined)

  // The default loopback origins are replaced by allowedOrigins.
  const local = await post(app, INIT, postHeaders({ origin: 'http://localhost:5173' }))
  t.equal(local.statusCode, 403)
  t.equal(local.headers['access-control-allow-origin'], undefined)
})

t.test('cors: true with the default Origin policy follows the loopback defaults', async (t) => {
  const app = await buildApp(t, { demo: true, options: { cors: true } })
  const pre = await preflight(app, 'http://localhost:5173')
  t.equal(pre.statusCode, 204)
  t.equal(pre.headers['access-control-allow-origin'], 'http://localhost:5173')
  const evil = await preflight(app, EVIL_ORIGIN)
  t.equal(evil.headers['access-control-allow-origin'], undefined)
  const res = await post(app, INIT, postHeaders({ origin: 'http://localhost:5173' }))
  t.equal(res.statusCode, 200)
  assertCorsActual(t, res.headers, 'http://localhost:5173')
})

t.test('cors: user @fastify/cors options merge with the MCP headers', async (t) => {
  const app = await buildApp(t, {
    demo: true,
    options: {
      allowedOrigins: [APP_ORIGIN],
      cors: { origin: [APP_ORIGIN], exposedHeaders: ['X-Custom'], allowedHeaders: ['X-Request-Id'], maxAge: 600 }
    }
  })
  const pre = await preflight(app, APP_ORIGIN, 'POST', 'content-type, mcp-session-id, x-request-id')
  t.equal(pre.statusCode, 204)
  t.equal(pre.headers['access-control-allow-origin'], APP_ORIGIN)
  t.equal(pre.headers['access-control-max-age'], '600', 'user option applied')
  const allowed = headerList(pre.headers['access-control-allow-headers'])
  for (const header of [...MCP_HEADERS, 'x-request-id']) t.ok(allowed.includes(header), `allows ${header}`)

  const res = await post(app, INIT, postHeaders({ origin: APP_ORIGIN }))
  t.equal(res.statusCode, 200)
  t.equal(res.headers['access-control-allow-origin'], APP_ORIGIN)
  const exposed = headerList(res.headers['access-control-expose-headers'])
  t.ok(exposed.includes('x-custom'), 'X-Custom exposed')
  t.ok(exposed.includes('mcp-session-id'), 'Mcp-Session-Id still exposed')
  t.equal(exposed.filter((h) => h === 'mcp-session-id').length, 1, 'exposed once')

  const other = await preflight(app, 'https://other.example.com')
  t.equal(other.headers['access-control-allow-origin'], undefined, 'user origin list honoured')

  // A user list that repeats an MCP header (any case) does not duplicate it.
  const dup = await buildApp(t, { demo: true, options: { allowedOrigins: [APP_ORIGIN], cors: { origin: APP_ORIGIN, exposedHeaders: 'mcp-session-id, X-Custom' } } })
  const dupRes = await post(dup, INIT, postHeaders({ origin: APP_ORIGIN }))
  const dupExposed = headerList(dupRes.headers['access-control-expose-headers'])
  t.equal(dupExposed.filter((h) => h === 'mcp-session-id').length, 1)
  t.ok(dupExposed.includes('x-custom'))
})

t.test('without cors, OPTIONS /mcp answers 405 with Allow', async (t) => {
  const app = await buildApp(t, { demo: true })
  const res = await preflight(app, 'http://localhost:5173')
  t.equal(res.statusCode, 405)
  t.equal(res.headers.allow, 'GET, POST, DELETE')
  t.equal(res.json().error.code, -32000)
  t.equal(res.json().id, null)
  t.equal(res.headers['access-control-allow-origin'], undefined, 'no CORS grant')
  t.equal(res.headers['access-control-allow-headers'], undefined)

  const plain = await app.inject({ method: 'OPTIONS', url: '/mcp' })
  t.equal(plain.statusCode, 405)
  t.equal(plain.headers.allow, 'GET, POST, DELETE')

  const stateless = await buildApp(t, { demo: true, options: { stateless: true } })
  const statelessRes = await stateless.inject({ method: 'OPTIONS', url: '/mcp' })
  t.equal(statelessRes.statusCode, 405)
  t.equal(statelessRes.headers.allow, 'POST')

  // A real request without cors carries no CORS headers either.
  const session = await openSession(app)
  const call = await post(app, rpc(1, 'ping'), { ...session.headers, origin: 'http://localhost:5173' })
  t.equal(call.statusCode, 200)
  t.equal(call.headers['access-control-allow-origin'], undefined)
})

t.test('cors: true in stateless mode advertises POST only', async (t) => {
  const app = await buildApp(t, { demo: true, options: { cors: true, stateless: true, allowedOrigins: [APP_ORIGIN] } })
  const res = await preflight(app, APP_ORIGIN)
  t.equal(res.statusCode, 204)
  t.same(headerList(res.headers['access-control-allow-methods']), ['post'])
  const get = await app.inject({ method: 'GET', url: '/mcp', headers: { origin: APP_ORIGIN, accept: 'text/event-stream' } })
  t.equal(get.statusCode, 405)
  t.equal(get.headers.allow, 'POST')
})

/** Fastify + root-level @fastify/cors + the plugin. */
async function rootCorsApp (t: Test, pluginOptions: McpPluginOptions): Promise<FastifyInstance> {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyCors, { origin: [APP_ORIGIN], exposedHeaders: ['Mcp-Session-Id'] })
  app.get('/other', async () => ({ ok: true }))
  await app.register(mcp, { serverInfo: { name: 'root-cors', version: '1.0.0' }, allowedOrigins: [APP_ORIGIN], ...pluginOptions })
  registerDemoTools(app)
  return app
}

t.test('the plugin coexists with @fastify/cors registered at the root', async (t) => {
  const app = await rootCorsApp(t, {})
  await t.resolves(async () => { await app.ready() }, 'ready() without a route conflict')

  const pre = await preflight(app, APP_ORIGIN)
  t.equal(pre.statusCode, 204, 'the root CORS answers the preflight on /mcp')
  t.equal(pre.headers['access-control-allow-origin'], APP_ORIGIN)

  const res = await post(app, INIT, postHeaders({ origin: APP_ORIGIN }))
  t.equal(res.statusCode, 200)
  t.equal(res.json().result.serverInfo.name, 'root-cors')
  assertCorsActual(t, res.headers)

  const other = await app.inject({ method: 'GET', url: '/other', headers: { origin: APP_ORIGIN } })
  t.equal(other.statusCode, 200)
  t.equal(other.headers['access-control-allow-origin'], APP_ORIGIN, 'the rest of the app keeps its CORS')
})

t.test('the plugin with cors: true inside an app that also has root @fastify/cors', async (t) => {
  // Either the plugin serves CORS on /mcp, or registration fails with a clear error from
  // ready(). What must not happen: an uncaught FST_ERR_DEC_ALREADY_PRESENT thrown from the
  // nested @fastify/cors, then a plugin-start timeout. (The short pluginTimeout only bounds
  // that hang; nothing here asserts on time.)
  const app = Fastify({ pluginTimeout: 1000 })
  t.teardown(() => app.close().catch(() => {}))
  await app.register(fastifyCors, { origin: [APP_ORIGIN] })
  app.register(mcp, { allowedOrigins: [APP_ORIGIN], cors: true })
  const failure: { code?: string, message?: string } | undefined = await app.ready().then(() => undefined, (err: Error & { code?: string }) => err)
  if (failure !== undefined) {
    t.not(failure.code, 'AVV_ERR_PLUGIN_EXEC_TIMEOUT', `a clear registration error, not a plugin timeout (${failure.message})`)
    t.match(failure.message, /cors/i, 'the error names the CORS conflict')
    return
  }
  const pre = await preflight(app, APP_ORIGIN)
  t.equal(pre.statusCode, 204)
  t.equal(pre.headers['access-control-allow-origin'], APP_ORIGIN)
  const allowed = headerList(pre.headers['access-control-allow-headers'])
  for (const header of MCP_HEADERS) t.ok(allowed.includes(header), `allows ${header}`)
  const res = await post(app, INIT, postHeaders({ origin: APP_ORIGIN }))
  t.equal(res.statusCode, 200)
  assertCorsActual(t, res.headers)
})
