// The built-in resource server with JWT access tokens: every check of a token, the RFC 9728
// metadata, the challenges, scopes per operation on both eras, lists, and the binding of
// sessions to the verified principal.
import { Type } from '@sinclair/typebox'
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify'
import { SignJWT, UnsecuredJWT } from 'jose'
import t, { type Test } from 'tap'
import mcp, { type McpAuthOptions, type McpPluginOptions } from '../lib/index.js'
import { initializeParams, listen, logCapture, notification, post, postHeaders, request, rpc } from './helpers/index.js'
import { TestIssuer, signingKey } from './helpers/jwt.js'
import { envelope, modernHeaders, modernRpc } from './helpers/modern.js'

const RESOURCE = 'http://localhost/mcp'
const METADATA = 'http://localhost/.well-known/oauth-protected-resource/mcp'

let issuer: TestIssuer
t.before(async () => { issuer = await TestIssuer.start() })
t.teardown(() => issuer.close())

function jwtAuth (extra: Partial<McpAuthOptions> = {}, jwt: Partial<NonNullable<McpAuthOptions['jwt']>> = {}): McpAuthOptions {
  return { jwt: { issuer: issuer.issuer, jwksUri: issuer.jwksUri, ...jwt }, resource: RESOURCE, ...extra }
}

interface Calls { tool: number, prompt: number, resource: number, template: number }

/** The plugin with one open and one scoped entry of each kind, counting handler runs. */
async function build (t: Test, auth: McpAuthOptions, options: McpPluginOptions = {}, fastify = {}): Promise<{ app: FastifyInstance, calls: Calls }> {
  const app = Fastify(fastify)
  t.teardown(() => app.close())
  await app.register(mcp, { ...options, auth })
  const calls: Calls = { tool: 0, prompt: 0, resource: 0, template: 0 }
  app.mcp.tool({ name: 'whoami', description: 'The caller', inputSchema: Type.Object({}) }, async (_args, ctx) => JSON.stringify(ctx.auth))
  app.mcp.tool({ name: 'delete_all', description: 'Scoped', inputSchema: Type.Object({}), scopes: ['files:write', 'admin'] }, async () => { calls.tool++; return 'deleted' })
  app.mcp.prompt({ name: 'secret', description: 'Scoped prompt', scopes: ['prompts:secret'] }, async () => { calls.prompt++; return 'psst' })
  app.mcp.resource({ uri: 'file:///private', name: 'private', scopes: ['files:read'] }, async () => { calls.resource++; return 'private' })
  app.mcp.resource({ uri: 'file:///public', name: 'public' }, async () => 'public')
  app.mcp.resourceTemplate({ uriTemplate: 'file:///logs/{day}', name: 'logs', scopes: ['logs:read'] }, async () => { calls.template++; return 'log' })
  await app.ready()
  return { app, calls }
}

const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` })

async function initialize (app: FastifyInstance, token: string, version = '2025-11-25'): Promise<Record<string, string>> {
  const res = await post(app, rpc(0, 'initialize', initializeParams(version)), postHeaders(bearer(token)))
  if (res.statusCode !== 200) throw new Error(`initialize: ${res.statusCode} ${res.payload}`)
  const headers = postHeaders({ ...bearer(token), 'mcp-session-id': res.headers['mcp-session-id'] as string, 'mcp-protocol-version': version })
  const ack = await post(app, notification('notifications/initialized'), headers)
  if (ack.statusCode !== 202) throw new Error(`initialized: ${ack.statusCode}`)
  return headers
}

function modern (app: FastifyInstance, message: Record<string, unknown>, token?: string): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url: '/mcp', headers: modernHeaders(message, token === undefined ? {} : bearer(token)), payload: JSON.stringify(message) })
}

/** A refusal: status, the challenge, a JSON-RPC body and never a stack trace. */
function assertRefused (t: Test, res: LightMyRequestResponse, status: 401 | 403, challenge: RegExp, label: string): void {
  t.equal(res.statusCode, status, `${label}: ${status}`)
  t.match(res.headers['www-authenticate'], challenge, `${label}: challenge`)
  const body = res.json()
  t.equal(body.jsonrpc, '2.0', `${label}: a JSON-RPC error body`)
  t.notMatch(res.payload, /\bat .+:\d+:\d+|stack/i, `${label}: no stack trace`)
}

const INVALID = new RegExp(`^Bearer resource_metadata="${METADATA.replace(/[./]/g, '\\$&')}", error="invalid_token", error_description="[^"]+"$`)

