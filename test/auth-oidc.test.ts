// The resource server against a real authorization server: oidc-provider (dynamic client
// registration, PKCE, resource indicators, introspection) and the official SDK client with
// its OAuth provider, from the first 401 to tool calls, a step-up and the 2026-07-28 era.
import { Type } from '@sinclair/typebox'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import Fastify, { type FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import mcp, { type McpPluginOptions } from '../lib/index.js'
import { freePort, MemoryOAuthProvider } from './helpers/oauth-client.js'
import { RS_CLIENT, startOidc, type Oidc } from './helpers/oidc.js'
import { MODERN, envelope } from './helpers/modern.js'

interface Served { app: FastifyInstance, resource: string, url: URL, hits: string[] }

/** The plugin on a free port, its resource URL known before it listens, with a `whoami` and an `admin` tool. */
async function serveProtected (t: Test, auth: (resource: string) => McpPluginOptions['auth']): Promise<Served> {
  const port = await freePort()
  const resource = `http://127.0.0.1:${port}/mcp`
  const app = Fastify()
  t.teardown(() => app.close())
  const hits: string[] = []
  app.addHook('onRequest', async (request) => { hits.push(`${request.method} ${request.url}`) })
  await app.register(mcp, { auth: auth(resource) })
  app.mcp.tool({ name: 'whoami', description: 'The caller', inputSchema: Type.Object({}) }, async (_args, ctx) => `${ctx.auth?.principal} [${(ctx.auth?.scopes ?? []).join(' ')}]`)
  app.mcp.tool({ name: 'admin', description: 'Needs mcp:admin', inputSchema: Type.Object({}), scopes: ['mcp:admin'] }, async () => 'admin ok')
  await app.listen({ port, host: '127.0.0.1' })
  return { app, resource, url: new URL(resource), hits }
}

function textOf (result: unknown): string {
  return ((result as { content: Array<{ text: string }> }).content[0]!).text
}

// The SDK's UnauthorizedError, matched by message: tap may load the SDK's class twice.
const UNAUTHORIZED = { message: 'Unauthorized' }

let oidc: Oidc
let resourcePort: number
let resource: string
const OTHER = 'https://other.example.com/mcp'
const OPAQUE_PORT = await freePort()
const OPAQUE = `http://127.0.0.1:${OPAQUE_PORT}/mcp`

t.before(async () => {
  resourcePort = await freePort()
  resource = `http://127.0.0.1:${resourcePort}/mcp`
  oidc = await startOidc({
    resources: {
      [resource]: { scopes: ['mcp:read', 'mcp:admin'] },
      [OTHER]: { scopes: ['mcp:read'] },
      [OPAQUE]: { scopes: ['mcp:read'], format: 'opaque' }
    }
  })
})
t.teardown(() => oidc.close())

t.test('the SDK client goes from the first 401 through discovery, registration, PKCE and tokens to tool calls, then steps up on 403', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  const hits: string[] = []
  app.addHook('onRequest', async (request) => { hits.push(`${request.method} ${request.url}`) })
  await app.register(mcp, { auth: { jwt: { issuer: oidc.issuer, jwksUri: `${oidc.issuer}/jwks` }, resource, scopes: ['mcp:read'] } })
  app.mcp.tool({ name: 'whoami', description: 'The caller', inputSchema: Type.Object({}) }, async (_args, ctx) => `${ctx.auth?.principal} [${(ctx.auth?.scopes ?? []).join(' ')}]`)
  app.mcp.tool({ name: 'admin', description: 'Needs mcp:admin', inputSchema: Type.Object({}), scopes: ['mcp:admin'] }, async () => 'admin ok')
  await app.listen({ port: resourcePort, host: '127.0.0.1' })
  const url = new URL(resource)

  const oauth = new MemoryOAuthProvider()
  const first = new Client({ name: 'oauth-test', version: '1.0.0' })
  await t.rejects(first.connect(new StreamableHTTPClientTransport(url, { authProvider: oauth })), UNAUTHORIZED, 'the first request is refused and the SDK starts authorizing')
  t.ok(hits.includes('GET /.well-known/oauth-protected-resource/mcp'), 'the client read the path-inserted RFC 9728 metadata')
  t.ok(oauth.clientInformation()?.client_id, 'the client registered itself dynamically')
  const authorization = oauth.authorizationUrl!
  t.equal(authorization.origin, oidc.issuer, 'sent to the authorization server the metadata names')
  t.equal(authorization.searchParams.get('resource'), resource, 'with the resource indicator (RFC 8707)')
  t.equal(authorization.searchParams.get('code_challenge_method'), 'S256', 'with PKCE')
  t.equal(authorization.searchParams.get('scope'), 'mcp:read', 'asking for the scope of the 401 challenge')

  const transport = new StreamableHTTPClientTransport(url, { authProvider: oauth })
  await transport.finishAuth(await oidc.authorize(authorization, 'alice'))
  t.equal(oauth.tokens()?.scope, 'mcp:read')
  const client = new Client({ name: 'oauth-test', version: '1.0.0' })
  await client.connect(transport)
  t.equal(textOf(await client.callTool({ name: 'whoami', arguments: {} })), `${oidc.issuer}#alice [mcp:read]`, 'the principal is issuer + subject, with the granted scopes')
  t.same((await client.listTools()).tools.map((tool) => tool.name).sort(), ['admin', 'whoami'], 'every tool listed (listOnlyPermitted is off)')

  // Step up: the token lacks mcp:admin → 403 insufficient_scope naming everything the call needs.
  const raw = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${oauth.tokens()!.access_token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': transport.sessionId!, 'mcp-protocol-version': '2025-11-25' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 'step', method: 'tools/call', params: { name: 'admin', arguments: {} } })
  })
  t.equal(raw.status, 403)
  t.match(raw.headers.get('www-authenticate'), /^Bearer resource_metadata="http:\/\/127\.0\.0\.1:\d+\/\.well-known\/oauth-protected-resource\/mcp", scope="mcp:read mcp:admin", error="insufficient_scope", error_description="[^"]+"$/)
  t.match(await raw.json(), { jsonrpc: '2.0', id: 'step', error: { code: -32000 } }, 'the JSON-RPC error echoes the request id')

  oauth.authorizationUrl = undefined
  await t.rejects(client.callTool({ name: 'admin', arguments: {} }), UNAUTHORIZED, 'the SDK steps up: a new authorization')
  t.equal(oauth.authorizationUrl!.searchParams.get('scope'), 'mcp:read mcp:admin', 'asking for every scope of the 403 challenge')
  await transport.finishAuth(await oidc.authorize(oauth.authorizationUrl!, 'alice'))
  t.equal(textOf(await client.callTool({ name: 'admin', arguments: {} })), 'admin ok', 'the stepped-up token is served, on the same session')
  t.equal(textOf(await client.callTool({ name: 'whoami', arguments: {} })), `${oidc.issuer}#alice [mcp:read mcp:admin]`)

  // The same token on the 2026-07-28 era, raw HTTP.
  const modern = async (id: number, name: string, token: string): Promise<Response> => fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': name },
    body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: {}, _meta: envelope() } })
  })
  const served = await modern(1, 'admin', oauth.tokens()!.access_token)
  t.equal(served.status, 200)
  t.match(await served.json(), { id: 1, result: { content: [{ text: 'admin ok' }] } }, 'a 2026-07-28 request with the bearer token is served')
  await client.close()
})

