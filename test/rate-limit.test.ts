// Rate limiting (the `rateLimit` option, through @fastify/rate-limit): the route limit keyed
// by principal, else session, else address, in both eras; a stricter initialize limit;
// per-tool limits; the 429 answer (Retry-After, a JSON-RPC error echoing the request id); and
// two instances on one Redis sharing one count.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import t, { type Test } from 'tap'
import { Type } from '@sinclair/typebox'
import { buildApp, callTool, initializeParams, openSession, post, postHeaders, rpc, type Setup } from './helpers/index.js'
import { modernRpc, postModern } from './helpers/modern.js'
import { withRedis } from './helpers/redis-server.js'

const addSlow: Setup = (app) => {
  app.mcp.tool({ name: 'scarce', description: 'at most 2 calls a minute', rateLimit: { max: 2, timeWindow: 60_000 } }, () => 'ok')
  app.mcp.tool({ name: 'plenty', description: 'no limit of its own' }, () => 'ok')
}

function assertRefused (t: Test, res: LightMyRequestResponse, id: string | number | null, label: string): void {
  t.equal(res.statusCode, 429, `${label}: 429`)
  const retryAfter = Number(res.headers['retry-after'])
  t.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `${label}: Retry-After in seconds (${res.headers['retry-after']})`)
  const body = res.json()
  t.equal(body.jsonrpc, '2.0', `${label}: JSON-RPC body`)
  t.equal(body.id, id, `${label}: the request id echoed`)
  t.equal(body.error.code, -32000, `${label}: a server error code`)
  t.match(body.error.message, /^Too Many Requests/, `${label}: message`)
  t.equal(body.error.data.retryAfter, retryAfter, `${label}: data.retryAfter matches the header`)
}

t.test('the route limit: per session in 2025, per address in 2026-07-28, id echoed', async (t) => {
  const app = await buildApp(t, { demo: true, options: { rateLimit: { max: 4, timeWindow: 60_000 } } })
  // initialize spends the address's budget; from notifications/initialized on, the session's.
  const a = await openSession(app)
  const b = await openSession(app)
  t.equal((await post(app, rpc(1, 'ping'), a.headers)).statusCode, 200)
  t.equal((await post(app, rpc(2, 'ping'), a.headers)).statusCode, 200)
  t.equal((await post(app, rpc(3, 'ping'), a.headers)).statusCode, 200, 'initialized and three pings: a session has its own budget of 4')
  assertRefused(t, await post(app, rpc('five', 'ping'), a.headers), 'five', 'the fifth request of session a')
  assertRefused(t, await post(app, [rpc(6, 'ping')], a.headers), null, 'a batch')
  t.equal((await post(app, rpc(1, 'ping'), b.headers)).statusCode, 200, 'session b is not limited by a')
  const del = await app.inject({ method: 'DELETE', url: '/mcp', headers: a.headers })
  t.equal(del.statusCode, 429, 'DELETE is counted too')

  // No session: the client address (inject: 127.0.0.1), which initialize already spent twice.
  const call = modernRpc(7, 'tools/call', { name: 'echo', arguments: { text: 'hi' } })
  t.equal((await postModern(app, call)).statusCode, 200)
  t.equal((await postModern(app, call)).statusCode, 200, 'the address has spent 4 (two initialize, two modern calls)')
  assertRefused(t, await postModern(app, call), 7, '2026-07-28 over the limit')
  t.equal((await postModern(app, call)).headers['x-ratelimit-limit'], '4', 'the library\'s headers')
})

t.test('keyed by the principal when auth is on (not by session nor address), initialize too', async (t) => {
  const app = await buildApp(t, {
    demo: true,
    options: {
      rateLimit: { max: 3, timeWindow: 60_000, initialize: { max: 2, timeWindow: 60_000 } },
      auth: { authenticate: (request) => ({ principal: String(request.headers['x-user']) }) }
    }
  })
  const as = (user: string, headers: Record<string, string>) => ({ ...headers, 'x-user': user })
  const init = (user: string) => app.inject({ method: 'POST', url: '/mcp', headers: as(user, postHeaders()), payload: rpc(0, 'initialize', initializeParams()) })
  const first = await init('alice')
  const headers = as('alice', postHeaders({ 'mcp-session-id': String(first.headers['mcp-session-id']), 'mcp-protocol-version': '2025-11-25' }))
  t.equal((await post(app, rpc(1, 'ping'), headers)).statusCode, 200)
  t.equal((await init('alice')).statusCode, 200, 'a second session of alice: her third request')
  assertRefused(t, await post(app, rpc(2, 'ping'), headers), 2, 'alice\'s fourth request, on her first session')
  t.equal((await init('bob')).statusCode, 200, 'bob, from the same address, has his own budgets (the initialize one too: the address has made 3)')
})

