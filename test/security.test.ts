import t, { type Test } from 'tap'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance, FastifyRequest, LightMyRequestResponse } from 'fastify'
import type { McpAuthInfo, McpPluginOptions } from '../lib/index.js'
import { buildApp, initializeParams, logCapture, notification, openSession, post, postHeaders, request, rpc, serve, sseMessages, streamHeaders } from './helpers/index.js'

const INIT = rpc(0, 'initialize', initializeParams())
const RESOURCE_METADATA = 'https://mcp.example.com/.well-known/oauth-protected-resource/mcp'
const SCOPE = 'mcp:tools'
const CHALLENGE = `Bearer resource_metadata="${RESOURCE_METADATA}", scope="${SCOPE}"`

const TOKENS: Record<string, string> = {
  'secret-token-123': 'alice',
  'secret-token-bob': 'bob'
}

/** A JSON-RPC transport error: the status, `id: null`, the code. */
function assertRpcError (t: Test, res: LightMyRequestResponse, status: number, code: number, message?: string | RegExp): void {
  t.equal(res.statusCode, status, `status ${status}`)
  t.match(res.headers['content-type'], /^application\/json/)
  const body = res.json()
  t.equal(body.jsonrpc, '2.0')
  t.equal(body.id, null, 'id is null')
  t.equal(body.error?.code, code, `error code ${code}`)
  t.type(body.error?.message, 'string')
  t.notOk('result' in body)
  if (message !== undefined) t.match(body.error.message, message)
}

function initWith (app: FastifyInstance, headers: Record<string, string | undefined>, payload: unknown = INIT): Promise<LightMyRequestResponse> {
  return post(app, payload, postHeaders(headers))
}

function bearer (token: string): string {
  return `Bearer ${token}`
}

/** An auth hook over `TOKENS`, counting its calls. */
function tokenAuth (calls: { n: number } = { n: 0 }): McpPluginOptions['auth'] {
  return {
    resourceMetadataUrl: RESOURCE_METADATA,
    scope: SCOPE,
    authenticate (request: FastifyRequest): McpAuthInfo | null {
      calls.n++
      const header = request.headers.authorization
      if (header === undefined || !header.startsWith('Bearer ')) return null
      const principal = TOKENS[header.slice('Bearer '.length)]
      return principal === undefined ? null : { principal, scopes: [SCOPE] }
    }
  }
}

/** A tool that reports who called it, from `ctx.auth`. */
function addWhoami (app: FastifyInstance): void {
  app.mcp.tool({
    name: 'whoami',
    description: 'The caller principal',
    inputSchema: Type.Object({})
  }, async (_args, ctx) => `principal=${ctx.auth?.principal ?? 'none'} scopes=${(ctx.auth?.scopes ?? []).join(',')}`)
}

/** initialize + initialized with extra headers (e.g. Authorization) through inject. */
async function openSessionWith (t: Test, app: FastifyInstance, extra: Record<string, string>): Promise<{ id: string, headers: Record<string, string> }> {
  const res = await initWith(app, extra)
  t.equal(res.statusCode, 200, 'initialize 200')
  const id = res.headers['mcp-session-id'] as string
  t.type(id, 'string')
  const headers = postHeaders({ ...extra, 'mcp-session-id': id, 'mcp-protocol-version': res.json().result.protocolVersion })
  const ack = await post(app, notification('notifications/initialized'), headers)
  t.equal(ack.statusCode, 202, 'initialized 202')
  return { id, headers }
}

t.test('Host allowlist: loopback defaults when not listening (inject)', async (t) => {
  const app = await buildApp(t, { demo: true })

  for (const host of ['localhost', 'localhost:3000', '127.0.0.1', '127.0.0.1:8080', '[::1]', '[::1]:65535', 'LOCALHOST:1']) {
    const res = await initWith(app, { host })
    t.equal(res.statusCode, 200, `Host ${host} accepted`)
    t.type(res.headers['mcp-session-id'], 'string', `Host ${host}: session created`)
  }

  for (const host of ['evil.example.com', 'evil.example.com:80', 'localhost.evil.example.com', '127.0.0.1.nip.io', '10.0.0.1:3000']) {
    const res = await initWith(app, { host })
    assertRpcError(t, res, 403, -32000, /Host/)
    t.notOk(res.headers['mcp-session-id'], `Host ${host}: no session`)
  }
  t.equal((await app.mcp.stats()).sessions, 7, 'only the accepted Hosts created sessions')

  // GET and DELETE are guarded too.
  const session = await openSession(app)
  const get = await app.inject({ method: 'GET', url: '/mcp', headers: { ...streamHeaders(session), host: 'evil.example.com' } })
  assertRpcError(t, get, 403, -32000)
  const del = await app.inject({ method: 'DELETE', url: '/mcp', headers: { ...session.headers, host: 'evil.example.com' } })
  assertRpcError(t, del, 403, -32000)
  const still = await post(app, rpc(1, 'ping'), session.headers)
  t.equal(still.statusCode, 200, 'the forbidden DELETE did not end the session')
})

