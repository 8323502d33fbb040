// Several instances of the plugin in separate processes sharing one redis-server
// (test/fixtures/redis-instance.ts), and what happens when one of them, or Redis, goes away:
//   a. the process holding a GET stream is killed; the client resumes elsewhere and gets
//      every notification produced meanwhile, once, in order;
//   b. Redis restarts under load: requests answer 503 (Retry-After, JSON-RPC body) at once,
//      nothing hangs or crashes, and the same processes serve again once Redis is back;
//   c. a session outlives the process that created it;
//   d. closing an instance while Redis is down is bounded;
//   e. (in process) who closes the Redis client: yours stays open unless closeRedis;
//   f. the subscriber connections drop: GET streams catch up from the history.
import { spawn, type ChildProcess } from 'node:child_process'
import http from 'node:http'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { Redis } from 'ioredis'
import { buildDemo } from '../examples/demo/app.js'
import { withRedis } from './helpers/redis-server.js'
import { openSessionHttp, postHeaders, request, rpc, streamHeaders, initializeParams, type Session, type StreamReader } from './helpers/index.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const FIXTURE = fileURLToPath(new URL('./fixtures/redis-instance.ts', import.meta.url))
/** What the fixture writes before an unhandled rejection or uncaught exception. */
const FAULT_MARKER = '!!REDIS-INSTANCE-FAULT!!'

interface Instance {
  readonly url: URL
  readonly child: ChildProcess
  readonly exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
  stdout (): string
  stderr (): string
  alive (): boolean
  /** kill -9. */
  kill (): Promise<void>
}

let prefixes = 0
function newPrefix (): string {
  return `cp${process.pid}x${++prefixes}:`
}

/** Start the fixture on `redisUrl`; resolves once it listens. Killed at teardown if still running. */
async function startInstance (t: Test, redisUrl: string, prefix: string, env: Record<string, string> = {}): Promise<Instance> {
  const child = spawn(process.execPath, ['--import=tsx', FIXTURE], {
    cwd: ROOT,
    env: { ...process.env, REDIS_URL: redisUrl, PREFIX: prefix, ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }))
  })
  let done = false
  exited.then(() => { done = true })
  t.teardown(async () => {
    if (!done) {
      child.kill('SIGKILL')
      await exited
    }
  })
  const deadline = Date.now() + 30_000
  for (;;) {
    const match = /LISTENING (\S+)/.exec(stdout)
    if (match !== null) {
      return {
        url: new URL(match[1]!),
        child,
        exited,
        stdout: () => stdout,
        stderr: () => stderr,
        alive: () => !done,
        async kill () {
          if (done) return
          child.kill('SIGKILL')
          await exited
        }
      }
    }
    if (done) throw new Error(`the instance exited before listening: ${stderr}`)
    if (Date.now() > deadline) throw new Error(`the instance did not listen within 30 s: ${stderr}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

interface Answer {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
  ms: number
  /** Set when the request failed at the HTTP level or took longer than the client waits. */
  error?: string
}

/** One complete request, never hanging: gives up (with `error`) after `ms`. */
function exchange (url: URL, method: string, headers: Record<string, string>, body?: unknown, ms = 8000): Promise<Answer> {
  const started = performance.now()
  return new Promise((resolve) => {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    const req = http.request(url, { method, agent: false, headers: payload === undefined ? headers : { ...headers, 'content-length': Buffer.byteLength(payload) } }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { text += chunk })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, ms: performance.now() - started }))
      res.on('error', (err) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, ms: performance.now() - started, error: err.message }))
    })
    req.setTimeout(ms, () => req.destroy(new Error(`no complete answer within ${ms} ms`)))
    req.on('error', (err) => resolve({ status: 0, headers: {}, body: '', ms: performance.now() - started, error: err.message }))
    req.end(payload)
  })
}

/** A JSON (or single-message SSE) answer's JSON-RPC message. */
function messageOf (answer: Answer): any {
  if (String(answer.headers['content-type']).startsWith('text/event-stream')) {
    const data = answer.body.split('\n').filter((l) => l.startsWith('data:') && l.length > 5).at(-1)
    return data === undefined ? undefined : JSON.parse(data.slice(5).trim())
  }
  try { return JSON.parse(answer.body) } catch { return undefined }
}

async function call (url: URL, session: Session, id: number, method: string, params?: Record<string, unknown>): Promise<Answer> {
  return exchange(url, 'POST', session.headers, rpc(id, method, params))
}

/** tools/call; throws unless it answered a result. */
async function callTool (url: URL, session: Session, id: number, name: string, args: Record<string, unknown>): Promise<any> {
  const answer = await call(url, session, id, 'tools/call', { name, arguments: args })
  const message = messageOf(answer)
  if (answer.status !== 200 || message?.result === undefined) throw new Error(`${name} failed: ${answer.status} ${answer.body}`)
  return message.result
}

async function subscribeNotes (url: URL, session: Session, notes: readonly number[]): Promise<void> {
  for (const n of notes) {
    const answer = await call(url, session, 1000 + n, 'resources/subscribe', { uri: `note://${n}` })
    if (answer.status !== 200 || messageOf(answer)?.result === undefined) throw new Error(`subscribe failed: ${answer.status} ${answer.body}`)
  }
}