t.test('initialize has its own, stricter limit, per address (without auth)', async (t) => {
  const app = await buildApp(t, { demo: true, options: { rateLimit: { max: 100, timeWindow: 60_000, initialize: { max: 2, timeWindow: 60_000 } } } })
  const init = (id: number) => app.inject({ method: 'POST', url: '/mcp', headers: postHeaders(), payload: rpc(id, 'initialize', initializeParams()) })
  t.equal((await init(1)).statusCode, 200)
  t.equal((await init(2)).statusCode, 200)
  const third = await init(3)
  assertRefused(t, third, 3, 'the third initialize')
  t.notOk(third.headers['mcp-session-id'], 'no session was created')
  const disguised = await app.inject({ method: 'POST', url: '/mcp', headers: postHeaders({ 'mcp-session-id': 'made-up' }), payload: rpc(3, 'initialize', initializeParams()) })
  t.equal(disguised.statusCode, 429, 'a session id sent with initialize does not buy a fresh budget')
  t.equal(await app.mcp.sessions.size(), 2)
  const session = await openSessionOrNull(app)
  t.equal(session, null, 'still refused')
  // Other requests are not initialize: only the route limit counts them.
  const call = modernRpc(4, 'tools/call', { name: 'echo', arguments: { text: 'hi' } })
  t.equal((await postModern(app, call)).statusCode, 200)
})

async function openSessionOrNull (app: FastifyInstance): Promise<unknown> {
  try {
    return await openSession(app)
  } catch {
    return null
  }
}

t.test('per-tool limits, in both eras, before the handler runs', async (t) => {
  let runs = 0
  const app = await buildApp(t, {
    demo: true,
    options: { rateLimit: { max: 1000, timeWindow: 60_000 } },
    setup: (app) => {
      addSlow(app)
      app.mcp.tool({ name: 'counted', description: 'counts its runs', inputSchema: Type.Object({}), rateLimit: { max: 1, timeWindow: 60_000 } }, () => { runs++; return 'ran' })
    }
  })
  const session = await openSession(app)
  t.equal((await post(app, callTool(1, 'scarce', {}), session.headers)).statusCode, 200)
  t.equal((await post(app, callTool(2, 'scarce', {}), session.headers)).statusCode, 200)
  assertRefused(t, await post(app, callTool(3, 'scarce', {}), session.headers), 3, 'the third scarce call')
  t.equal((await post(app, callTool(4, 'plenty', {}), session.headers)).statusCode, 200, 'another tool is not limited')
  t.equal((await post(app, rpc(5, 'tools/list'), session.headers)).statusCode, 200, 'nor other methods')
  const other = await openSession(app)
  t.equal((await post(app, callTool(6, 'scarce', {}), other.headers)).statusCode, 200, 'another session has its own budget for the tool')

  // A 2025-03-26 batch: its calls are counted together, and the batch is refused whole (id null).
  const old = await openSession(app, '2025-03-26')
  const batch = await post(app, [callTool(9, 'scarce', {}), callTool(10, 'scarce', {}), callTool(11, 'scarce', {})], old.headers)
  assertRefused(t, batch, null, 'a batch of three scarce calls')

  // 2026-07-28: keyed by address.
  const modernCall = (id: number) => modernRpc(id, 'tools/call', { name: 'counted', arguments: {} })
  t.equal((await postModern(app, modernCall(7))).statusCode, 200)
  assertRefused(t, await postModern(app, modernCall(8)), 8, '2026-07-28 counted, second call')
  t.equal(runs, 1, 'the refused call never ran its handler')
})

t.test('responseMode sse: a limited call is refused before any stream opens', async (t) => {
  const app = await buildApp(t, { demo: true, options: { responseMode: 'sse', rateLimit: {} }, setup: addSlow })
  const session = await openSession(app)
  const ok = await post(app, callTool(1, 'scarce', {}), session.headers)
  t.match(ok.headers['content-type'], /text\/event-stream/, 'answers are streams in this mode')
  t.equal((await post(app, callTool(2, 'scarce', {}), session.headers)).statusCode, 200)
  const refused = await post(app, callTool(3, 'scarce', {}), session.headers)
  assertRefused(t, refused, 3, 'the third call')
  t.match(refused.headers['content-type'], /application\/json/, 'a JSON 429, not a stream')
})

