// GET streams across a Redis restart, with a real redis-server started by the test:
//   a. Redis restarts empty (SIGKILL, then a fresh server on the same port): a GET stream of a
//      session that vanished with the data ends within seconds of the reconnect, not at the
//      next stream touch (60 s here); the client's next request gets 404;
//   b. the catch-up after a pub/sub reconnect is retried when the command connection cannot
//      serve it yet (its breaker still open after a hang): the messages published while the
//      subscriber was away arrive once it can, in order, before those held meanwhile.
import t from 'tap'
import { Redis } from 'ioredis'
import type { FastifyInstance } from 'fastify'
import { withRedis } from './helpers/redis-server.js'
import { buildApp, listen, logCapture, openSessionHttp, request, rpc, streamHeaders, type Session, type StreamReader } from './helpers/index.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Poll until `check` holds or `ms` passes; resolves whether it held. */
async function eventually (check: () => boolean, ms: number, every = 50): Promise<boolean> {
  const deadline = Date.now() + ms
  for (;;) {
    if (check()) return true
    if (Date.now() >= deadline) return false
    await sleep(every)
  }
}

function registerNotes (app: FastifyInstance): void {
  app.mcp.resourceTemplate({ uriTemplate: 'note://{n}', name: 'note' }, async (uri) => uri)
}

async function subscribe (url: URL, session: Session, n: number): Promise<void> {
  const res = await request(url, 'POST', session.headers, rpc(`sub-${n}`, 'resources/subscribe', { uri: `note://${n}` }))
  await res.waitEnd()
  if (res.status !== 200 || JSON.parse(res.raw).result === undefined) throw new Error(`subscribe failed: ${res.raw}`)
}

function notes (reader: StreamReader): number[] {
  return reader.messages().map((m) => Number(String(m.params.uri).slice('note://'.length)))
}

withRedis(t, 'a. Redis restarts empty: the GET stream of a session that vanished ends within seconds, then 404', async (t, server) => {
  // The stream touch (which also finds vanished sessions) runs every 60 s here, as it does at
  // the default TTL; only the reconnect can end the stream sooner.
  const touchIntervalMs = 60_000
  const app = await buildApp(t, { demo: true, options: { redis: server.url, redisPrefix: 'restart:', touchIntervalMs, drainTimeoutMs: 500 } })
  const url = await listen(app)
  const session = await openSessionHttp(url)
  const get = await request(url, 'GET', streamHeaders(session))
  t.teardown(() => get.destroy())
  t.equal(get.status, 200)
  await get.until((r) => r.events.length >= 1)
  const primed = get.raw.length

  const killed = Date.now()
  await server.stop()
  await server.start()
  t.equal(server.cli('dbsize'), '0', 'the new server is empty')
  // ioredis reconnects within 2 s (its retry strategy's cap) and the recovery retries at
  // most every 2 s: a few seconds in all, against the 60 s of the touch.
  const bound = 10_000
  await get.waitEnd(bound)
  const took = Date.now() - killed
  t.ok(get.ended, 'the stream ended')
  t.ok(took < bound, `within ${took} ms of the kill (bound ${bound} ms, touch every ${touchIntervalMs} ms)`)
  t.notOk(get.raw.slice(primed).includes('retry:'), 'ended for good, not with retry: (there is nothing to resume)')

  const next = await request(url, 'POST', session.headers, rpc(1, 'ping'))
  await next.waitEnd()
  t.equal(next.status, 404, 'the next request of that session gets 404, so the client initializes again')
})

withRedis(t, 'b. the catch-up after a reconnect is retried until the command connection serves it', async (t, server) => {
  const prefix = 'catchup:'
  const a = await buildApp(t, { demo: true, options: { redis: server.url, redisPrefix: prefix, drainTimeoutMs: 500 }, setup: registerNotes })
  const aUrl = await listen(a)
  // B owns its client: short command timeouts (so a hang opens its breaker quickly), a
  // subscriber that comes back 1 s after a drop, and a breaker probe only every 4 s; so when
  // its subscriber is back, its command connection still refuses (breaker open).
  const client = new Redis(server.url, { commandTimeout: 300, enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: () => 1000 })
  client.on('error', () => {})
  const logs = logCapture()
  const b = await buildApp(t, {
    demo: true,
    options: { redis: client, closeRedis: true, redisPrefix: prefix, redisTimeoutMs: 4000, drainTimeoutMs: 500 },
    fastify: { logger: { level: 'info', stream: logs.stream } },
    setup: registerNotes
  })
  const bUrl = await listen(b)

  const session = await openSessionHttp(aUrl)
  for (let n = 1; n <= 5; n++) await subscribe(aUrl, session, n)
  const get = await request(bUrl, 'GET', streamHeaders(session))
  t.teardown(() => get.destroy())
  await get.until((r) => r.events.length >= 1)
  t.equal(await a.mcp.notifyResourceUpdated('note://1'), 1)
  await get.until((r) => r.messages().length >= 1)

  // Hang Redis until B's breaker opens (three command timeouts), then let it go.
  process.kill(server.pid!, 'SIGSTOP')
  const inits = await Promise.all([1, 2, 3].map(() => request(bUrl, 'POST', { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, rpc(0, 'initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } }))))
  for (const init of inits) await init.waitEnd()
  t.same(inits.map((i) => i.status), [503, 503, 503], 'B answers 503 while Redis hangs')
  t.ok(logs.lines.some((l) => l.includes('times in a row')), 'B\'s breaker is open')
  process.kill(server.pid!, 'SIGCONT')

  // Drop the subscribers: B's comes back in 1 s; what A publishes meanwhile only B's history has.
  t.ok(Number(server.cli('client', 'kill', 'type', 'pubsub')) >= 2, 'the subscribers were dropped')
  for (let n = 2; n <= 4; n++) t.equal(await a.mcp.notifyResourceUpdated(`note://${n}`), 1, `note ${n} appended while B's subscriber is away`)

  // B's subscriber is back while its breaker still refuses: the first catch-up fails.
  t.ok(await eventually(() => logs.lines.some((l) => l.includes('catch-up after a Redis reconnect failed')), 5000), 'a catch-up attempt failed')
  // Live again on B (its subscriber is back), but held behind the catch-up still to come.
  t.equal(await a.mcp.notifyResourceUpdated('note://5'), 1)
  await get.until((r) => r.messages().length >= 5, 10_000).catch(() => {})
  await sleep(200)
  t.same(notes(get), [1, 2, 3, 4, 5], 'the notes published while the subscriber was away arrive after the retry, in order, once')
  t.notOk(get.ended, 'the stream stays open')
  t.ok(logs.lines.some((l) => l.includes('streams caught up after a Redis reconnect')), 'a later attempt caught up')
})