t.test('tokens the provider issued for another resource, or that do not verify, answer 401 invalid_token', async (t) => {
  const { url } = await serveProtected(t, (resource) => ({ jwt: { issuer: oidc.issuer, jwksUri: `${oidc.issuer}/jwks` }, resource }))
  const other = await oidc.clientCredentials(OTHER, 'mcp:read')
  for (const [label, token] of [['another audience', other], ['a tampered signature', other.slice(0, -4) + (other.endsWith('AAAA') ? 'BBBB' : 'AAAA')]] as const) {
    const res = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } } }) })
    t.equal(res.status, 401, label)
    t.match(res.headers.get('www-authenticate'), /^Bearer resource_metadata="[^"]+", error="invalid_token", error_description="[^"]+"$/, `${label}: invalid_token challenge`)
    await res.body?.cancel()
  }
})

t.test('opaque tokens go through RFC 7662 introspection at the provider, cached', async (t) => {
  const port = OPAQUE_PORT
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(mcp, {
    auth: {
      introspection: { url: `${oidc.issuer}/token/introspection`, clientId: RS_CLIENT.id, clientSecret: RS_CLIENT.secret, issuer: oidc.issuer },
      authorizationServers: [oidc.issuer],
      resource: OPAQUE
    }
  })
  app.mcp.tool({ name: 'whoami', description: 'The caller', inputSchema: Type.Object({}) }, async (_args, ctx) => `${ctx.auth?.principal} [${(ctx.auth?.scopes ?? []).join(' ')}]`)
  await app.listen({ port, host: '127.0.0.1' })

  const token = await oidc.clientCredentials(OPAQUE, 'mcp:read')
  t.notOk(token.includes('.'), 'the provider issued an opaque token')
  const call = (bearer: string): Promise<Response> => fetch(OPAQUE, {
    method: 'POST',
    headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json', 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': 'whoami' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'whoami', arguments: {}, _meta: envelope() } })
  })
  for (let i = 0; i < 2; i++) {
    const res = await call(token)
    t.equal(res.status, 200)
    t.match(await res.json(), { id: 7, result: { content: [{ text: new RegExp(`^${oidc.issuer}#${RS_CLIENT.id} \\[mcp:read\\]$`) }] } }, 'the introspected principal and scopes')
  }
  t.equal(oidc.requests.filter((r) => r === 'POST /token/introspection').length, 1, 'the second call was answered from the cache')
  const unknown = await call('not-a-token-the-provider-issued')
  t.equal(unknown.status, 401, 'an inactive token → 401')
  t.match(unknown.headers.get('www-authenticate'), /error="invalid_token"/)
  await unknown.body?.cancel()
})