t.test('the memory counters are bounded by cache (the least recent key goes first)', async (t) => {
  const app = await buildApp(t, { demo: true, options: { rateLimit: { max: 2, timeWindow: 60_000, cache: 2 } } })
  const init = (id: number) => app.inject({ method: 'POST', url: '/mcp', headers: postHeaders(), payload: rpc(id, 'initialize', initializeParams()) })
  t.equal((await init(1)).statusCode, 200)
  t.equal((await init(2)).statusCode, 200)
  t.equal((await init(3)).statusCode, 429, 'the address is over its budget of 2')
  // Two session keys push the address key out of the 2-entry LRU: the address starts afresh.
  for (const id of ['s1', 's2']) {
    t.equal((await post(app, rpc(4, 'ping'), postHeaders({ 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' }))).statusCode, 404, `unknown session ${id}: counted, then 404`)
  }
  t.equal((await init(5)).statusCode, 200, 'the address was forgotten')
})

t.test('with cors, a browser client can read Retry-After', async (t) => {
  const app = await buildApp(t, { demo: true, options: { cors: true, rateLimit: { max: 1, timeWindow: 60_000 } } })
  const origin = 'http://localhost:5173'
  const call = modernRpc(1, 'tools/call', { name: 'echo', arguments: { text: 'hi' } })
  t.equal((await postModern(app, call, { origin })).statusCode, 200)
  const refused = await postModern(app, call, { origin })
  assertRefused(t, refused, 1, 'over the limit, from a browser')
  t.equal(refused.headers['access-control-allow-origin'], origin)
  t.ok(String(refused.headers['access-control-expose-headers']).toLowerCase().split(/,\s*/).includes('retry-after'), 'Retry-After exposed')
})

t.test('options are checked', async (t) => {
  const Fastify = (await import('fastify')).default
  const mcp = (await import('../lib/index.js')).default
  for (const [label, rateLimit, name] of [
    ['max 0', { max: 0 }, 'rateLimit.max'],
    ['timeWindow as a string', { timeWindow: '1 minute' }, 'rateLimit.timeWindow'],
    ['initialize without max', { initialize: { timeWindow: 1000 } }, 'rateLimit.initialize'],
    ['cache 0', { cache: 0 }, 'rateLimit.cache'],
    ['a number', 5, 'rateLimit']
  ] as const) {
    const app = Fastify()
    t.teardown(() => app.close())
    await t.rejects(async () => {
      await app.register(mcp, { rateLimit: rateLimit as never })
      await app.ready()
    }, { code: 'FST_MCP_INVALID_OPTION', message: new RegExp(`"${name.replace('.', '\\.')}"`) }, label)
  }
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(mcp)
  t.throws(() => app.mcp.tool({ name: 'x', description: 'x', rateLimit: { max: 0, timeWindow: 1 } }, () => 'x'), { code: 'FST_MCP_INVALID_TOOL' })
})

withRedis(t, 'two instances on one Redis share the counts', async (t, server) => {
  const options = { redis: server.url, redisPrefix: 'rl-test:', rateLimit: { max: 3, timeWindow: 60_000, initialize: { max: 1000, timeWindow: 60_000 } } }
  const a = await buildApp(t, { demo: true, options, setup: addSlow })
  const b = await buildApp(t, { demo: true, options, setup: addSlow })
  // initialize: the address's first request; initialized: the session's first.
  const session = await openSession(a)
  const call = modernRpc(1, 'tools/call', { name: 'echo', arguments: { text: 'hi' } })
  t.equal((await postModern(b, call)).statusCode, 200, 'B: 2')
  t.equal((await postModern(a, call)).statusCode, 200, 'A: 3')
  assertRefused(t, await postModern(b, call), 1, 'B: the fourth request of the address, across both instances')
  t.equal(server.cli('get', 'rl-test:rl:req:a:127.0.0.1'), '4', 'one counter under the prefix, for the address')
  t.equal(server.cli('get', `rl-test:rl:req:s:${session.id}`), '1', 'and one for the session')

  // The session opened on A, used on B: its budget and its tool budget are shared.
  t.equal((await post(b, callTool(2, 'scarce', {}), session.headers)).statusCode, 200)
  t.equal((await post(a, callTool(3, 'scarce', {}), session.headers)).statusCode, 200)
  assertRefused(t, await post(b, callTool(4, 'scarce', {}), session.headers), 4, 'the third scarce call, across instances')
  // initialized + three calls: this is the session's fifth request.
  assertRefused(t, await post(a, rpc(5, 'ping'), session.headers), 5, 'the session\'s route budget, spent across instances')
})

withRedis(t, 'a Redis that is away does not turn the limiter into errors', async (t, server) => {
  const app = await buildApp(t, { demo: true, options: { redis: server.url, redisTimeoutMs: 300, rateLimit: { max: 100, timeWindow: 60_000 } }, setup: addSlow })
  await server.stop()
  const call = modernRpc(1, 'tools/call', { name: 'scarce', arguments: {} })
  const res = await postModern(app, call)
  t.equal(res.statusCode, 200, 'a stateless request needs no Redis: served, unlimited while Redis is away')
})