t.test('options: the resource server settings are validated once, with FST_MCP_INVALID_OPTION', async (t) => {
  const cases: Array<[string, McpAuthOptions, string]> = [
    ['jwt without resource', { jwt: { issuer: 'https://as.example.com', jwksUri: 'https://as.example.com/jwks' } }, 'auth.resource'],
    ['resource not a URL', { ...jwtAuth(), resource: 'mcp' }, 'auth.resource'],
    ['resource with a fragment', { ...jwtAuth(), resource: 'https://x.example.com/mcp#f' }, 'auth.resource'],
    ['jwt without keys', { jwt: { issuer: 'https://as.example.com' }, resource: RESOURCE }, 'auth.jwt'],
    ['issuer with a fragment', { jwt: { issuer: 'https://as.example.com#x', jwksUri: 'https://as.example.com/jwks' }, resource: RESOURCE }, 'auth.jwt.issuer'],
    ['alg none', jwtAuth({}, { algorithms: ['none'] }), 'auth.jwt.algorithms'],
    ['jwksUri not http', jwtAuth({}, { jwksUri: 'file:///etc/jwks' }), 'auth.jwt.jwksUri'],
    ['negative clock tolerance', jwtAuth({}, { clockToleranceSec: -1 }), 'auth.jwt.clockToleranceSec'],
    ['a scope with a space', jwtAuth({ scopes: ['a b'] }), 'auth.scopes'],
    ['a scope with a quote', jwtAuth({ scopes: ['a"b'] }), 'auth.scopes'],
    ['authenticate and jwt', { ...jwtAuth(), authenticate: () => null }, 'auth'],
    ['introspection without secret', { introspection: { url: 'https://as.example.com/introspect', clientId: 'rs' } as never, resource: RESOURCE, authorizationServers: ['https://as.example.com'] }, 'auth.introspection.clientSecret'],
    ['introspection without an authorization server', { introspection: { url: 'https://as.example.com/introspect', clientId: 'rs', clientSecret: 's' }, resource: RESOURCE }, 'auth.authorizationServers'],
    ['listOnlyPermitted not boolean', jwtAuth({ listOnlyPermitted: 'yes' as never }), 'auth.listOnlyPermitted']
  ]
  for (const [label, auth, name] of cases) {
    const app = Fastify()
    await t.rejects(async () => { await app.register(mcp, { auth }); await app.ready() }, { code: 'FST_MCP_INVALID_OPTION', message: new RegExp(`"${name.replace(/\./g, '\\.')}"`) }, label)
    await app.close()
  }
  const pub = Fastify()
  await t.rejects(async () => { await pub.register(mcp, { auth: jwtAuth({ listOnlyPermitted: true }), cacheHints: { 'tools/list': { cacheScope: 'public' } } }); await pub.ready() }, { code: 'FST_MCP_INVALID_OPTION', message: /"cacheHints\.tools\/list\.cacheScope"/ }, 'per-caller lists cannot be cached publicly')
  await pub.close()
  const scoped = Fastify()
  t.teardown(() => scoped.close())
  await scoped.register(mcp)
  t.throws(() => scoped.mcp.tool({ name: 'x', description: 'x', scopes: ['bad scope'] }, async () => 'x'), { code: 'FST_MCP_INVALID_TOOL' })
  t.throws(() => scoped.mcp.prompt({ name: 'x', description: 'x', scopes: [''] }, async () => 'x'), { code: 'FST_MCP_INVALID_PROMPT' })
  t.throws(() => scoped.mcp.resource({ uri: 'file:///x', name: 'x', scopes: 'files' as never }, async () => 'x'), { code: 'FST_MCP_INVALID_RESOURCE' })
})

