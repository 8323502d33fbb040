// Graceful drain over real sockets: what app.close() does to open SSE connections, to
// handlers still running, to requests arriving meanwhile, and in which order the stores close.
// (test/lifecycle.test.ts covers the preClose window itself: initialize/GET/health answered
// while the listener is still open.)
import net from 'node:net'
import type { IncomingHttpHeaders } from 'node:http'
import t, { type Test } from 'tap'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { MemoryEventStore, parseEventId } from '../lib/index.js'
import {
  buildApp,
  deferred,
  initializeParams,
  listen,
  openSessionHttp,
  postHeaders,
  request,
  rpc,
  streamHeaders,
  within,
  type StreamReader
} from './helpers/index.js'

const INITIALIZE = rpc(0, 'initialize', initializeParams())
const SHUTTING_DOWN = { jsonrpc: '2.0', id: null, error: { code: -32000, message: 'Service Unavailable: the server is shutting down' } }

interface RawResponse {
  status: number
  headers: IncomingHttpHeaders
  body: string
}

/**
 * One HTTP/1.1 keep-alive connection, written by hand so that every request provably travels
 * on the same socket (an http.Agent may open another). Responses must carry Content-Length.
 */
class KeepAliveConnection {
  readonly closed: Promise<void>
  readonly #socket: net.Socket
  readonly #host: string
  #buffer = Buffer.alloc(0)
  #pending: Array<{ resolve (response: RawResponse): void, reject (err: Error): void }> = []

