// Liveness and readiness: /health/live answers while the process does; /health/ready (and
// /health) go 503 while Redis is unreachable or shutdown has begun, and back to 200 when
// Redis returns, so a load balancer stops and resumes routing to the instance.
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { buildApp, listen, request } from './helpers/index.js'
import { withRedis } from './helpers/redis-server.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function probe (app: FastifyInstance, url: string): Promise<{ status: number, body: any }> {
  const res = await app.inject({ method: 'GET', url })
  return { status: res.statusCode, body: res.json() }
}

/** Probe until `done` (the Redis connections notice a dead server asynchronously, each on its own). */
async function until (app: FastifyInstance, url: string, done: (answer: { status: number, body: any }) => boolean): Promise<{ status: number, body: any }> {
  const deadline = Date.now() + 15_000
  for (;;) {
    const answer = await probe(app, url)
    if (done(answer) || Date.now() > deadline) return answer
    await sleep(50)
  }
}

t.test('in memory: live and ready', async (t) => {
  const app = await buildApp(t, { demo: true })
  t.strictSame(await probe(app, '/health/live'), { status: 200, body: { status: 'ok', live: true } })
  t.strictSame(await probe(app, '/health/ready'), { status: 200, body: { ready: true, checks: { store: true, bus: true, draining: false } } })
  t.strictSame(await probe(app, '/health'), {
    status: 200,
    body: { status: 'ok', live: true, ready: true, checks: { store: true, bus: true, draining: false }, sessions: 0, streams: 0, subscriptions: 0 }
  })
  const moved = await buildApp(t, { demo: true, options: { health: '/healthz' } })
  t.equal((await probe(moved, '/healthz/ready')).status, 200, 'under the health option\'s path')
})

withRedis(t, 'Redis killed: not ready; Redis back: ready again', async (t, server) => {
  const app = await buildApp(t, { demo: true, options: { redis: server.url, redisTimeoutMs: 500, redisPrefix: 'ready:' } })
  t.strictSame(await probe(app, '/health/ready'), { status: 200, body: { ready: true, checks: { store: true, bus: true, draining: false } } })

  await server.stop() // SIGKILL
  const down = await until(app, '/health/ready', (answer) => answer.status === 503)
  t.equal(down.status, 503, 'not ready once Redis is gone')
  t.match(down.body, { ready: false, checks: { store: false, draining: false } }, 'the store check failed')
  const deaf = await until(app, '/health/ready', (answer) => answer.body.checks.bus === false)
  t.strictSame(deaf, { status: 503, body: { ready: false, checks: { store: false, bus: false, draining: false } } }, 'and the bus\'s connection too')
  const health = await probe(app, '/health')
  t.equal(health.status, 503, '/health too')
  t.match(health.body, { status: 'unavailable', live: true, ready: false })
  t.notOk('sessions' in health.body, 'no counts from a store that is away')
  t.strictSame(await probe(app, '/health/live'), { status: 200, body: { status: 'ok', live: true } }, 'still live: a restart would not bring Redis back')

  await server.start() // the same port
  const up = await until(app, '/health/ready', (answer) => answer.status === 200 && answer.body.checks.bus === true)
  t.strictSame(up, { status: 200, body: { ready: true, checks: { store: true, bus: true, draining: false } } }, 'ready again, store and bus')
  t.equal((await probe(app, '/health')).status, 200)
})

t.test('not ready once shutdown has begun, while still live', async (t) => {
  const seen: Record<string, { status: number, body: any }> = {}
  const live = {} as { url: URL }
  // return503OnClosing: false lets the probes reach the plugin during preClose (otherwise
  // Fastify answers every new request 503 itself, which a load balancer reads the same way).
  const app = await buildApp(t, {
    demo: true,
    fastify: { return503OnClosing: false },
    setup: (app) => {
      // Registered after the plugin: runs once the plugin's preClose began the drain.
      app.addHook('preClose', async () => {
        for (const path of ['/health/ready', '/health/live', '/health']) {
          const res = await request(new URL(path, live.url), 'GET', {})
          await res.waitEnd()
          seen[path] = { status: res.status, body: JSON.parse(res.raw) }
        }
      })
    }
  })
  live.url = await listen(app)
  t.equal((await probe(app, '/health/ready')).status, 200, 'ready before close')
  await app.close()
  t.strictSame(seen['/health/ready'], { status: 503, body: { ready: false, checks: { store: true, bus: true, draining: true } } })
  t.equal(seen['/health/live']?.status, 200, 'live while draining')
  t.match(seen['/health'], { status: 503, body: { status: 'closing', ready: false } })
})