t.test('RFC 9728 metadata at the path-inserted and the root well-known URIs, readable cross-origin', async (t) => {
  const { app } = await build(t, jwtAuth({ scopes: ['mcp'], documentation: 'https://docs.example.com/mcp', scopesSupported: undefined }))
  for (const url of ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource']) {
    const res = await app.inject({ method: 'GET', url, headers: { origin: 'https://app.example.com' } })
    t.equal(res.statusCode, 200, url)
    t.equal(res.headers['access-control-allow-origin'], '*', `${url}: CORS-readable`)
    t.match(res.headers['content-type'], /^application\/json/)
    const doc = res.json()
    t.strictSame(doc, {
      resource: RESOURCE,
      authorization_servers: [issuer.issuer],
      scopes_supported: ['mcp', 'files:write', 'admin', 'prompts:secret', 'files:read', 'logs:read'],
      bearer_methods_supported: ['header'],
      resource_signing_alg_values_supported: ['RS256', 'PS256', 'ES256', 'EdDSA'],
      resource_documentation: 'https://docs.example.com/mcp'
    }, `${url}: the document`)
  }
  const preflight = await app.inject({ method: 'OPTIONS', url: '/.well-known/oauth-protected-resource/mcp', headers: { origin: 'https://app.example.com', 'access-control-request-method': 'GET' } })
  t.equal(preflight.statusCode, 204)
  t.equal(preflight.headers['access-control-allow-origin'], '*')

  const { app: minimal } = await build(t, jwtAuth({ scopesSupported: ['mcp:read', 'offline_access'] }))
  const advertised = (await minimal.inject({ method: 'GET', url: '/.well-known/oauth-protected-resource/mcp' })).json().scopes_supported
  t.strictSame(advertised, ['mcp:read'], 'offline_access is never advertised')
})

t.test('no token → 401 with resource_metadata and the endpoint scopes, on POST, GET and DELETE; the query string is never read', async (t) => {
  const { app } = await build(t, jwtAuth({ scopes: ['mcp:read'] }))
  const challenge = `Bearer resource_metadata="${METADATA}", scope="mcp:read"`
  const token = await issuer.sign({ aud: RESOURCE, scope: 'mcp:read' })
  for (const res of [
    await post(app, rpc(1, 'initialize', initializeParams()), postHeaders()),
    await app.inject({ method: 'POST', url: `/mcp?access_token=${token}`, headers: postHeaders(), payload: rpc(1, 'initialize', initializeParams()) }),
    await app.inject({ method: 'GET', url: '/mcp', headers: { accept: 'text/event-stream', 'mcp-session-id': 'x' } }),
    await app.inject({ method: 'DELETE', url: '/mcp', headers: { 'mcp-session-id': 'x' } })
  ]) {
    t.equal(res.statusCode, 401)
    t.equal(res.headers['www-authenticate'], challenge, 'no error code when no token was presented')
  }
})

t.test('every kind of bad token → 401 invalid_token, never a 5xx or a stack trace', async (t) => {
  const { app, calls } = await build(t, jwtAuth())
  const now = Math.floor(Date.now() / 1000)
  const stranger = await TestIssuer.start('https://evil.example.com')
  t.teardown(() => stranger.close())
  const otherKey = await signingKey('key-1')
  const good = await issuer.sign({ aud: RESOURCE })
  const [h, p] = good.split('.')
  const hs256 = await new SignJWT({ iss: issuer.issuer, sub: 'alice', aud: RESOURCE, exp: now + 300 }).setProtectedHeader({ alg: 'HS256', kid: 'key-1' }).sign(new TextEncoder().encode('a-shared-secret-anyone-could-guess-000'))
  const cases: Array<[string, string]> = [
    ['garbage', 'Bearer not-a-jwt'],
    ['three parts of garbage', 'Bearer a.b.c'],
    ['the Basic scheme', 'Basic YWxpY2U6c2VjcmV0'],
    ['an empty bearer', 'Bearer '],
    ['characters a token cannot hold', 'Bearer abc"def'],
    ['alg none', `Bearer ${new UnsecuredJWT({ iss: issuer.issuer, sub: 'alice', aud: RESOURCE, exp: now + 300 }).encode()}`],
    ['HS256 (not allowed)', `Bearer ${hs256}`],
    ['another audience', `Bearer ${await issuer.sign({ aud: 'https://other.example.com/mcp' })}`],
    ['no audience', `Bearer ${await issuer.sign({})}`],
    ['expired', `Bearer ${await issuer.sign({ aud: RESOURCE, iat: now - 600, exp: now - 120 })}`],
    ['not valid yet', `Bearer ${await issuer.sign({ aud: RESOURCE, nbf: now + 600 })}`],
    ['another issuer', `Bearer ${await stranger.sign({ aud: RESOURCE })}`],
    ['another issuer claimed, our kid, other key', `Bearer ${await issuer.sign({ aud: RESOURCE }, { key: otherKey })}`],
    ['an unknown kid', `Bearer ${await issuer.sign({ aud: RESOURCE }, { header: { kid: 'nope' } })}`],
    ['a tampered payload', `Bearer ${h}.${Buffer.from(JSON.stringify({ iss: issuer.issuer, sub: 'root', aud: RESOURCE, exp: now + 300 })).toString('base64url')}.${good.split('.')[2]}`],
    ['no subject', `Bearer ${await issuer.sign({ aud: RESOURCE, sub: undefined })}`],
    ['no expiry', `Bearer ${await issuer.sign({ aud: RESOURCE, exp: undefined })}`],
    ['a huge token', `Bearer ${h}.${p}${'A'.repeat(60_000)}.x`]
  ]
  for (const [label, authorization] of cases) {
    const res = await post(app, rpc(1, 'tools/call', { name: 'delete_all', arguments: {} }), postHeaders({ authorization, 'mcp-session-id': 'whatever' }))
    assertRefused(t, res, 401, INVALID, label)
    const mod = await app.inject({ method: 'POST', url: '/mcp', headers: { ...modernHeaders(modernRpc(2, 'tools/call', { name: 'delete_all', arguments: {} })), authorization }, payload: modernRpc(2, 'tools/call', { name: 'delete_all', arguments: {} }) })
    assertRefused(t, mod, 401, INVALID, `${label} (2026-07-28)`)
  }
  t.equal(calls.tool, 0, 'no handler ran')
  t.ok(issuer.fetches <= 2, `the JWKS was not fetched per bad token (${issuer.fetches} fetches)`)
})