t.test('a bad Host is refused before the body is read', async (t) => {
  const app = await buildApp(t, { demo: true })
  const invalidJson = '{"jsonrpc": "2.0", "id": 1, "method": '

  const control = await initWith(app, {}, invalidJson)
  assertRpcError(t, control, 400, -32700)

  const res = await initWith(app, { host: 'evil.example.com' }, invalidJson)
  assertRpcError(t, res, 403, -32000)

  // Not even the body limit is reached: the body is never looked at.
  const huge = await initWith(app, { host: 'evil.example.com' }, 'x'.repeat(5 * 1024 * 1024))
  assertRpcError(t, huge, 403, -32000)

  // Nor the Content-Type.
  const wrongType = await app.inject({ method: 'POST', url: '/mcp', headers: { host: 'evil.example.com', 'content-type': 'text/plain', accept: 'application/json, text/event-stream' }, payload: 'hello' })
  assertRpcError(t, wrongType, 403, -32000)
})

t.test('a bad Host or Origin never reaches the auth hook', async (t) => {
  const calls = { n: 0 }
  const app = await buildApp(t, { demo: true, options: { auth: tokenAuth(calls) } })

  const badHost = await initWith(app, { host: 'evil.example.com', authorization: bearer('secret-token-123') })
  assertRpcError(t, badHost, 403, -32000)
  t.equal(badHost.headers['www-authenticate'], undefined, 'no auth challenge for a bad Host')
  t.equal(calls.n, 0, 'authenticate not called for a bad Host')

  const badHostNoToken = await initWith(app, { host: 'evil.example.com' }, '{not json')
  assertRpcError(t, badHostNoToken, 403, -32000)
  t.equal(calls.n, 0, 'authenticate not called for a bad Host without a token either')

  const badOrigin = await initWith(app, { origin: 'http://evil.example.com', authorization: bearer('secret-token-123') })
  assertRpcError(t, badOrigin, 403, -32000)
  t.equal(calls.n, 0, 'authenticate not called for a bad Origin')

  const good = await initWith(app, { authorization: bearer('secret-token-123') })
  t.equal(good.statusCode, 200)
  t.equal(calls.n, 1, 'authenticate called once for an allowed request')
})

t.test('Origin: default loopback policy', async (t) => {
  const app = await buildApp(t, { demo: true })

  const none = await initWith(app, {})
  t.equal(none.statusCode, 200, 'no Origin (non-browser client) accepted')

  for (const origin of ['http://localhost:5173', 'http://localhost', 'https://127.0.0.1:8443', 'http://[::1]:3000']) {
    const res = await initWith(app, { origin })
    t.equal(res.statusCode, 200, `Origin ${origin} accepted`)
  }

  for (const origin of ['http://evil.example.com', 'null', 'http://localhost.evil.example.com', 'file:///etc/passwd', 'chrome-extension://abcdef', 'not a url']) {
    const res = await initWith(app, { origin })
    assertRpcError(t, res, 403, -32000, /Origin/)
    t.notOk(res.headers['mcp-session-id'], `Origin ${origin}: no session`)
  }

  // Existing session, hostile page: every method refused.
  const session = await openSession(app)
  const postEvil = await post(app, rpc(1, 'tools/call', { name: 'echo', arguments: { text: 'x' } }), { ...session.headers, origin: 'http://evil.example.com' })
  assertRpcError(t, postEvil, 403, -32000)
  const getEvil = await app.inject({ method: 'GET', url: '/mcp', headers: { ...streamHeaders(session), origin: 'http://evil.example.com' } })
  assertRpcError(t, getEvil, 403, -32000)
  const delEvil = await app.inject({ method: 'DELETE', url: '/mcp', headers: { ...session.headers, origin: 'null' } })
  assertRpcError(t, delEvil, 403, -32000)
  t.equal((await post(app, rpc(2, 'ping'), session.headers)).statusCode, 200, 'session survived')
})

