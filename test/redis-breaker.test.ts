// The Redis circuit breaker: after consecutive command timeouts (a hung Redis), requests
// answer 503 at once instead of each waiting out `redisTimeoutMs`, until a probe succeeds.
//   a. the state machine, on a fake client;
//   b. a real redis-server paused with SIGSTOP under the demo app, then resumed.
import t from 'tap'
import type { FastifyBaseLogger } from 'fastify'
import { RedisBreaker } from '../lib/stores/redis-breaker.js'
import { listen, logCapture, buildApp, postHeaders, rpc, initializeParams } from './helpers/index.js'
import { withRedis } from './helpers/redis-server.js'

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
const timedOut = (): Error => new Error('Command timed out')

class FakeClient {
  pings = 0
  answers = false
  async ping (): Promise<string> {
    this.pings++
    if (!this.answers) throw timedOut()
    return 'PONG'
  }
}

t.test('a. opens after `threshold` timeouts in a row, refuses at once, closes on a probe', async (t) => {
  const client = new FakeClient()
  const said: string[] = []
  const logger = { warn: (msg: string) => said.push(`warn ${msg}`), info: (msg: string) => said.push(`info ${msg}`) } as unknown as FastifyBaseLogger
  const breaker = new RedisBreaker(client, { threshold: 3, probeIntervalMs: 20, logger })
  t.teardown(() => breaker.close())

  const fail = (err: Error): unknown => { try { return breaker.fail(err) } catch (thrown) { return thrown } }
  t.match(fail(timedOut()), { code: 'FST_MCP_STORE_UNAVAILABLE', statusCode: 503 }, 'a failure rejects as unavailable')
  fail(timedOut())
  t.equal(breaker.pass('value'), 'value', 'a success passes its value through')
  fail(timedOut())
  fail(timedOut())
  fail(new Error('Connection is closed.'))
  t.notOk(breaker.open, 'a success in between restarts the count; other errors do not count')
  fail(timedOut())
  t.ok(breaker.open, 'the third timeout in a row opens it')
  await t.rejects(breaker.refuse(), { code: 'FST_MCP_STORE_UNAVAILABLE', statusCode: 503 }, 'open: refused as unavailable')

  await sleep(70)
  t.ok(client.pings >= 2, `it probes every probeIntervalMs while open (${client.pings} probes)`)
  t.ok(breaker.open, 'and stays open while probes fail')
  client.answers = true
  await sleep(50)
  t.notOk(breaker.open, 'a probe that succeeds closes it')
  const pings = client.pings
  await sleep(50)
  t.equal(client.pings, pings, 'and probing stops')

  for (let i = 0; i < 3; i++) fail(timedOut())
  t.ok(breaker.open, 'it opens again')
  breaker.pass(1)
  t.notOk(breaker.open, 'any command that succeeds closes it too')

  t.same(said.map((line) => line.split(' ')[0]), ['warn', 'info', 'warn', 'info'], 'a warning each time it opens, a note each time it closes')
})

t.test('a. close() stops the probes', async (t) => {
  const client = new FakeClient()
  const breaker = new RedisBreaker(client, { threshold: 1, probeIntervalMs: 10 })
  breaker.record(timedOut())
  breaker.close()
  await sleep(40)
  t.equal(client.pings, 0)
})

interface Answer { status: number, retryAfter: string | null, ms: number }

async function initialize (url: URL): Promise<Answer> {
  const at = performance.now()
  const response = await fetch(url, { method: 'POST', headers: postHeaders(), body: JSON.stringify(rpc(1, 'initialize', initializeParams())) })
  await response.arrayBuffer()
  return { status: response.status, retryAfter: response.headers.get('retry-after'), ms: performance.now() - at }
}

withRedis(t, 'b. a hung Redis: 503 after the timeout, then at once, then served again once it answers', async (t, server) => {
  const TIMEOUT = 300
  const logs = logCapture()
  const app = await buildApp(t, { demo: true, options: { redis: server.url, redisTimeoutMs: TIMEOUT }, fastify: { logger: { level: 'info', stream: logs.stream } } })
  const url = await listen(app)
  t.equal((await initialize(url)).status, 200, 'served while Redis runs')

  const pid = server.pid!
  process.kill(pid, 'SIGSTOP')
  let paused = true
  t.teardown(() => { if (paused) process.kill(pid, 'SIGCONT') })

  const first: Answer[] = []
  for (let i = 0; i < 3; i++) first.push(await initialize(url))
  t.ok(first.every((a) => a.status === 503 && a.retryAfter !== null), 'the first requests answer 503 + Retry-After')
  t.ok(first.every((a) => a.ms >= TIMEOUT * 0.8), `each after the command timeout (${first.map((a) => Math.round(a.ms)).join(', ')} ms)`)

  const then: Answer[] = []
  for (let i = 0; i < 10; i++) then.push(await initialize(url))
  t.ok(then.every((a) => a.status === 503 && a.retryAfter !== null), 'the next ones answer 503 + Retry-After too')
  const slowest = Math.max(...then.map((a) => a.ms))
  t.ok(slowest < TIMEOUT / 3, `but at once (slowest ${Math.round(slowest)} ms, timeout ${TIMEOUT} ms)`)

  process.kill(pid, 'SIGCONT')
  paused = false
  const resumed = performance.now()
  let answer = await initialize(url)
  while (answer.status !== 200 && performance.now() - resumed < 10 * TIMEOUT) {
    await sleep(25)
    answer = await initialize(url)
  }
  t.equal(answer.status, 200, `served again ${Math.round(performance.now() - resumed)} ms after Redis resumed`)

  const said = logs.records.filter((r: { msg: string }) => /Redis timed out|Redis answers again/.test(r.msg)).map((r: { level: number }) => r.level)
  t.same(said, [40, 30], 'one warning when it opened, one note when it closed')
})