  private constructor (socket: net.Socket, host: string) {
    this.#socket = socket
    this.#host = host
    const closed = deferred()
    this.closed = closed.promise
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk])
      this.#parse()
    })
    socket.on('close', () => {
      for (const waiting of this.#pending.splice(0)) waiting.reject(new Error('connection closed before the response'))
      closed.resolve()
    })
    socket.on('error', () => {})
  }

  static open (url: URL): Promise<KeepAliveConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(Number(url.port), url.hostname, () => resolve(new KeepAliveConnection(socket, url.host)))
      socket.once('error', reject)
    })
  }

  send (path: string, method: string, headers: Record<string, string>, body?: unknown): Promise<RawResponse> {
    const payload = body === undefined ? '' : JSON.stringify(body)
    const lines = [`${method} ${path} HTTP/1.1`, `host: ${this.#host}`, 'connection: keep-alive', `content-length: ${Buffer.byteLength(payload)}`]
    for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`)
    return new Promise((resolve, reject) => {
      this.#pending.push({ resolve, reject })
      this.#socket.write(lines.join('\r\n') + '\r\n\r\n' + payload)
    })
  }

  destroy (): void { this.#socket.destroy() }

  #parse (): void {
    for (;;) {
      const end = this.#buffer.indexOf('\r\n\r\n')
      if (end === -1) return
      const [statusLine, ...headerLines] = this.#buffer.subarray(0, end).toString('latin1').split('\r\n')
      const headers: IncomingHttpHeaders = {}
      for (const line of headerLines) {
        const colon = line.indexOf(':')
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
      }
      const length = Number(headers['content-length'])
      if (!Number.isInteger(length)) {
        // Fail the request waiting for it, not the whole process from inside a 'data' listener.
        this.#pending.shift()?.reject(new Error(`no Content-Length in ${statusLine}`))
        this.#socket.destroy()
        return
      }
      if (this.#buffer.length < end + 4 + length) return
      const body = this.#buffer.subarray(end + 4, end + 4 + length).toString('utf8')
      this.#buffer = this.#buffer.subarray(end + 4 + length)
      this.#pending.shift()?.resolve({ status: Number(statusLine!.split(' ')[1]), headers, body })
    }
  }
}

/** Resolves when Fastify closes the listening socket (after the preClose hooks). */
function listenerClosed (app: FastifyInstance): Promise<void> {
  const closed = deferred()
  const server = app.server
  const original = server.close
  server.close = function (this: typeof server, ...args: Parameters<typeof original>) {
    const result = original.apply(this, args)
    closed.resolve()
    return result
  } as typeof original
  return closed.promise
}

/** Tools gated by the test: `gate` answers JSON, `gate-stream` sends one progress first. */
function addGates (app: FastifyInstance) {
  const gates = Array.from({ length: 4 }, () => deferred())
  const started = Array.from({ length: 4 }, () => deferred<AbortSignal>())
  app.mcp.tool({ name: 'gate', description: 'waits for the test', inputSchema: Type.Object({ n: Type.Integer() }) }, async ({ n }, ctx) => {
    started[n]!.resolve(ctx.signal)
    await gates[n]!.promise
    return `released ${n}`
  })
  app.mcp.tool({ name: 'gate-stream', description: 'one progress, then waits for the test', inputSchema: Type.Object({ n: Type.Integer() }) }, async ({ n }, ctx) => {
    await ctx.progress(1)
    started[n]!.resolve(ctx.signal)
    await gates[n]!.promise
    return `released ${n}`
  })
  return { gates, started }
}

const gate = (id: number, n: number) => rpc(id, 'tools/call', { name: 'gate', arguments: { n } })
const gateStream = (id: number, n: number) => rpc(id, 'tools/call', { name: 'gate-stream', arguments: { n }, _meta: { progressToken: `p${n}` } })

/** A few turns of the event loop: enough for anything already unblocked to settle. */
async function settle (): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve))
}

function lastDataId (reader: StreamReader): string {
  const id = reader.events.filter((e) => e.data !== '').at(-1)?.id
  if (id === undefined) throw new Error('no event id received')
  return id
}

/**
 * A session with two handlers held: one on a kept-alive connection (busy when close starts,
 * so server.close() does not reap it as idle), one on its own (it keeps the drain going after
 * the first answers); then close, awaited until the listener is closed.
 */
async function drainWithTwoHeld (t: Test, app: FastifyInstance) {
  const { gates, started } = addGates(app)
  const url = await listen(app)
  const session = await openSessionHttp(url)
  const connection = await KeepAliveConnection.open(url)
  t.teardown(() => connection.destroy())
  const held = connection.send(url.pathname, 'POST', session.headers, gate(1, 0))
  await started[0]!.promise
  const other = request(url, 'POST', session.headers, gate(2, 1))
  await started[1]!.promise
  const stopped = listenerClosed(app)
  const closing = app.close()
  await within(stopped, 'the listener to close')
  return { url, gates, connection, held, other, closing }
}

t.test('during the drain, the answer in flight on a kept-alive connection closes it', async (t) => {
  // Before, that connection stayed open and held app.close() for keepAliveTimeout (72 s);
  // now no new request can arrive on it: the plugin's 503 for requests arriving while
  // closing is pinned in lifecycle.test.ts, in the preClose window.
  for (const return503OnClosing of [true, false]) {
    t.test(`return503OnClosing: ${return503OnClosing}`, async (t) => {
      const app = await buildApp(t, { demo: true, fastify: { return503OnClosing } })
      const { url, gates, connection, held, other, closing } = await drainWithTwoHeld(t, app)
      t.equal(app.server.listening, false, 'the listening socket is closed while handlers drain')
      await t.rejects(request(url, 'POST', postHeaders(), INITIALIZE), { code: 'ECONNREFUSED' }, 'a new connection is refused')

      gates[0]!.resolve()
      const first = await held
      t.equal(first.status, 200)
      t.same(JSON.parse(first.body).result, { content: [{ type: 'text', text: 'released 0' }] }, 'the in-flight request was answered')
      t.equal(first.headers.connection, 'close', 'with Connection: close')
      await within(connection.closed, 'the server to close the connection')
      t.equal(await app.mcp.sessions.size(), 1, 'no session was created')

      gates[1]!.resolve()
      const otherAnswer = await other
      await otherAnswer.waitEnd()
      t.equal(otherAnswer.status, 200)
      t.equal(otherAnswer.headers.connection, 'close')
      await within(closing, 'close to finish')
    })
  }
})

t.test('close ends GET streams at once with retry: <sseRetryMs>; on a lone instance with its memory store, streaming answers finish first', async (t) => {
  const app = await buildApp(t, { demo: true, options: { sseRetryMs: 321 } })
  const { gates, started } = addGates(app)
  const url = await listen(app)
  // A 2025-06-18 session has no priming event: any retry field is the shutdown's.
  const older = await openSessionHttp(url, '2025-06-18')
  const latest = await openSessionHttp(url)
  const olderGet = await request(url, 'GET', streamHeaders(older))
  const latestGet = await request(url, 'GET', streamHeaders(latest))
  const olderPost = await request(url, 'POST', older.headers, gateStream(1, 0))
  const latestPost = await request(url, 'POST', latest.headers, gateStream(2, 1))
  const readers = { olderGet, latestGet, olderPost, latestPost }
  for (const reader of Object.values(readers)) t.teardown(() => reader.destroy())
  await latestGet.until((r) => r.events.length === 1)
  await olderPost.until((r) => r.messages().length === 1)
  await latestPost.until((r) => r.messages().length === 1)
  await Promise.all([started[0]!.promise, started[1]!.promise])
  t.equal((await app.mcp.stats()).streams, 4)
  for (const [name, reader] of Object.entries(readers)) {
    t.equal(reader.status, 200, `${name} open`)
    t.notOk(reader.ended, `${name} not ended before close`)
  }

  let closed = false
  const closing = app.close().then(() => { closed = true })
  const gets = { olderGet, latestGet }
  await within(Promise.all(Object.values(gets).map((r) => r.waitEnd())), 'the GET streams to end')
  t.equal(closed, false, 'the GET connections ended while close still waits for the handlers')
  for (const [name, reader] of Object.entries(gets)) {
    t.ok(reader.raw.endsWith('\n\nretry: 321\n\n') || reader.raw === 'retry: 321\n\n', `${name} ends with a retry field`)
    t.same(reader.events.at(-1), { data: '', retry: 321 }, `${name}: the last event is the retry alone`)
  }
  t.equal(olderGet.raw, 'retry: 321\n\n', 'the idle 2025-06-18 GET stream received only the retry field')
  t.same(latestGet.events.map((e) => e.retry), [321, 321], '2025-11-25 GET: priming, then the shutdown\'s retry')
  t.ok(latestGet.events[0]!.id !== undefined && latestGet.events[1]!.id === undefined, 'the shutdown\'s retry carries no id')

  // Nothing else could serve a resume of these: they stay open and carry the answers.
  await settle()
  t.notOk(olderPost.ended, 'the 2025-06-18 POST stream is still open')
  t.notOk(latestPost.ended, 'the 2025-11-25 POST stream is still open')
  gates[0]!.resolve()
  gates[1]!.resolve()
  for (const [name, reader] of Object.entries({ olderPost, latestPost })) {
    await reader.waitEnd()
    t.same(reader.messages().map((m) => m.method ?? m.result?.content?.[0]?.text), ['notifications/progress', `released ${name === 'olderPost' ? 0 : 1}`], `${name}: the progress, then the answer`)
    t.notOk(reader.events.some((e) => e.retry !== undefined && e.id === undefined), `${name}: no shutdown retry (a priming event's retry has an id)`)
  }
  await within(closing, 'close to finish')
  t.equal(closed, true)
})