t.test('explicit allowedHosts / allowedOrigins replace the defaults', async (t) => {
  const app = await buildApp(t, { demo: true, options: { allowedHosts: ['mcp.example.com'], allowedOrigins: ['https://app.example.com'] } })

  t.equal((await initWith(app, { host: 'mcp.example.com' })).statusCode, 200, 'listed Host accepted')
  t.equal((await initWith(app, { host: 'MCP.example.com:8443' })).statusCode, 200, 'listed Host, any port and case')
  assertRpcError(t, await initWith(app, { host: 'localhost' }), 403, -32000)
  assertRpcError(t, await initWith(app, { host: '127.0.0.1:3000' }), 403, -32000)
  assertRpcError(t, await initWith(app, { host: 'evil.example.com' }), 403, -32000)

  const host = 'mcp.example.com'
  t.equal((await initWith(app, { host, origin: 'https://app.example.com' })).statusCode, 200, 'listed Origin accepted')
  t.equal((await initWith(app, { host })).statusCode, 200, 'no Origin still accepted')
  assertRpcError(t, await initWith(app, { host, origin: 'http://localhost:5173' }), 403, -32000)
  assertRpcError(t, await initWith(app, { host, origin: 'http://app.example.com' }), 403, -32000)
  assertRpcError(t, await initWith(app, { host, origin: 'https://app.example.com.evil.example.com' }), 403, -32000)
  assertRpcError(t, await initWith(app, { host, origin: 'null' }), 403, -32000)
})

t.test('allowedHosts: false and allowedOrigins: false disable the checks', async (t) => {
  const hostsOff = await buildApp(t, { demo: true, options: { allowedHosts: false } })
  t.equal((await initWith(hostsOff, { host: 'evil.example.com' })).statusCode, 200, 'any Host with allowedHosts: false')
  assertRpcError(t, await initWith(hostsOff, { host: 'evil.example.com', origin: 'http://evil.example.com' }), 403, -32000)

  const originsOff = await buildApp(t, { demo: true, options: { allowedOrigins: false } })
  t.equal((await initWith(originsOff, { origin: 'http://evil.example.com' })).statusCode, 200, 'any Origin with allowedOrigins: false')
  t.equal((await initWith(originsOff, { origin: 'null' })).statusCode, 200, 'even "null" with allowedOrigins: false')
  assertRpcError(t, await initWith(originsOff, { host: 'evil.example.com' }), 403, -32000)

  const bothOff = await buildApp(t, { demo: true, options: { allowedHosts: false, allowedOrigins: false } })
  t.equal((await initWith(bothOff, { host: 'evil.example.com', origin: 'http://evil.example.com' })).statusCode, 200, 'both checks off')
})

t.test('real socket on 127.0.0.1: loopback defaults and the dns-rebinding-protection scenario', async (t) => {
  const { url } = await serve(t, { demo: true })
  const port = url.port

  const evilHost = await request(url, 'POST', postHeaders({ host: 'evil.example.com' }), INIT)
  await evilHost.waitEnd()
  t.equal(evilHost.status, 403, 'Host evil.example.com → 403')
  const evilBody = JSON.parse(evilHost.raw)
  t.equal(evilBody.id, null)
  t.equal(evilBody.error.code, -32000)
  t.equal(evilHost.headers['mcp-session-id'], undefined)

  // conformance dns-rebinding-protection: both non-localhost → 4xx
  const rebinding = await request(url, 'POST', postHeaders({ host: 'evil.example.com', origin: 'http://evil.example.com' }), INIT)
  await rebinding.waitEnd()
  t.ok(rebinding.status >= 400 && rebinding.status < 500, `rebinding attempt answered 4xx (${rebinding.status})`)
  t.equal(rebinding.status, 403)
  t.equal(JSON.parse(rebinding.raw).error.code, -32000)

  // conformance dns-rebinding-protection: both localhost → 2xx
  const local = await request(url, 'POST', postHeaders({ host: `127.0.0.1:${port}`, origin: `http://127.0.0.1:${port}` }), INIT)
  await local.waitEnd()
  t.ok(local.status >= 200 && local.status < 300, `localhost Host + Origin answered 2xx (${local.status})`)
  t.equal(JSON.parse(local.raw).result.serverInfo.name, 'fastify-mcp-streamable-demo')
  t.type(local.headers['mcp-session-id'], 'string')

  const localhostName = await request(url, 'POST', postHeaders({ host: `localhost:${port}`, origin: `http://localhost:${port}` }), INIT)
  await localhostName.waitEnd()
  t.equal(localhostName.status, 200, 'Host localhost:<port> accepted')

  const evilOriginOnly = await request(url, 'POST', postHeaders({ host: `127.0.0.1:${port}`, origin: 'http://evil.example.com' }), INIT)
  await evilOriginOnly.waitEnd()
  t.equal(evilOriginOnly.status, 403, 'loopback Host with a foreign Origin → 403')
})