/** Ask `url` to send the updates of notes from…to; resolves how many sessions each reached. */
async function produce (url: URL, session: Session, from: number, to: number): Promise<number[]> {
  const result = await callTool(url, session, 5000 + from, 'notes', { from, to })
  return String(result.content[0].text).split(',').map(Number)
}

/** The note numbers of the updates a GET stream carried (anything else fails). */
function notesOf (reader: StreamReader): number[] {
  return reader.messages().map((m) => {
    if (m.method !== 'notifications/resources/updated') throw new Error(`unexpected message ${JSON.stringify(m)}`)
    return Number(String(m.params.uri).slice('note://'.length))
  })
}

function range (from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i)
}

async function openGet (t: Test, url: URL, session: Session, extra: Record<string, string> = {}): Promise<StreamReader> {
  const reader = await request(url, 'GET', streamHeaders(session, extra))
  t.teardown(() => reader.destroy())
  return reader
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Poll until `check` holds or `ms` passes; resolves whether it held. */
async function eventually (check: () => boolean | Promise<boolean>, ms: number, every = 50): Promise<boolean> {
  const deadline = Date.now() + ms
  for (;;) {
    if (await check()) return true
    if (Date.now() >= deadline) return false
    await sleep(every)
  }
}

function isUnavailable (answer: Answer): boolean {
  const body = messageOf(answer)
  return answer.status === 503 && answer.headers['retry-after'] !== undefined &&
    body?.jsonrpc === '2.0' && body.id === null && body.error?.code === -32000 && typeof body.error.message === 'string'
}

withRedis(t, 'a. the process holding a GET stream is killed: the client resumes elsewhere and misses nothing', async (t, server) => {
  const prefix = newPrefix()
  const [a, b, c] = await Promise.all([0, 1, 2].map(() => startInstance(t, server.url, prefix)))
  const session = await openSessionHttp(a.url)
  t.equal(session.protocolVersion, '2025-11-25', 'a session with priming events and polling')
  await subscribeNotes(a.url, session, range(1, 12))

  const onB = await openGet(t, b.url, session)
  t.equal(onB.status, 200, 'the GET is served by B')
  await onB.until((r) => r.events.length >= 1)
  const prime = onB.events[0]!
  t.equal(prime.data, '', 'the first event is the priming event')
  t.ok(prime.id !== undefined && prime.id !== '', `with an event id (${prime.id})`)

  t.same(await produce(a.url, session, 1, 5), [1, 1, 1, 1, 1], 'A reached the session for each note')
  await onB.until((r) => r.messages().length >= 5)
  t.same(notesOf(onB), range(1, 5), 'B carried what A produced, in order')
  const lastOnB = onB.events.findLast((e) => e.id !== undefined)!.id!

  await b.kill()
  await onB.waitEnd()
  t.notOk(b.alive(), 'B is gone (kill -9)')
  t.same(await produce(a.url, session, 6, 10), [1, 1, 1, 1, 1], 'A keeps the notes for the session while nobody holds its GET stream')

  const onC = await openGet(t, c.url, session, { 'last-event-id': lastOnB })
  t.equal(onC.status, 200, 'a fresh process resumes the stream')
  await onC.until((r) => r.messages().length >= 5)
  // Live again: what A produces now follows on C.
  await produce(a.url, session, 11, 12)
  await onC.until((r) => r.messages().length >= 7)
  await sleep(300)
  t.same(notesOf(onC), range(6, 12), 'each note produced while B was down exactly once, in order, none from before, then live ones')
  const ids = onC.events.filter((e) => e.data !== '').map((e) => e.id)
  t.equal(new Set(ids).size, ids.length, 'distinct event ids')
  t.notOk(a.stderr().includes(FAULT_MARKER) || c.stderr().includes(FAULT_MARKER), 'no unhandled failure in the survivors')
})

withRedis(t, 'b. Redis restarts under load: 503 at once, no hang, no crash; the same processes serve again', async (t, server) => {
  const prefix = newPrefix()
  const [a, b] = await Promise.all([startInstance(t, server.url, prefix), startInstance(t, server.url, prefix)])
  const instances = [a, b]
  const sessions = [await openSessionHttp(a.url), await openSessionHttp(b.url)]

  interface Sent extends Answer { at: number, target: number, method: string }
  const sent: Sent[] = []
  let running = true
  let id = 0
  const worker = async (w: number): Promise<void> => {
    // eslint-disable-next-line no-unmodified-loop-condition -- the test body clears `running` while this worker awaits
    for (let i = 0; running; i++) {
      const target = (w + i) % 2
      // A session created on one instance, used on either.
      const session = sessions[(w + i + (i >> 1)) % 2]!
      const method = i % 2 === 0 ? 'ping' : 'tools/call'
      const params = method === 'ping' ? undefined : { name: 'echo', arguments: { text: `w${w}-${i}` } }
      const at = performance.now()
      const answer = await exchange(instances[target]!.url, 'POST', session.headers, rpc(++id, method, params))
      sent.push({ ...answer, at, target, method })
    }
  }
  const workers = Promise.all([0, 1, 2, 3].map(worker))
  // A handler streaming on A across the stop: what it sends can no longer be stored, but is
  // still delivered on the open connection, up to its result.
  const countdown = await request(a.url, 'POST', sessions[0]!.headers, rpc(9999, 'tools/call', { name: 'countdown', arguments: { from: 20, intervalMs: 100 }, _meta: { progressToken: 'cd' } }))
  t.teardown(() => countdown.destroy())
  await sleep(500)
  const beforeStop = sent.length
  await server.stop()
  const stoppedAt = performance.now()
  await sleep(2500)
  running = false
  await workers

  const before = sent.slice(0, beforeStop)
  t.ok(before.length >= 10, `the load ran before the stop (${before.length} requests)`)
  t.ok(before.every((r) => r.status === 200 && messageOf(r)?.result !== undefined), 'and was answered')
  const after = sent.filter((r) => r.at >= stoppedAt)
  t.ok(after.length >= 20, `and went on while Redis was down (${after.length} requests)`)
  const failed = sent.filter((r) => r.error !== undefined)
  t.same(failed.map((r) => r.error), [], 'every request completed')
  const slowest = Math.max(...sent.filter((r) => r.at >= stoppedAt - 500).map((r) => r.ms))
  t.ok(slowest < 3000, `none took long (slowest around the stop: ${Math.round(slowest)} ms)`)
  const wrong = after.filter((r) => !isUnavailable(r))
  t.same(wrong.map((r) => `${r.status} ${r.body}`), [], 'every request sent after the stop answered 503 + Retry-After + a JSON-RPC -32000 error')
  t.ok(after.some((r) => r.target === 0) && after.some((r) => r.target === 1), 'on both instances')
  t.ok(after.some((r) => r.method === 'ping') && after.some((r) => r.method === 'tools/call'), 'for both methods')
  // The in-flight ones at the moment of the stop answered one way or the other.
  const around = sent.filter((r) => r.at < stoppedAt && r.at + r.ms > stoppedAt - 50)
  t.ok(around.every((r) => r.status === 200 || isUnavailable(r)), 'requests in flight at the stop: answered or 503')

  await countdown.waitEnd(10_000)
  const streamed = countdown.messages()
  t.equal(countdown.status, 200)
  t.same(streamed.filter((m) => m.method === 'notifications/progress').map((m) => m.params.progress), range(1, 20), 'the streaming handler\'s progress all arrived, across the stop')
  t.same(streamed.at(-1), { jsonrpc: '2.0', id: 9999, result: { content: [{ type: 'text', text: 'liftoff' }] } }, 'then its result')

  // Every other kind of request too, while Redis is away.
  for (const [i, instance] of instances.entries()) {
    const probes: Array<[string, Promise<Answer>]> = [
      ['initialize', exchange(instance.url, 'POST', postHeaders(), rpc(1, 'initialize', initializeParams()))],
      ['GET', exchange(instance.url, 'GET', streamHeaders(sessions[i]!))],
      ['GET with Last-Event-ID', exchange(instance.url, 'GET', streamHeaders(sessions[i]!, { 'last-event-id': 'p1234.1700000000000-0' }))],
      ['notification', exchange(instance.url, 'POST', sessions[i]!.headers, { jsonrpc: '2.0', method: 'notifications/initialized' })],
      ['DELETE', exchange(instance.url, 'DELETE', streamHeaders(sessions[i]!))]
    ]
    for (const [label, probe] of probes) {
      const answer = await probe
      t.ok(answer.error === undefined && answer.ms < 3000, `${label} on ${'AB'[i]} completed at once (${Math.round(answer.ms)} ms)`)
      t.ok(isUnavailable(answer), `${label} on ${'AB'[i]}: 503 + Retry-After + JSON-RPC error (${answer.status} ${answer.body})`)
    }
  }
  t.ok(a.alive() && b.alive(), 'no process crashed')
  t.notOk(a.stderr().includes(FAULT_MARKER), `no unhandled rejection on A ${a.stderr().slice(0, 2000)}`)
  t.notOk(b.stderr().includes(FAULT_MARKER), `no unhandled rejection on B ${b.stderr().slice(0, 2000)}`)

  // Redis comes back on the same port, empty.
  await server.start()
  const back = await eventually(async () => {
    const answers = await Promise.all(instances.map((i) => exchange(i.url, 'POST', postHeaders(), rpc(1, 'initialize', initializeParams()))))
    return answers.every((r) => r.status === 200)
  }, 15_000, 100)
  t.ok(back, 'both instances create sessions again, without a restart')
  for (const [i, instance] of instances.entries()) {
    const old = await call(instance.url, sessions[i]!, 1, 'ping')
    t.equal(old.status, 404, `an old session is gone with Redis' data (${'AB'[i]}: ${old.status})`)
  }
  const fresh = [await openSessionHttp(a.url), await openSessionHttp(b.url)]
  for (const [i, instance] of instances.entries()) {
    for (const [j, session] of fresh.entries()) {
      const pong = await call(instance.url, session, 2, 'ping')
      t.same({ status: pong.status, result: messageOf(pong)?.result }, { status: 200, result: {} }, `ping on ${'AB'[i]} of a session made on ${'AB'[j]}`)
      const echo = await callTool(instance.url, session, 3, 'echo', { text: `hi ${i}${j}` })
      t.same(echo.content, [{ type: 'text', text: `hi ${i}${j}` }])
    }
  }
  // GET streams again: held on B, fed by what A produces.
  await subscribeNotes(a.url, fresh[0]!, [1, 2, 3])
  const stream = await openGet(t, b.url, fresh[0]!)
  t.equal(stream.status, 200)
  await stream.until((r) => r.events.length >= 1)
  t.equal(stream.events[0]!.data, '', 'primed')
  await produce(a.url, fresh[0]!, 1, 3)
  await stream.until((r) => r.messages().length >= 3)
  t.same(notesOf(stream), [1, 2, 3], 'notifications reach a GET stream on the other instance again')
  t.ok(a.alive() && b.alive(), 'still the same two processes')
  t.notOk(a.stderr().includes(FAULT_MARKER) || b.stderr().includes(FAULT_MARKER), 'no unhandled rejection after the restart either')
})

withRedis(t, 'c. a restarted instance serves sessions created before it went down', async (t, server) => {
  const prefix = newPrefix()
  const a = await startInstance(t, server.url, prefix)
  const session = await openSessionHttp(a.url)
  await subscribeNotes(a.url, session, [7])
  await a.kill()
  const again = await startInstance(t, server.url, prefix)
  const pong = await call(again.url, session, 1, 'ping')
  t.same({ status: pong.status, result: messageOf(pong)?.result }, { status: 200, result: {} }, 'the session is known to the new process')
  const echo = await callTool(again.url, session, 2, 'echo', { text: 'still here' })
  t.same(echo.content, [{ type: 'text', text: 'still here' }])
  const stream = await openGet(t, again.url, session)
  await stream.until((r) => r.events.length >= 1)
  t.same(await produce(again.url, session, 7, 7), [1], 'its subscription survived too')
  await stream.until((r) => r.messages().length >= 1)
  t.same(notesOf(stream), [7])
})

withRedis(t, 'd. closing an instance while Redis is down completes within a few seconds', async (t, server) => {
  const a = await startInstance(t, server.url, newPrefix())
  const session = await openSessionHttp(a.url)
  const stream = await openGet(t, a.url, session)
  await stream.until((r) => r.events.length >= 1)
  await server.stop()
  await sleep(200)
  const started = performance.now()
  a.child.kill('SIGTERM')
  const bounded = await Promise.race([a.exited.then(() => true), sleep(15_000).then(() => false)])
  const took = performance.now() - started
  t.ok(bounded, `the process exited (${Math.round(took)} ms)`)
  t.ok(took < 5000, `within a few seconds (${Math.round(took)} ms)`)
  t.match(a.stdout(), /CLOSING\nCLOSED\n/, 'through app.close(), which resolved')
  t.same(await a.exited, { code: 0, signal: null }, 'exit code 0')
  await stream.waitEnd(2000)
  t.ok(stream.ended, 'the GET stream was ended')
  t.notOk(a.stderr().includes(FAULT_MARKER), `no unhandled rejection ${a.stderr().slice(0, 2000)}`)
})

withRedis(t, 'e. who closes the Redis client', async (t, server) => {
  /** Connections to the server, not counting the redis-cli asking. */
  const connections = (): number => server.cli('client', 'list').split('\n').filter((l) => l.trim() !== '').length - 1
  const settlesAt = (n: number) => eventually(() => connections() === n, 3000)
  const baseline = connections()

  t.test('a client you pass stays open after app.close(); the plugin\'s subscriber does not', async (t) => {
    const client = new Redis(server.url, { commandTimeout: 1000 })
    t.teardown(() => client.disconnect())
    await new Promise((resolve) => client.once('ready', resolve))
    t.ok(await settlesAt(baseline + 1), 'your client is connected')
    const app = await buildDemo({ redis: client, redisPrefix: newPrefix() })
    await app.ready()
    t.ok(await settlesAt(baseline + 2), 'the plugin adds its subscriber connection')
    await app.close()
    t.equal(client.status, 'ready', 'your client is still ready')
    t.equal(await client.ping(), 'PONG', 'and usable')
    t.ok(await settlesAt(baseline + 1), `the subscriber is closed (connections: ${connections() - baseline} above baseline)`)
    await client.quit()
    t.ok(await settlesAt(baseline))
  })

  t.test('closeRedis: true closes the client you pass', async (t) => {
    const client = new Redis(server.url, { commandTimeout: 1000 })
    t.teardown(() => client.disconnect())
    const app = await buildDemo({ redis: client, closeRedis: true, redisPrefix: newPrefix() })
    await app.ready()
    t.ok(await settlesAt(baseline + 2))
    await app.close()
    // QUIT was answered when app.close() resolved; the socket closes right after.
    t.ok(await eventually(() => client.status === 'end', 2000), `your client was closed by the plugin (${client.status})`)
    t.ok(await settlesAt(baseline), 'no connection left')
  })

  t.test('a client created from a URL is closed by app.close()', async (t) => {
    const app = await buildDemo({ redis: server.url, redisPrefix: newPrefix() })
    await app.ready()
    t.ok(await settlesAt(baseline + 2), `the plugin opened its client and subscriber (${connections() - baseline})`)
    await app.close()
    t.ok(await settlesAt(baseline), `both are closed (connections: ${connections() - baseline} above baseline)`)
  })
})

withRedis(t, 'f. the pub/sub connections drop: a GET stream catches up from the history, each message once, in order', async (t, server) => {
  const prefix = newPrefix()
  const [a, b] = await Promise.all([startInstance(t, server.url, prefix), startInstance(t, server.url, prefix)])

  /** Kill every subscriber connection (both instances'); ioredis reconnects after ~100 ms. */
  function dropPubSub (): void {
    const killed = Number(server.cli('client', 'kill', 'type', 'pubsub'))
    if (!(killed >= 2)) throw new Error(`expected to kill both subscribers, killed ${killed}`)
  }

  await t.test('a primed stream (2025-11-25)', async (t) => {
    const session = await openSessionHttp(a.url)
    await subscribeNotes(a.url, session, range(1, 7))
    const onB = await openGet(t, b.url, session)
    await onB.until((r) => r.events.length >= 1)
    await produce(a.url, session, 1, 2)
    await onB.until((r) => r.messages().length >= 2)
    dropPubSub()
    // Published while B's subscriber is away: B only finds them in the history.
    await produce(a.url, session, 3, 5)
    await sleep(1500)
    await produce(a.url, session, 6, 7)
    await onB.until((r) => r.messages().length >= 7).catch(() => {})
    await sleep(300)
    t.same(notesOf(onB), range(1, 7), 'nothing lost, nothing twice, in order')
  })

  await t.test('a stream that has carried nothing yet (2025-06-18: no priming event)', async (t) => {
    const session = await openSessionHttp(a.url, '2025-06-18')
    t.equal(session.protocolVersion, '2025-06-18')
    await subscribeNotes(a.url, session, range(1, 5))
    const onB = await openGet(t, b.url, session)
    t.equal(onB.status, 200)
    // No priming event to wait for: give B time to subscribe to the stream's channel.
    await sleep(500)
    dropPubSub()
    await produce(a.url, session, 1, 3)
    await sleep(1500)
    await produce(a.url, session, 4, 5)
    await onB.until((r) => r.messages().length >= 5).catch(() => {})
    await sleep(300)
    t.same(notesOf(onB), range(1, 5), 'the notes published while the subscriber was away arrive too, first, in order')
  })
  t.notOk(a.stderr().includes(FAULT_MARKER) || b.stderr().includes(FAULT_MARKER), 'no unhandled rejection')
})