t.test('a handler whose POST stream was ended by close runs on: its messages and response are stored, and close waits for it', async (t) => {
  const store = new MemoryEventStore()
  const app = await buildApp(t, { demo: true, options: { eventStore: store, sseRetryMs: 250 } })
  const release = deferred()
  const started = deferred()
  const order: string[] = []
  let signal: AbortSignal | undefined
  app.mcp.tool({ name: 'slow', description: 'finishes after close starts', inputSchema: Type.Object({}) }, async (_args, ctx) => {
    await ctx.progress(1)
    started.resolve()
    await release.promise
    await ctx.progress(2)
    await ctx.log('info', { after: 'close' })
    signal = ctx.signal
    order.push('handler finished')
    return 'finished after close'
  })
  const url = await listen(app)
  const session = await openSessionHttp(url)
  const post = await request(url, 'POST', session.headers, rpc(4, 'tools/call', { name: 'slow', arguments: {}, _meta: { progressToken: 'slow' } }))
  t.teardown(() => post.destroy())
  await post.until((r) => r.messages().length === 1)
  await started.promise
  const lastSeen = lastDataId(post)
  const serverClosed = new Promise<void>((resolve) => app.server.once('close', () => resolve()))

  const closing = app.close().then(() => { order.push('close resolved') })
  await post.waitEnd()
  t.ok(post.raw.endsWith('\n\nretry: 250\n\n'), 'the POST connection was ended with retry')
  t.same(post.messages().map((m) => m.params?.progress), [1], 'the client received only what was sent before close')
  // Every connection is gone: from here only the drain holds close back.
  await within(serverClosed, 'the HTTP server to close')
  await settle()
  t.same(order, [], 'close is still waiting for the handler')

  release.resolve()
  await within(closing, 'close to resolve once the handler finished')
  t.same(order, ['handler finished', 'close resolved'], 'close resolved only after the handler finished')
  t.equal(signal?.aborted, false, 'a handler finishing within drainTimeoutMs is not aborted')

  const replay = store.replayNow(session.id, lastSeen)
  t.ok(replay, 'the stream is known to the store')
  t.equal(replay!.streamId, parseEventId(lastSeen)!.streamId)
  t.same(replay!.events.map((e) => JSON.parse(e.data)), [
    { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'slow', progress: 2 } },
    { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: { after: 'close' } } },
    { jsonrpc: '2.0', id: 4, result: { content: [{ type: 'text', text: 'finished after close' }] } }
  ], 'what the handler sent after the connection ended, the final response included, is stored for replay')
  t.equal(replay!.ended, true, 'and the stream is recorded as ended')
  t.equal(replay!.truncated, false)
})