t.test('real socket on 0.0.0.0: no Host restriction, Origin must match the Host', async (t) => {
  const app = await buildApp(t, { demo: true })
  await app.listen({ host: '0.0.0.0', port: 0 })
  const { port } = app.server.address() as { port: number }
  const url = new URL(`http://127.0.0.1:${port}/mcp`)

  const anyHost = await request(url, 'POST', postHeaders({ host: 'mcp.example.com' }), INIT)
  await anyHost.waitEnd()
  t.equal(anyHost.status, 200, 'any Host accepted when not bound to loopback')

  const sameOrigin = await request(url, 'POST', postHeaders({ host: 'mcp.example.com', origin: 'https://mcp.example.com' }), INIT)
  await sameOrigin.waitEnd()
  t.equal(sameOrigin.status, 200, 'same-origin Origin accepted')

  const crossOrigin = await request(url, 'POST', postHeaders({ host: 'mcp.example.com', origin: 'https://evil.example.com' }), INIT)
  await crossOrigin.waitEnd()
  t.equal(crossOrigin.status, 403, 'cross-origin Origin refused')
})

t.test('auth: missing or invalid tokens answer 401 with WWW-Authenticate on POST, GET and DELETE', async (t) => {
  const app = await buildApp(t, { demo: true, options: { auth: tokenAuth() } })
  const alice = await openSessionWith(t, app, { authorization: bearer('secret-token-123') })

  const assert401 = (res: LightMyRequestResponse, what: string): void => {
    t.test(what, async (t) => {
      assertRpcError(t, res, 401, -32000)
      t.equal(res.headers['www-authenticate'], CHALLENGE, 'challenge names resource_metadata and scope')
      t.notOk(res.headers['mcp-session-id'])
    })
  }
  const noAuth = { ...alice.headers }
  delete noAuth.authorization

  for (const [label, authorization] of [['missing', undefined], ['unknown token', bearer('nope')], ['wrong scheme', 'Basic c2VjcmV0LXRva2VuLTEyMw=='], ['empty bearer', 'Bearer ']] as const) {
    const headers = authorization === undefined ? noAuth : { ...noAuth, authorization }
    assert401(await initWith(app, { authorization }), `POST initialize, ${label} token`)
    assert401(await post(app, rpc(1, 'tools/call', { name: 'echo', arguments: { text: 'hi' } }), headers), `POST on a session, ${label} token`)
    assert401(await app.inject({ method: 'GET', url: '/mcp', headers: { accept: 'text/event-stream', 'mcp-session-id': alice.id, 'mcp-protocol-version': headers['mcp-protocol-version']!, ...(authorization === undefined ? {} : { authorization }) } }), `GET, ${label} token`)
    assert401(await app.inject({ method: 'DELETE', url: '/mcp', headers }), `DELETE, ${label} token`)
  }

  // 401 is decided before the body: invalid JSON without a token is 401, not 400.
  assert401(await initWith(app, {}, '{not json'), 'invalid JSON without a token')

  // None of the 401s touched the session.
  const ok = await post(app, rpc(2, 'ping'), alice.headers)
  t.equal(ok.statusCode, 200, 'alice still has her session')
  t.equal((await app.mcp.stats()).sessions, 1, 'no session was created by an unauthenticated initialize')
})

t.test('auth: a challenge without scope carries only resource_metadata', async (t) => {
  const app = await buildApp(t, { demo: true, options: { auth: { resourceMetadataUrl: RESOURCE_METADATA, authenticate: () => null } } })
  const res = await initWith(app, {})
  assertRpcError(t, res, 401, -32000)
  t.equal(res.headers['www-authenticate'], `Bearer resource_metadata="${RESOURCE_METADATA}"`)
})