t.test('accepted tokens: clock tolerance, canonical audience, scp arrays, issuer + subject principal', async (t) => {
  const { app } = await build(t, jwtAuth({}, { clockToleranceSec: 60 }))
  const now = Math.floor(Date.now() / 1000)
  const cases: Array<[string, string, RegExp]> = [
    ['expired within the tolerance', await issuer.sign({ aud: RESOURCE, exp: now - 30 }), /"principal":"http:\/\/127\.0\.0\.1:\d+#alice"/],
    ['the audience in another case and with a slash', await issuer.sign({ aud: ['https://else.example.com', 'HTTP://LOCALHOST/mcp/'] }), /#alice/],
    ['scp as an array', await issuer.sign({ aud: RESOURCE, scp: ['a', 'b'] }), /"scopes":\["a","b"\]/],
    ['scope as a string', await issuer.sign({ aud: RESOURCE, scope: 'a b', sub: 'bob' }), /#bob","scopes":\["a","b"\]/]
  ]
  for (const [label, token, expected] of cases) {
    const res = await modern(app, modernRpc(1, 'tools/call', { name: 'whoami', arguments: {} }), token)
    t.equal(res.statusCode, 200, label)
    const text = res.json().result.content[0].text as string
    t.match(text, expected, label)
    t.notOk(text.includes(token), `${label}: the token itself is never handed to handlers`)
  }
})

t.test('a verified token is remembered, never past its exp, and its verdict cannot be altered by a handler', async (t) => {
  const { app } = await build(t, jwtAuth({}, { clockToleranceSec: 0 }))
  app.mcp.tool({ name: 'escalate', description: 'Tries to grant itself a scope' }, async (_args, ctx) => {
    try { ctx.auth!.scopes!.push('admin') } catch {}
    return 'tried'
  })
  const token = await issuer.sign({ aud: RESOURCE, scope: 'files:write', exp: Math.floor(Date.now() / 1000) + 2 })
  const call = async (name: string): Promise<LightMyRequestResponse> => modern(app, modernRpc(1, 'tools/call', { name, arguments: {} }), token)
  t.equal((await call('whoami')).statusCode, 200)
  t.equal((await call('escalate')).statusCode, 200)
  const after = await call('delete_all')
  t.equal(after.statusCode, 403, 'the remembered scopes are still the token\'s own')
  await new Promise((resolve) => setTimeout(resolve, 2100))
  assertRefused(t, await call('whoami'), 401, INVALID, 'the same token once expired')
})

t.test('JWKS rotation mid-run: a new kid is fetched once the cooldown allows, and requests are still served', async (t) => {
  const rotating = await TestIssuer.start()
  t.teardown(() => rotating.close())
  const { app } = await build(t, { jwt: { issuer: rotating.issuer, jwksUri: rotating.jwksUri, jwksCooldownMs: 200 }, resource: RESOURCE })
  const call = async (token: string): Promise<number> => (await modern(app, modernRpc(1, 'tools/call', { name: 'whoami', arguments: {} }), token)).statusCode
  t.equal(await call(await rotating.sign({ aud: RESOURCE })), 200, 'served with the first key')
  t.equal(await call(await rotating.sign({ aud: RESOURCE })), 200, 'again, from the cached JWKS')
  t.equal(rotating.fetches, 1, 'one fetch so far')
  await new Promise((resolve) => setTimeout(resolve, 250))
  await rotating.rotate('key-2')
  t.equal(await call(await rotating.sign({ aud: RESOURCE })), 200, 'a token signed with the rotated key is served')
  t.equal(rotating.fetches, 2, 'the unknown kid made one refetch')
  for (let i = 0; i < 20; i++) await call(await rotating.sign({ aud: RESOURCE }, { header: { kid: `made-up-${i}` } }))
  t.equal(rotating.fetches, 2, 'made-up kids within the cooldown fetch nothing more')
})

t.test('keys that cannot be fetched → 503 with Retry-After, not 401 and not a crash', async (t) => {
  const { app } = await build(t, jwtAuth({}, { jwksUri: 'http://127.0.0.1:9/jwks' }))
  const res = await post(app, rpc(1, 'initialize', initializeParams()), postHeaders(bearer(await issuer.sign({ aud: RESOURCE }))))
  t.equal(res.statusCode, 503)
  t.equal(res.headers['retry-after'], '5')
  t.match(res.json(), { error: { code: -32000 } })
})

t.test('static keys: a KeyObject or JWK, without any JWKS', async (t) => {
  const key = await signingKey('static-1', 'ES256')
  const { app } = await build(t, { jwt: { issuer: 'https://static.example.com', keys: [key.jwk] }, resource: RESOURCE })
  const token = await new SignJWT({ iss: 'https://static.example.com', sub: 'carol', aud: RESOURCE, exp: Math.floor(Date.now() / 1000) + 60 }).setProtectedHeader({ alg: 'ES256', kid: 'static-1' }).sign(key.privateKey)
  t.equal((await modern(app, modernRpc(1, 'tools/call', { name: 'whoami', arguments: {} }), token)).statusCode, 200)
})

const INSUFFICIENT = (scope: string): RegExp => new RegExp(`^Bearer resource_metadata="${METADATA.replace(/[./]/g, '\\$&')}", scope="${scope}", error="insufficient_scope", error_description="[^"]+"$`)

t.test('2026-07-28: an operation whose scopes the token lacks → 403 insufficient_scope naming all it needs, before the handler runs', async (t) => {
  const { app, calls } = await build(t, jwtAuth({ scopes: ['mcp'] }))
  const weak = await issuer.sign({ aud: RESOURCE, scope: 'mcp files:write' })
  const strong = await issuer.sign({ aud: RESOURCE, scope: 'mcp files:write admin prompts:secret files:read logs:read' })
  const operations: Array<[string, Record<string, unknown>, string, keyof Calls]> = [
    ['a tool', modernRpc('t1', 'tools/call', { name: 'delete_all', arguments: {} }), 'mcp files:write admin', 'tool'],
    ['a prompt', modernRpc('p1', 'prompts/get', { name: 'secret' }), 'mcp prompts:secret', 'prompt'],
    ['a resource', modernRpc('r1', 'resources/read', { uri: 'file:///private' }), 'mcp files:read', 'resource'],
    ['a template', modernRpc('r2', 'resources/read', { uri: 'file:///logs/monday' }), 'mcp logs:read', 'template']
  ]
  for (const [label, message, scope, counter] of operations) {
    const refused = await modern(app, message, weak)
    assertRefused(t, refused, 403, INSUFFICIENT(scope), label)
    t.equal(refused.json().id, message.id, `${label}: the error echoes the request id`)
    t.equal(calls[counter], 0, `${label}: the handler did not run`)
    const served = await modern(app, message, strong)
    t.equal(served.statusCode, 200, `${label}: served with the scopes`)
    t.notOk(served.json().error, `${label}: a result`)
    t.equal(calls[counter], 1, `${label}: the handler ran once`)
  }
  t.equal((await modern(app, modernRpc(5, 'resources/read', { uri: 'file:///public' }), await issuer.sign({ aud: RESOURCE, scope: 'mcp' }))).statusCode, 200, 'an unscoped resource needs only the endpoint scopes')
  const noEndpointScope = await modern(app, modernRpc(6, 'tools/call', { name: 'whoami', arguments: {} }), await issuer.sign({ aud: RESOURCE }))
  assertRefused(t, noEndpointScope, 403, INSUFFICIENT('mcp'), 'the endpoint scopes are checked before the body is read')
})

t.test('2025 sessions: a single request gets 403; a batch with any member lacking a scope gets 403 as a whole', async (t) => {
  const { app, calls } = await build(t, jwtAuth())
  const weak = await issuer.sign({ aud: RESOURCE, scope: 'files:write' })
  const headers = await initialize(app, weak)
  const refused = await post(app, rpc(9, 'tools/call', { name: 'delete_all', arguments: {} }), headers)
  assertRefused(t, refused, 403, INSUFFICIENT('files:write admin'), 'tools/call')
  t.equal(refused.json().id, 9, 'the id is echoed')
  assertRefused(t, await post(app, rpc(10, 'resources/subscribe', { uri: 'file:///private' }), headers), 403, INSUFFICIENT('files:read'), 'resources/subscribe')
  assertRefused(t, await post(app, rpc(11, 'completion/complete', { ref: { type: 'ref/prompt', name: 'secret' }, argument: { name: 'x', value: '' } }), headers), 403, INSUFFICIENT('prompts:secret'), 'completion of a scoped prompt')
  t.equal((await post(app, rpc(12, 'tools/call', { name: 'whoami', arguments: {} }), headers)).statusCode, 200, 'an unscoped tool is served on the same session')

  const old = await initialize(app, weak, '2025-03-26')
  const batch = await post(app, [rpc(1, 'tools/call', { name: 'whoami', arguments: {} }), rpc(2, 'prompts/get', { name: 'secret' }), rpc(3, 'resources/read', { uri: 'file:///private' })], old)
  assertRefused(t, batch, 403, INSUFFICIENT('prompts:secret files:read'), 'a batch')
  t.equal(batch.json().id, null, 'a batch refusal has no single id')
  t.equal(calls.prompt + calls.resource, 0, 'no member ran')
})

t.test('listOnlyPermitted: lists show what the caller may use, and are private on 2026-07-28', async (t) => {
  const { app } = await build(t, jwtAuth({ listOnlyPermitted: true }))
  const token = await issuer.sign({ aud: RESOURCE, scope: 'files:read' })
  const tools = await modern(app, modernRpc(1, 'tools/list'), token)
  t.strictSame(tools.json().result.tools.map((tool: { name: string }) => tool.name), ['whoami'])
  t.match(tools.json().result, { ttlMs: 0, cacheScope: 'private' })
  t.strictSame((await modern(app, modernRpc(2, 'resources/list'), token)).json().result.resources.map((r: { uri: string }) => r.uri), ['file:///private', 'file:///public'])
  t.strictSame((await modern(app, modernRpc(3, 'resources/templates/list'), token)).json().result.resourceTemplates, [])
  t.strictSame((await modern(app, modernRpc(4, 'prompts/list'), token)).json().result.prompts, [])
  const headers = await initialize(app, await issuer.sign({ aud: RESOURCE, scope: 'files:write admin' }))
  const legacy = await post(app, rpc(5, 'tools/list'), headers)
  t.strictSame(legacy.json().result.tools.map((tool: { name: string }) => tool.name), ['delete_all', 'whoami'], 'the 2025 era filters the same way')

  const { app: all } = await build(t, jwtAuth())
  t.strictSame((await modern(all, modernRpc(1, 'tools/list'), token)).json().result.tools.map((tool: { name: string }) => tool.name), ['delete_all', 'whoami'], 'off by default: everything is listed')
})

t.test('sessions are bound to the verified principal: another user gets 404 on POST, GET, GET with Last-Event-ID, DELETE', async (t) => {
  const { app } = await build(t, jwtAuth())
  const alice = await initialize(app, await issuer.sign({ aud: RESOURCE, sub: 'alice' }))
  const sessionId = alice['mcp-session-id']!
  const bob = await issuer.sign({ aud: RESOURCE, sub: 'bob' })
  const asBob = { ...alice, ...bearer(bob) }
  const attempts: Array<[string, Promise<LightMyRequestResponse>]> = [
    ['POST a request', post(app, rpc(1, 'tools/call', { name: 'whoami', arguments: {} }), asBob)],
    ['POST a notification', post(app, notification('notifications/initialized'), asBob)],
    ['POST an answer to a server request', post(app, { jsonrpc: '2.0', id: 'srv-1', result: {} }, asBob)],
    ['GET', app.inject({ method: 'GET', url: '/mcp', headers: { ...bearer(bob), accept: 'text/event-stream', 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' } })],
    ['GET with Last-Event-ID', app.inject({ method: 'GET', url: '/mcp', headers: { ...bearer(bob), accept: 'text/event-stream', 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25', 'last-event-id': 'x' } })],
    ['DELETE', app.inject({ method: 'DELETE', url: '/mcp', headers: { ...bearer(bob), 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' } })]
  ]
  for (const [label, attempt] of attempts) {
    const res = await attempt
    t.equal(res.statusCode, 404, `${label}: 404`)
    t.equal(res.json().error.code, -32001, `${label}: session not found`)
  }
  const still = await post(app, rpc(2, 'tools/call', { name: 'whoami', arguments: {} }), alice)
  t.equal(still.statusCode, 200, 'the session survived, and serves its owner')

  // The same subject from another trusted issuer is another principal.
  const second = await TestIssuer.start('', 'second-key')
  t.teardown(() => second.close())
  const { app: twoIssuers } = await build(t, { jwt: { issuer: [issuer.issuer, second.issuer], jwksUri: issuer.jwksUri, keys: [second.current.jwk] }, resource: RESOURCE })
  const mine = await initialize(twoIssuers, await issuer.sign({ aud: RESOURCE, sub: 'alice' }))
  const theirs = await post(twoIssuers, rpc(3, 'tools/call', { name: 'whoami', arguments: {} }), { ...mine, ...bearer(await second.sign({ aud: RESOURCE, sub: 'alice' })) })
  t.equal(theirs.statusCode, 404, '"alice" of another issuer does not own the session')
})

t.test('tokens are never logged', async (t) => {
  const capture = logCapture()
  // A request timeout set, so the plugin's startup warning about it is not among the lines.
  const { app } = await build(t, jwtAuth({ scopes: ['mcp'] }), {}, { requestTimeout: 10_000, logger: { level: 'trace', stream: capture.stream } })
  const good = await issuer.sign({ aud: RESOURCE, scope: 'mcp' })
  const expired = await issuer.sign({ aud: RESOURCE, scope: 'mcp', exp: Math.floor(Date.now() / 1000) - 3600 })
  const headers = await initialize(app, good)
  await post(app, rpc(1, 'tools/call', { name: 'delete_all', arguments: {} }), headers)
  await post(app, rpc(2, 'tools/call', { name: 'whoami', arguments: {} }), { ...headers, ...bearer(expired) })
  await modern(app, modernRpc(3, 'tools/call', { name: 'whoami', arguments: {} }), good)
  const unscoped = await modern(app, modernRpc(4, 'tools/call', { name: 'whoami', arguments: {} }), await issuer.sign({ aud: RESOURCE }))
  t.equal(unscoped.statusCode, 403, 'a token without the endpoint scope')
  t.strictSame(capture.records.filter((r) => r.level >= 40).map((r) => r.msg), [], 'no warning or error was logged (the 403 ends the request: no handler runs after it)')
  t.ok(capture.lines.length > 5, `logs were captured (${capture.lines.length} lines)`)
  for (const [label, token] of [['the good token', good], ['the expired token', expired]] as const) {
    t.notOk(capture.lines.some((line) => line.includes(token.split('.')[2]!)), `no log line contains ${label}`)
  }
})

t.test('a multi round-trip requestState minted for one principal is refused for another', async (t) => {
  const { acceptedContent, inputRequired } = await import('../lib/index.js')
  const { app } = await build(t, jwtAuth())
  app.mcp.tool({ name: 'greet', description: 'asks for a name' }, (_args, ctx) => {
    const answer = acceptedContent(ctx.inputResponses, 'who')
    if (answer === undefined) return inputRequired({ inputRequests: { who: inputRequired.elicit('Your name?', { type: 'object', properties: { name: { type: 'string' } } }) }, requestState: { step: 1 } })
    return `Hello, ${String(answer.name)}`
  })
  const alice = await issuer.sign({ aud: RESOURCE, sub: 'alice' })
  const bob = await issuer.sign({ aud: RESOURCE, sub: 'bob' })
  const meta = envelope({ elicitation: {} })
  const first = await modern(app, modernRpc(1, 'tools/call', { name: 'greet', arguments: {} }, meta), alice)
  const state = first.json().result.requestState as string
  const retry = (token: string): Promise<LightMyRequestResponse> => modern(app, modernRpc(2, 'tools/call', { name: 'greet', arguments: {}, inputResponses: { who: { action: 'accept', content: { name: 'Ada' } } }, requestState: state }, meta), token)
  const stolen = (await retry(bob)).json()
  t.equal(stolen.error?.code, -32602, 'another principal cannot use the state')
  t.equal(stolen.error?.data?.reason, 'invalid_request_state')
  t.match((await retry(alice)).json(), { result: { content: [{ text: 'Hello, Ada' }] } }, 'its own principal can')
})

t.test('scope hierarchies: a broader scope grants the narrower ones it implies, transitively', async (t) => {
  const { app, calls } = await build(t, jwtAuth({ scopeHierarchy: { admin: ['files:write'], 'files:write': ['files:read'] } }))
  app.mcp.tool({ name: 'read_file', description: 'needs files:read', inputSchema: Type.Object({}), scopes: ['files:read'] }, async () => 'read')
  const call = (name: string, token: string) => modern(app, modernRpc(1, 'tools/call', { name, arguments: {} }), token)
  const admin = await issuer.sign({ aud: RESOURCE, scope: 'admin' })
  const read = (await call('read_file', admin)).json()
  t.equal(read.result.content[0].text, 'read', 'admin → files:write → files:read')
  const whoami = JSON.parse((await call('whoami', admin)).json().result.content[0].text)
  t.same([...whoami.scopes].sort(), ['admin', 'files:read', 'files:write'], 'handlers see the implied scopes too')
  t.equal((await call('delete_all', admin)).json().result.content[0].text, 'deleted', 'files:write and admin')
  t.equal(calls.tool, 1)
  const reader = await issuer.sign({ aud: RESOURCE, scope: 'files:read' })
  assertRefused(t, await call('delete_all', reader), 403, /scope="files:write admin", error="insufficient_scope"/, 'a narrower scope implies nothing broader')
  t.equal(calls.tool, 1, 'and the handler did not run')

  for (const [label, scopeHierarchy] of [['not an object', 'admin'], ['a bad scope name', { 'a b': ['c'] }], ['a bad implied scope', { admin: ['x y'] }]] as const) {
    await t.rejects(build(t, jwtAuth({ scopeHierarchy: scopeHierarchy as never })), { code: 'FST_MCP_INVALID_OPTION' }, label)
  }
})

t.test('subscriptions/listen honours resource updates only for the URIs the caller may read', async (t) => {
  const { app } = await build(t, jwtAuth())
  const url = await listen(app)
  async function ackFor (token: string, uris: string[]): Promise<unknown> {
    const message = modernRpc('l', 'subscriptions/listen', { notifications: { resourceSubscriptions: uris } })
    const reader = await request(url, 'POST', { ...modernHeaders(message), ...bearer(token) }, message)
    t.teardown(() => reader.destroy())
    await reader.until((r) => r.messages().length >= 1)
    reader.destroy()
    return reader.messages()[0].params.notifications
  }
  const uris = ['file:///private', 'file:///public', 'file:///logs/monday']
  t.same(await ackFor(await issuer.sign({ aud: RESOURCE }), uris), { resourceSubscriptions: ['file:///public'] }, 'without files:read or logs:read: only the public resource')
  t.same(await ackFor(await issuer.sign({ aud: RESOURCE, scope: 'files:read logs:read' }), uris), { resourceSubscriptions: uris }, 'with both: all three')
})