t.test('with an event store that answers asynchronously, close resolves only after the drained handler\'s response is stored', async (t) => {
  /** A store whose writes take a timer tick, like one across a network. */
  class RemoteLikeStore extends MemoryEventStore {
    override async append (sessionId: string, streamId: string, data: string): Promise<string> {
      await new Promise((resolve) => setTimeout(resolve, 5))
      return super.append(sessionId, streamId, data)
    }

    readonly ended = deferred()
    override async end (sessionId: string, streamId: string): Promise<void> {
      await new Promise((resolve) => setTimeout(resolve, 5))
      await super.end(sessionId, streamId)
      this.ended.resolve()
    }
  }
  const store = new RemoteLikeStore()
  const app = await buildApp(t, { demo: true, options: { eventStore: store } })
  const { gates, started } = addGates(app)
  const url = await listen(app)
  const session = await openSessionHttp(url)
  const post = await request(url, 'POST', session.headers, gateStream(5, 0))
  t.teardown(() => post.destroy())
  await post.until((r) => r.messages().length === 1)
  await started[0]!.promise
  const lastSeen = lastDataId(post)
  const closing = app.close()
  await post.waitEnd()
  gates[0]!.resolve()
  await within(closing, 'close')
  const replay = store.replayNow(session.id, lastSeen)
  t.same(replay?.events.map((e) => JSON.parse(e.data)), [{ jsonrpc: '2.0', id: 5, result: { content: [{ type: 'text', text: 'released 0' }] } }], 'the response is stored when close resolves')
  t.equal(replay?.ended, true, 'and the stream is ended')
  // It does arrive a little later: the store itself works.
  await within(store.ended.promise, 'the late end')
  t.same(store.replayNow(session.id, lastSeen)?.events.map((e) => JSON.parse(e.data).id), [5], 'the response is stored after close resolved')
})