t.test('auth: an authenticate hook that throws answers 401, never 500', async (t) => {
  let calls = 0
  const app = await buildApp(t, {
    demo: true,
    options: {
      auth: {
        resourceMetadataUrl: RESOURCE_METADATA,
        scope: SCOPE,
        authenticate () {
          calls++
          throw new Error('token verification exploded')
        }
      }
    }
  })
  const sync = await initWith(app, { authorization: bearer('secret-token-123') })
  assertRpcError(t, sync, 401, -32000)
  t.equal(sync.headers['www-authenticate'], CHALLENGE)
  t.notMatch(sync.payload, /exploded/, 'the error message does not leak')

  const asyncApp = await buildApp(t, {
    demo: true,
    options: {
      auth: {
        resourceMetadataUrl: RESOURCE_METADATA,
        scope: SCOPE,
        async authenticate () {
          calls++
          throw new Error('async verification exploded')
        }
      }
    }
  })
  const rejected = await initWith(asyncApp, { authorization: bearer('secret-token-123') })
  assertRpcError(t, rejected, 401, -32000)
  t.equal(rejected.headers['www-authenticate'], CHALLENGE)
  const get = await asyncApp.inject({ method: 'GET', url: '/mcp', headers: { accept: 'text/event-stream', 'mcp-session-id': 'x' } })
  assertRpcError(t, get, 401, -32000)
  const del = await asyncApp.inject({ method: 'DELETE', url: '/mcp', headers: { 'mcp-session-id': 'x' } })
  assertRpcError(t, del, 401, -32000)

  // A principal that is not a string is not a principal.
  const badShape = await buildApp(t, { demo: true, options: { auth: { authenticate: () => ({ principal: 42 }) as unknown as McpAuthInfo } } })
  const bad = await initWith(badShape, {})
  assertRpcError(t, bad, 401, -32000)
  t.equal(bad.headers['www-authenticate'], 'Bearer', 'bare challenge with no metadata options')
  t.equal(calls, 4)
})

t.test('auth: a valid token is served and ctx.auth reaches the tool handler', async (t) => {
  const app = await buildApp(t, { demo: true, options: { auth: tokenAuth() } })
  addWhoami(app)
  const alice = await openSessionWith(t, app, { authorization: bearer('secret-token-123') })
  const res = await post(app, rpc(1, 'tools/call', { name: 'whoami', arguments: {} }), alice.headers)
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.equal(body.id, 1)
  t.notOk(body.result.isError)
  t.same(body.result.content, [{ type: 'text', text: `principal=alice scopes=${SCOPE}` }])

  const bob = await openSessionWith(t, app, { authorization: bearer('secret-token-bob') })
  const bobRes = await post(app, rpc(2, 'tools/call', { name: 'whoami', arguments: {} }), bob.headers)
  t.same(bobRes.json().result.content, [{ type: 'text', text: `principal=bob scopes=${SCOPE}` }])

  // Without auth configured, ctx.auth is undefined.
  const open = await buildApp(t, { demo: true })
  addWhoami(open)
  const session = await openSession(open)
  const anon = await post(open, rpc(3, 'tools/call', { name: 'whoami', arguments: {} }), session.headers)
  t.same(anon.json().result.content, [{ type: 'text', text: 'principal=none scopes=' }])
})

t.test('auth: a session is bound to the principal that created it', async (t) => {
  const app = await buildApp(t, { demo: true, options: { auth: tokenAuth() } })
  addWhoami(app)
  const alice = await openSessionWith(t, app, { authorization: bearer('secret-token-123') })
  const asBob = { ...alice.headers, authorization: bearer('secret-token-bob') }
  const call = rpc(1, 'tools/call', { name: 'whoami', arguments: {} })

  const stolen = await post(app, call, asBob)
  t.equal(stolen.statusCode, 404, 'another principal: 404')
  t.equal(stolen.json().error.code, -32001)
  t.equal(stolen.json().id, null)

  const stolenGet = await app.inject({ method: 'GET', url: '/mcp', headers: { accept: 'text/event-stream', 'mcp-session-id': alice.id, authorization: bearer('secret-token-bob') } })
  t.equal(stolenGet.statusCode, 404, 'GET by another principal: 404')
  t.equal(stolenGet.json().error.code, -32001)

  const stolenDelete = await app.inject({ method: 'DELETE', url: '/mcp', headers: asBob })
  t.equal(stolenDelete.statusCode, 404, 'DELETE by another principal: 404')
  t.equal(stolenDelete.json().error.code, -32001)

  const own = await post(app, call, alice.headers)
  t.equal(own.statusCode, 200, 'the owner: 200')
  t.same(own.json().result.content, [{ type: 'text', text: `principal=alice scopes=${SCOPE}` }])

  // The 404 for another principal looks exactly like the one for an unknown session.
  const unknown = await post(app, call, { ...alice.headers, 'mcp-session-id': 'no-such-session' })
  t.equal(unknown.statusCode, 404)
  t.same(unknown.json(), stolen.json(), 'indistinguishable from an unknown session')

  const deleted = await app.inject({ method: 'DELETE', url: '/mcp', headers: alice.headers })
  t.equal(deleted.statusCode, 204, 'the owner can DELETE')
  t.equal((await post(app, call, alice.headers)).statusCode, 404, 'then it is gone')
})

