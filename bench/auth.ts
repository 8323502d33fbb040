// The per-request cost of the built-in JWT verification, with the JWKS cached: the same
// 2026-07-28 `tools/call` on plugin instances in one process, one without auth and others
// verifying an RS256 (then an ES256) bearer token, with the verified-token cache off (every
// request checks the signature) and on (the default), measured in alternating rounds so the
// machine's drift cancels; plus the verifier alone (no HTTP, no MCP).
//
//   npm run bench:auth          (node dist/bench/auth.js [--quick])
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import { createAuthenticator } from '../lib/auth/authenticator.js'
import { normalizeAuth } from '../lib/auth/options.js'
import mcp, { type McpAuthOptions } from '../lib/index.js'
import { TestIssuer, signingKey } from '../test/helpers/jwt.js'

const quick = process.argv.includes('--quick')
const rounds = quick ? 5 : 15
const perRound = quick ? 500 : 2000
const RESOURCE = 'http://localhost/mcp'

const CALL = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: {}, _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} } } })
const HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'echo' }

async function server (auth: McpAuthOptions | undefined): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register(mcp, auth === undefined ? {} : { auth })
  app.mcp.tool({ name: 'echo', description: 'echo' }, () => 'ok')
  await app.ready()
  return app
}

/** µs per request over `count` sequential injections. */
async function timed (app: FastifyInstance, headers: Record<string, string>, count: number): Promise<number> {
  const start = process.hrtime.bigint()
  for (let i = 0; i < count; i++) {
    const res = await app.inject({ method: 'POST', url: '/mcp', headers, payload: CALL })
    if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}: ${res.payload}`)
  }
  return Number(process.hrtime.bigint() - start) / 1000 / count
}

function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

async function verifierAlone (auth: McpAuthOptions, token: string, count: number): Promise<number> {
  const authenticate = createAuthenticator(normalizeAuth(auth)!)
  const request = { headers: { authorization: `Bearer ${token}` }, log: { debug () {} } } as unknown as FastifyRequest
  if ((await authenticate(request)).kind !== 'ok') throw new Error('the token does not verify')
  const start = process.hrtime.bigint()
  for (let i = 0; i < count; i++) await authenticate(request)
  return Number(process.hrtime.bigint() - start) / 1000 / count
}

const issuer = await TestIssuer.start()
const es = await signingKey('es-1', 'ES256')
const auth: McpAuthOptions = { jwt: { issuer: issuer.issuer, jwksUri: issuer.jwksUri, keys: [es.jwk] }, resource: RESOURCE }
const tokens = {
  RS256: await issuer.sign({ aud: RESOURCE, scope: 'mcp', exp: Math.floor(Date.now() / 1000) + 3600 }),
  ES256: await issuer.sign({ aud: RESOURCE, scope: 'mcp', exp: Math.floor(Date.now() / 1000) + 3600 }, { key: es })
}
const uncached: McpAuthOptions = { ...auth, jwt: { ...auth.jwt!, cacheTtlMs: 0 } }
const plain = await server(undefined)
const sides = { 'signature checked every request': { app: await server(uncached), auth: uncached }, 'verdict cache (default)': { app: await server(auth), auth } }

console.log(`node ${process.version}, ${rounds} rounds × ${perRound} requests per side (quick: ${quick})`)
const pairs = Object.entries(tokens).flatMap(([alg, token]) => Object.entries(sides).map(([label, side]) => ({ alg, token, label, ...side })))
for (const { alg, token, label, app: guarded, auth: sideAuth } of pairs) {
  const withToken = { ...HEADERS, authorization: `Bearer ${token}` }
  await timed(plain, HEADERS, perRound)
  await timed(guarded, withToken, perRound)
  const base: number[] = []
  const authed: number[] = []
  const deltas: number[] = []
  for (let r = 0; r < rounds; r++) {
    // Alternate which side goes first, so neither always runs on a warmer machine.
    const a = r % 2 === 0 ? await timed(plain, HEADERS, perRound) : 0
    const b = await timed(guarded, withToken, perRound)
    const c = r % 2 === 1 ? await timed(plain, HEADERS, perRound) : a
    base.push(c)
    authed.push(b)
    deltas.push(b - c)
  }
  const alone = await verifierAlone(sideAuth, token, perRound * 2)
  console.log(`${alg}, ${label}: without auth ${median(base).toFixed(1)} µs/request, with auth ${median(authed).toFixed(1)} µs/request: +${median(deltas).toFixed(1)} µs (median of paired rounds); the verifier alone ${alone.toFixed(1)} µs/call`)
}
console.log(`JWKS fetches during the run: ${issuer.fetches}`)
await plain.close()
for (const { app } of Object.values(sides)) await app.close()
await issuer.close()