t.test('drainTimeoutMs: handlers that never finish are aborted; an undecided POST gets 503 with a JSON-RPC body', async (t) => {
  const store = new MemoryEventStore()
  const app = await buildApp(t, { demo: true, options: { drainTimeoutMs: 200, eventStore: store } })
  const never = new Promise<never>(() => {})
  const signals: { stream?: AbortSignal, json?: AbortSignal } = {}
  const running = { stream: deferred(), json: deferred() }
  app.mcp.tool({ name: 'stuck-stream', description: 'streams, then never finishes', inputSchema: Type.Object({}) }, async (_args, ctx) => {
    await ctx.progress(1)
    signals.stream = ctx.signal
    running.stream.resolve()
    return never
  })
  app.mcp.tool({ name: 'stuck-json', description: 'never finishes, sends nothing', inputSchema: Type.Object({}) }, async (_args, ctx) => {
    signals.json = ctx.signal
    running.json.resolve()
    return never
  })
  const url = await listen(app)
  const session = await openSessionHttp(url)
  const streaming = await request(url, 'POST', session.headers, rpc(1, 'tools/call', { name: 'stuck-stream', arguments: {}, _meta: { progressToken: 's' } }))
  t.teardown(() => streaming.destroy())
  await streaming.until((r) => r.messages().length === 1)
  const undecided = request(url, 'POST', session.headers, rpc(2, 'tools/call', { name: 'stuck-json', arguments: {} }))
  await Promise.all([running.stream.promise, running.json.promise])
  const lastSeen = lastDataId(streaming)
  // The plugin-owned session store: when it is closed, the handlers must have been aborted.
  const sessions = app.mcp.sessions
  const originalClose = sessions.close.bind(sessions)
  const atStoreClose: Array<boolean | undefined> = []
  sessions.close = async () => {
    atStoreClose.push(signals.stream?.aborted, signals.json?.aborted)
    return originalClose()
  }

  const began = Date.now()
  await within(app.close(), 'close to give up on the handlers', 5000)
  const elapsed = Date.now() - began
  t.ok(elapsed >= 190, `close waited for drainTimeoutMs before giving up (${elapsed} ms)`)
  t.equal(signals.stream?.aborted, true, 'the streaming handler\'s signal was aborted')
  t.equal(signals.json?.aborted, true, 'the undecided handler\'s signal was aborted')
  t.match(signals.json?.reason, { name: 'AbortError', message: 'Server shutting down' })
  t.same(atStoreClose, [true, true], 'the session store closed after the abort')

  const answer = await undecided
  await answer.waitEnd()
  t.equal(answer.status, 503)
  t.match(answer.headers['content-type'], /^application\/json/)
  t.equal(answer.headers['mcp-session-id'], session.id)
  t.strictSame(JSON.parse(answer.raw), SHUTTING_DOWN, '{"jsonrpc":"2.0","id":null,"error":{"code":-32000,...}}')
  t.ok(streaming.ended, 'the streaming POST was ended at close start')
  t.notOk(streaming.messages().some((m) => m.id === 1), 'no response for the aborted call')

  const replay = store.replayNow(session.id, lastSeen)
  t.same(replay?.events.map((e) => JSON.parse(e.data)), [
    { jsonrpc: '2.0', id: 1, error: { code: -32000, message: 'Server shutting down: the request was aborted' } }
  ], 'the aborted request\'s answer is stored: a client resuming elsewhere gets it')
  t.equal(replay?.ended, true, 'the aborted stream\'s history is ended, so a client resuming it is not told to retry forever')
})

t.test('the stores the plugin owns are closed after the drain, in order', async (t) => {
  const app = await buildApp(t, { demo: true })
  const order: string[] = []
  // The plugin's own MemoryEventStore is not reachable: observe it through its prototype.
  const proto = MemoryEventStore.prototype
  const { appendNow, close } = proto
  t.teardown(() => { proto.appendNow = appendNow; proto.close = close })
  proto.appendNow = function (this: MemoryEventStore, sessionId: string, streamId: string, data: string): string {
    if (data.includes('"result"')) order.push('response stored')
    return appendNow.call(this, sessionId, streamId, data)
  }
  proto.close = async function (this: MemoryEventStore): Promise<void> {
    order.push(`event store closed (${this.stats.events} events held)`)
    return close.call(this)
  }
  const { gates, started } = addGates(app)
  const sessions = app.mcp.sessions
  const closeSessions = sessions.close.bind(sessions)
  sessions.close = async () => {
    order.push('session store closed')
    return closeSessions()
  }
  const url = await listen(app)
  const session = await openSessionHttp(url)
  const post = await request(url, 'POST', session.headers, gateStream(3, 0))
  t.teardown(() => post.destroy())
  await post.until((r) => r.messages().length === 1)
  const signal = await started[0]!.promise
  const closing = app.close().then(() => { order.push('close resolved') })
  // On a lone instance with its memory store the POST stream stays open through the drain.
  await settle()
  t.notOk(post.ended, 'the streaming answer is still open')
  t.same(order, [], 'nothing is closed while the handler runs')
  order.push('handler released')
  gates[0]!.resolve()
  await post.waitEnd()
  t.equal(post.messages().at(-1)?.result?.content?.[0]?.text, 'released 0', 'and it carried the answer')
  await within(closing, 'close')
  t.same(order, [
    'handler released',
    'response stored',
    'event store closed (3 events held)',
    'session store closed',
    'close resolved'
  ], 'the response is stored, then the event store closes, then the session store, then close resolves')
  t.equal(signal.aborted, false)
})