t.test('logs never carry a session id or a bearer token', async (t) => {
  const { stream, lines } = logCapture()
  const TOKEN = 'secret-token-123'
  const WRONG_TOKEN = 'secret-token-wrong-999'

  // 1. No auth: initialize, tools/call (JSON and SSE), DELETE, then the deleted id again.
  const app = await buildApp(t, { demo: true, fastify: { logger: { level: 'info', stream } } })
  const session = await openSession(app)
  const echo = await post(app, rpc(1, 'tools/call', { name: 'echo', arguments: { text: 'hello' } }), session.headers)
  t.equal(echo.statusCode, 200)
  const countdown = await post(app, rpc(2, 'tools/call', { name: 'countdown', arguments: { from: 2, intervalMs: 0 }, _meta: { progressToken: 'p' } }), session.headers)
  t.match(countdown.headers['content-type'], /text\/event-stream/)
  t.ok(sseMessages(countdown.payload).some((m) => m.id === 2), 'countdown answered over SSE')
  const unknownTool = await post(app, rpc(3, 'tools/call', { name: 'nope', arguments: {} }), session.headers)
  t.equal(unknownTool.statusCode, 200)
  const del = await app.inject({ method: 'DELETE', url: '/mcp', headers: session.headers })
  t.equal(del.statusCode, 204)
  const gone = await post(app, rpc(4, 'ping'), session.headers)
  t.equal(gone.statusCode, 404)

  // 2. Auth: a protected session, a tool call, a wrong token, another principal, DELETE.
  const authApp = await buildApp(t, { demo: true, options: { auth: tokenAuth() }, fastify: { logger: { level: 'info', stream } } })
  addWhoami(authApp)
  const alice = await openSessionWith(t, authApp, { authorization: bearer(TOKEN) })
  const who = await post(authApp, rpc(5, 'tools/call', { name: 'whoami', arguments: {} }), alice.headers)
  t.equal(who.statusCode, 200)
  const wrong = await post(authApp, rpc(6, 'ping'), { ...alice.headers, authorization: bearer(WRONG_TOKEN) })
  t.equal(wrong.statusCode, 401)
  const asBob = await post(authApp, rpc(7, 'ping'), { ...alice.headers, authorization: bearer('secret-token-bob') })
  t.equal(asBob.statusCode, 404)
  const aliceDel = await authApp.inject({ method: 'DELETE', url: '/mcp', headers: alice.headers })
  t.equal(aliceDel.statusCode, 204)

  await app.close()
  await authApp.close()

  t.ok(lines.length > 10, `logs were captured (${lines.length} lines)`)
  const created = lines.filter((line) => line.includes('session started'))
  t.equal(created.length, 2, '"session started" logged once per session')
  const createdEntries = created.map((line) => JSON.parse(line))
  t.equal(createdEntries[0].level, 30, 'at info level')
  t.ok(created[0]!.includes(session.id.slice(0, 8)), 'a short prefix of the session id identifies it')
  t.ok(created[1]!.includes(alice.id.slice(0, 8)), 'a short prefix of the second session id identifies it')
  t.ok(lines.some((line) => line.includes('session ended') && line.includes('"reason":"deleted"')), '"session ended" (deleted) logged')

  for (const [what, secret] of [['session id', session.id], ['auth session id', alice.id], ['bearer token', TOKEN], ['wrong bearer token', WRONG_TOKEN]] as const) {
    const leaking = lines.filter((line) => line.includes(secret))
    t.same(leaking, [], `no log line contains the ${what}`)
  }
  // Nor a long slice of a session id (a prefix of 8 is the design).
  for (const id of [session.id, alice.id]) {
    t.same(lines.filter((line) => line.includes(id.slice(0, 16))), [], 'no log line contains 16 characters of a session id')
  }
})