t.test('the demo as a protected resource: AUTH_ISSUER finds the keys in the issuer metadata, the audience is its own URL', async (t) => {
  const { demoAuthOptions, discoverJwksUri } = await import('../examples/demo/auth.js')
  const { buildDemo } = await import('../examples/demo/app.js')
  t.equal(await demoAuthOptions({}, 'http://127.0.0.1:3000/mcp'), undefined, 'no AUTH_ISSUER: no auth')
  const auth = (await demoAuthOptions({ AUTH_ISSUER: oidc.issuer, AUTH_SCOPES: 'mcp:read' }, OTHER))!
  t.strictSame(auth, { jwt: { issuer: oidc.issuer, jwksUri: `${oidc.issuer}/jwks` }, resource: OTHER, scopes: ['mcp:read'] }, 'jwks_uri discovered; resource = the endpoint URL')
  t.equal((await demoAuthOptions({ AUTH_ISSUER: oidc.issuer, AUTH_AUDIENCE: 'https://proxy.example.com/mcp' }, OTHER))!.resource, 'https://proxy.example.com/mcp', 'AUTH_AUDIENCE overrides it')
  await t.rejects(discoverJwksUri(`${oidc.issuer}/not-an-issuer`), /no authorization server metadata/, 'an issuer without metadata is refused at startup')

  const app = await buildDemo({ auth, allowedHosts: false })
  t.teardown(() => app.close())
  await app.ready()
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': 'echo' }
  const payload = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { text: 'hi' }, _meta: envelope() } })
  const refused = await app.inject({ method: 'POST', url: '/mcp', headers, payload })
  t.equal(refused.statusCode, 401)
  t.equal(refused.headers['www-authenticate'], 'Bearer resource_metadata="https://other.example.com/.well-known/oauth-protected-resource/mcp", scope="mcp:read"')
  const token = await oidc.clientCredentials(OTHER, 'mcp:read')
  const served = await app.inject({ method: 'POST', url: '/mcp', headers: { ...headers, authorization: `Bearer ${token}` }, payload })
  t.equal(served.statusCode, 200, 'a token of the issuer for this audience is served')
  t.match(served.json(), { result: { content: [{ text: 'hi' }] } })
})
