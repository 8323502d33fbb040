// Server-Sent Events over real sockets: POST answers, the standalone GET stream, keep-alives,
// list-changed announcements, DELETE, backpressure and shutdown.
import http from 'node:http'
import t from 'tap'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { buildDemo } from '../examples/demo/app.js'
import { callTool, deferred, initializeParams, listen, notification, openSessionHttp, postHeaders, request, rpc, serve, sseMessages, streamHeaders, StreamReader, type Session, within } from './helpers/index.js'

const SSE_HEADERS = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no'
}

function assertSseHeaders (t: Tap, reader: StreamReader, session: Session): void {
  t.equal(reader.status, 200, 'status 200')
  t.equal(reader.headers['content-type'], SSE_HEADERS['content-type'], 'Content-Type: text/event-stream, exactly')
  t.equal(reader.headers['cache-control'], SSE_HEADERS['cache-control'], 'Cache-Control: no-cache, no-transform')
  t.equal(reader.headers['x-accel-buffering'], SSE_HEADERS['x-accel-buffering'], 'X-Accel-Buffering: no')
  t.equal(reader.headers['mcp-session-id'], session.id, 'Mcp-Session-Id of the session')
}

interface Tap { equal (found: unknown, wanted: unknown, ...message: [string]): boolean }

/** Server-side: resolves when the socket of the request carrying `x-probe: <probe>` closes. */
function watchSocket (app: FastifyInstance, probe: string): { request: Promise<http.IncomingMessage>, closed: Promise<void> } {
  const req = deferred<http.IncomingMessage>()
  const closed = deferred()
  app.server.on('request', (incoming: http.IncomingMessage) => {
    if (incoming.headers['x-probe'] !== probe) return
    req.resolve(incoming)
    incoming.socket.once('close', () => closed.resolve())
  })
  return { request: req.promise, closed: closed.promise }
}

/**
 * A POST whose response is never read: the response is paused as soon as its headers arrive,
 * so once the client's buffers fill, Node stops reading the socket and the server's writes
 * back up. `resume()` later turns it into an ordinary StreamReader.
 */
function stalledPost (url: URL, headers: Record<string, string>, body: unknown): Promise<{ response: http.IncomingMessage, resume (): StreamReader, destroy (): void }> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body)
    const req = http.request(url, { method: 'POST', headers: { ...headers, 'content-length': Buffer.byteLength(payload) }, agent: false }, (response) => {
      response.pause()
      resolve({ response, resume: () => new StreamReader(response), destroy: () => response.destroy() })
    })
    req.on('error', reject)
    req.end(payload)
  })
}

/**
 * initialize + initialized over a real socket, accepting an initialize result sent as either
 * JSON or SSE (responseMode 'sse' streams every answer; helpers.openSessionHttp expects JSON).
 */
async function openSessionAnyMode (url: URL): Promise<Session> {
  const init = await request(url, 'POST', postHeaders(), rpc(0, 'initialize', initializeParams()))
  await init.waitEnd()
  if (init.status !== 200) throw new Error(`initialize failed: ${init.status} ${init.raw}`)
  const body = init.headers['content-type'] === 'text/event-stream' ? sseMessages(init.raw).at(-1) : JSON.parse(init.raw)
  const id = init.headers['mcp-session-id'] as string
  const headers = postHeaders({ 'mcp-session-id': id, 'mcp-protocol-version': body.result.protocolVersion })
  const ack = await request(url, 'POST', headers, notification('notifications/initialized'))
  await ack.waitEnd()
  if (ack.status !== 202) throw new Error(`initialized failed: ${ack.status}`)
  return { id, protocolVersion: body.result.protocolVersion, headers }
}

t.test('auto mode: progress before the result turns the POST answer into an SSE stream', async (t) => {
  const { url } = await serve(t, { demo: true })
  const session = await openSessionHttp(url)
  const reader = await request(url, 'POST', session.headers, callTool(5, 'countdown', { from: 3, intervalMs: 0 }, 'tok-1'))
  assertSseHeaders(t, reader, session)
  await reader.waitEnd()
  t.ok(reader.ended, 'the stream ends after the response')

  t.ok(reader.events.length > 1)
  // A 2025-11-25 session: the priming event (id, retry, empty data) comes first.
  const [priming, ...events] = reader.events
  t.same(priming, { id: priming!.id, retry: 1000, data: '' }, 'a priming event first')
  t.ok(events.every((e) => e.event === 'message' && e.id !== undefined), 'then every event is `event: message` with an id')
  for (const event of events) t.doesNotThrow(() => JSON.parse(event.data), 'data is JSON')
  // Exactly the priming event, then `id:`, `event: message` and one `data:` line per event.
  t.match(reader.raw, /^id: [\w-]+\.\d+\nretry: 1000\ndata: \n\n(id: [\w-]+\.\d+\nevent: message\ndata: [^\n]+\n\n)+$/, 'nothing but message events on the wire')

  const messages = reader.messages()
  const progress = messages.filter((m) => m.method === 'notifications/progress')
  t.same(progress.map((m) => m.params), [
    { progressToken: 'tok-1', progress: 1, total: 3, message: 'T-3' },
    { progressToken: 'tok-1', progress: 2, total: 3, message: 'T-2' },
    { progressToken: 'tok-1', progress: 3, total: 3, message: 'T-1' }
  ])
  const logs = messages.filter((m) => m.method === 'notifications/message')
  t.same(logs.map((m) => m.params), [3, 2, 1].map((n) => ({ level: 'info', data: { countdown: n } })))
  t.equal(messages.length, 7, 'three progress, three logs, one response')
  const last = messages.at(-1)
  t.same(last, { jsonrpc: '2.0', id: 5, result: { content: [{ type: 'text', text: 'liftoff' }] } }, 'the final response is the last event')
  t.equal(messages.filter((m) => m.id !== undefined).length, 1, 'one response only')
})

t.test('auto mode without related messages answers application/json', async (t) => {
  const { url } = await serve(t, { demo: true })
  const session = await openSessionHttp(url)
  const reader = await request(url, 'POST', session.headers, callTool(6, 'echo', { text: 'plain' }))
  await reader.waitEnd()
  t.equal(reader.status, 200)
  t.match(reader.headers['content-type'], /^application\/json(;|$)/)
  t.equal(reader.headers['mcp-session-id'], session.id)
  t.same(JSON.parse(reader.raw), { jsonrpc: '2.0', id: 6, result: { content: [{ type: 'text', text: 'plain' }] } })
  t.equal(reader.events.length, 0, 'no SSE framing')
})

t.test("responseMode 'json' never streams and drops progress", async (t) => {
  const { url } = await serve(t, { demo: true, options: { responseMode: 'json' } })
  const session = await openSessionHttp(url)
  const reader = await request(url, 'POST', session.headers, callTool(7, 'countdown', { from: 3, intervalMs: 0 }, 'tok-json'))
  await reader.waitEnd()
  t.equal(reader.status, 200)
  t.match(reader.headers['content-type'], /^application\/json(;|$)/)
  t.same(JSON.parse(reader.raw), { jsonrpc: '2.0', id: 7, result: { content: [{ type: 'text', text: 'liftoff' }] } }, 'only the response')
  t.notMatch(reader.raw, /notifications\//, 'no progress or log notification anywhere')
})

t.test("responseMode 'sse' streams even a plain echo", async (t) => {
  const { url } = await serve(t, { demo: true, options: { responseMode: 'sse' } })
  const session = await openSessionAnyMode(url)
  const reader = await request(url, 'POST', session.headers, callTool(8, 'echo', { text: 'streamed' }))
  assertSseHeaders(t, reader, session)
  await reader.waitEnd()
  t.equal(reader.events.length, 2, 'the priming event and the response')
  t.equal(reader.events[0]!.data, '')
  t.equal(reader.events[1]!.event, 'message')
  t.same(reader.messages(), [{ jsonrpc: '2.0', id: 8, result: { content: [{ type: 'text', text: 'streamed' }] } }])
})

t.test('GET opens the standalone stream; a second GET replaces the first', async (t) => {
  const { app, url } = await serve(t, { demo: true })
  const session = await openSessionHttp(url)
  const first = await request(url, 'GET', streamHeaders(session))
  t.teardown(() => first.destroy())
  assertSseHeaders(t, first, session)
  t.equal((await app.mcp.stats()).streams, 1)

  const second = await request(url, 'GET', streamHeaders(session))
  t.teardown(() => second.destroy())
  assertSseHeaders(t, second, session)
  t.not(second.status, 409, 'no 409 Conflict')
  await first.waitEnd()
  t.ok(first.ended, 'the first stream was ended by the server')
  t.notOk(second.ended, 'the second stays open')
  t.equal(first.events.length, 1, 'only the priming event was sent on the first stream')
  t.equal(first.messages().length, 0)

  // The replacement is the live one: a list-changed announcement arrives there.
  app.mcp.tool({ name: 'after-replace', description: 'added later', inputSchema: Type.Object({}) }, async () => 'ok')
  await second.until((r) => r.messages().length === 1)
  t.same(second.messages(), [{ jsonrpc: '2.0', method: 'notifications/tools/list_changed' }])
  t.equal((await app.mcp.stats()).streams, 1, 'only one stream open')
})

t.test('keep-alive comments arrive on an idle stream', async (t) => {
  const { url } = await serve(t, { demo: true, options: { keepAliveMs: 50 } })
  const session = await openSessionHttp(url)
  const reader = await request(url, 'GET', streamHeaders(session))
  t.teardown(() => reader.destroy())
  assertSseHeaders(t, reader, session)
  const keepAlives = (r: StreamReader) => r.raw.split(': keepalive\n\n').length - 1
  await reader.until((r) => keepAlives(r) >= 3, 10_000)
  t.ok(keepAlives(reader) >= 3, 'several keep-alive comments')
  t.match(reader.raw, /^id: [\w-]+\.\d+\nretry: 1000\ndata: \n\n(: keepalive\n\n)+$/, 'only the priming event, then keep-alive comments on the idle stream')
  t.equal(reader.events.length, 1, 'comments are not events')
})

t.test('a tool added after listen announces tools/list_changed on the GET stream', async (t) => {
  const { app, url } = await serve(t, { demo: true })
  const withStream = await openSessionHttp(url)
  const withoutStream = await openSessionHttp(url)
  const reader = await request(url, 'GET', streamHeaders(withStream))
  t.teardown(() => reader.destroy())
  t.equal(reader.status, 200)

  app.mcp.tool({ name: 'late', description: 'registered after listen', inputSchema: Type.Object({}) }, async () => 'late result')
  await reader.until((r) => r.messages().length >= 1)
  t.same(reader.messages(), [{ jsonrpc: '2.0', method: 'notifications/tools/list_changed' }])
  t.equal(reader.events.filter((e) => e.data !== '')[0]!.event, 'message')

  // The session without a GET stream is unaffected and sees the new tool.
  const list = await request(url, 'POST', withoutStream.headers, rpc(2, 'tools/list'))
  await list.waitEnd()
  t.equal(list.status, 200)
  t.ok(JSON.parse(list.raw).result.tools.some((tool: { name: string }) => tool.name === 'late'))
  const call = await request(url, 'POST', withoutStream.headers, callTool(3, 'late', {}))
  await call.waitEnd()
  t.same(JSON.parse(call.raw), { jsonrpc: '2.0', id: 3, result: { content: [{ type: 'text', text: 'late result' }] } })

  // Removal is announced the same way.
  t.ok(app.mcp.removeTool('late'))
  await reader.until((r) => r.messages().length >= 2)
  t.same(reader.messages()[1], { jsonrpc: '2.0', method: 'notifications/tools/list_changed' })
})

t.test('DELETE ends the GET stream and aborts a tool call whose POST is streaming', async (t) => {
  const reached = deferred()
  const aborted = deferred<{ aborted: boolean, reason: unknown }>()
  const { app, url } = await serve(t, {
    demo: true,
    setup: (app) => {
      app.mcp.tool({ name: 'hold', description: 'waits until aborted', inputSchema: Type.Object({}) }, async (_args, ctx) => {
        await ctx.progress(1)
        reached.resolve()
        const signal = ctx.signal
        if (!signal.aborted) await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
        aborted.resolve({ aborted: signal.aborted, reason: signal.reason })
        return 'released'
      })
    }
  })
  const session = await openSessionHttp(url)
  const get = await request(url, 'GET', streamHeaders(session))
  t.teardown(() => get.destroy())
  t.equal(get.status, 200)
  const post = await request(url, 'POST', session.headers, callTool(9, 'hold', {}, 'tok-hold'))
  t.teardown(() => post.destroy())
  assertSseHeaders(t, post, session)
  await post.until((r) => r.messages().some((m) => m.method === 'notifications/progress'))
  await within(reached.promise, 'the handler to start')
  t.equal((await app.mcp.stats()).streams, 2)

  const del = await request(url, 'DELETE', { 'mcp-session-id': session.id, 'mcp-protocol-version': session.protocolVersion })
  await del.waitEnd()
  t.equal(del.status, 204)

  await get.waitEnd()
  t.ok(get.ended, 'the GET stream ended')
  await post.waitEnd()
  t.ok(post.ended, 'the streaming POST ended')
  const outcome = await within(aborted.promise, 'the handler to be aborted')
  t.equal(outcome.aborted, true, "the tool's signal was aborted")
  t.type(outcome.reason, Error)
  t.notOk(post.messages().some((m) => m.id === 9 && m.result !== undefined), 'no result for the aborted call')

  const after = await request(url, 'POST', session.headers, rpc(10, 'ping'))
  await after.waitEnd()
  t.equal(after.status, 404, 'the session is gone')
})

t.test('backpressure: a handler that awaits each message is paced by a reader that stopped reading', async (t) => {
  const big = 'x'.repeat(8 * 1024)
  const total = 10_000 // ~80 MB: far more than the socket buffers of a reader that never reads
  const deepEnough = 32 // ~256 KB: well past Node's own 16 KB high-water mark
  const stalled = deferred<number>()
  let progressed = 0
  const finished = deferred<{ sent: number, aborted: boolean, maxBuffered: number }>()
  let serverSide: http.IncomingMessage | undefined
  const { app, url } = await serve(t, {
    demo: true,
    options: { maxQueuedBytes: 2048 },
    setup: (app) => {
      app.mcp.tool({ name: 'flood-await', description: 'logs a lot, awaiting each', inputSchema: Type.Object({}) }, async (_args, ctx) => {
        let sent = 0
        let maxBuffered = 0
        for (; sent < total; sent++) {
          const pending = ctx.log('info', { i: sent, big })
          // What Node holds for this socket right after a write: the peak for this message.
          maxBuffered = Math.max(maxBuffered, serverSide?.socket.writableLength ?? 0)
          let settled = false
          pending.then(() => { settled = true })
          // A stream that can take more resolves at once; one waiting for `drain` does not.
          await null
          await null
          if (!settled && sent >= deepEnough) stalled.resolve(sent)
          await pending
          progressed = sent + 1
        }
        finished.resolve({ sent, aborted: ctx.signal.aborted, maxBuffered })
        return 'flooded'
      })
    }
  })
  const other = await openSessionHttp(url)
  const session = await openSessionHttp(url)
  const probe = watchSocket(app, 'flood-await')
  probe.request.then((req) => { serverSide = req })
  const stuck = await stalledPost(url, { ...session.headers, 'x-probe': 'flood-await' }, callTool(11, 'flood-await', {}))
  t.teardown(() => stuck.destroy())
  t.equal(stuck.response.statusCode, 200)
  t.equal(stuck.response.headers['content-type'], 'text/event-stream')

  // The handler waits for `drain` instead of piling messages up in memory (and the stream
  // is still open, or there would be nothing to wait for).
  const first = await within(Promise.race([stalled.promise, finished.promise.then(() => -1)]), 'the handler to feel backpressure', 30_000)
  t.ok(first >= deepEnough, `the handler waits for the socket to drain (first wait after ${first} messages)`)

  // Meanwhile the server is healthy and another session is unaffected.
  const countdown = await request(url, 'POST', other.headers, callTool(1, 'countdown', { from: 3, intervalMs: 0 }, 'other'))
  await countdown.waitEnd()
  t.same(countdown.messages().at(-1), { jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'liftoff' }] } })
  t.equal(countdown.messages().filter((m) => m.method === 'notifications/progress').length, 3)
  const health = await app.inject({ method: 'GET', url: '/health' })
  t.equal(health.statusCode, 200)
  t.equal(health.json().status, 'ok')

  // A reader that never reads cannot take 80 MB: the handler is still held back.
  t.ok(progressed < total, `the handler is held back by the reader (${progressed} of ${total} sent)`)

  // The client goes away: the handler is released (not aborted: a drop is not a cancel).
  stuck.destroy()
  await within(probe.closed, 'the server to see the socket close')
  const outcome = await within(finished.promise, 'the handler to finish')
  t.equal(outcome.sent, total, 'the handler ran to the end once released')
  t.equal(outcome.aborted, false, 'a dropped reader does not abort the handler')
  // Over the whole flood Node never held more than about one message plus its high-water mark.
  t.ok(outcome.maxBuffered < 64 * 1024, `server-side buffer stayed bounded (peak ${outcome.maxBuffered} bytes)`)
  t.equal((await app.mcp.stats()).streams, 0, 'the stream is gone')
})

t.test('backpressure: a handler that does not wait is cut off at maxQueuedBytes', async (t) => {
  const big = 'x'.repeat(8 * 1024)
  const total = 5000 // ~40 MB: far more than socket buffers hold
  const finished = deferred<{ aborted: boolean }>()
  const { app, url } = await serve(t, {
    demo: true,
    options: { maxQueuedBytes: 2048 },
    setup: (app) => {
      app.mcp.tool({ name: 'flood', description: 'logs a lot without waiting', inputSchema: Type.Object({}) }, async (_args, ctx) => {
        const pending: Array<Promise<void>> = []
        for (let i = 0; i < total; i++) pending.push(ctx.log('info', { i, big }))
        await Promise.all(pending)
        finished.resolve({ aborted: ctx.signal.aborted })
        return 'flooded'
      })
    }
  })
  const other = await openSessionHttp(url)
  const otherStream = await request(url, 'GET', streamHeaders(other))
  t.teardown(() => otherStream.destroy())
  const session = await openSessionHttp(url)
  const probe = watchSocket(app, 'flood')
  const stuck = await stalledPost(url, { ...session.headers, 'x-probe': 'flood' }, callTool(12, 'flood', {}))
  t.teardown(() => stuck.destroy())
  t.equal(stuck.response.statusCode, 200)
  t.equal(stuck.response.headers['content-type'], 'text/event-stream')

  // The client neither reads nor closes: only the server can have closed this socket.
  await within(probe.closed, 'the server to close the slow stream', 30_000)
  t.same(await within(finished.promise, 'the handler to finish'), { aborted: false }, 'the handler was released, not aborted')

  // Reading now yields what reached the socket before the cut, and then the end: no response.
  const reader = stuck.resume()
  await reader.waitEnd(30_000)
  t.ok(reader.ended)
  const received = sseMessages(reader.raw.slice(0, reader.raw.lastIndexOf('\n\n') + 2))
  t.ok(received.length < total, `the stream was cut (${received.length} of ${total} messages delivered)`)
  t.notOk(received.some((m) => m.id === 12), 'the response never went out on the cut stream')

  // The server stays healthy; the other session and its stream are unaffected.
  const health = await app.inject({ method: 'GET', url: '/health' })
  t.equal(health.statusCode, 200)
  t.equal((await app.mcp.stats()).streams, 1, 'only the other session\'s GET stream remains')
  t.notOk(otherStream.ended)
  const echo = await request(url, 'POST', other.headers, callTool(2, 'echo', { text: 'fine' }))
  await echo.waitEnd()
  t.same(JSON.parse(echo.raw), { jsonrpc: '2.0', id: 2, result: { content: [{ type: 'text', text: 'fine' }] } })
  app.mcp.tool({ name: 'ping-stream', description: 'announce', inputSchema: Type.Object({}) }, async () => 'ok')
  await otherStream.until((r) => r.messages().length >= 1)
  t.same(otherStream.messages(), [{ jsonrpc: '2.0', method: 'notifications/tools/list_changed' }])
})

t.test('backpressure: a reader that stays stalled for slowReaderTimeoutMs is dropped and the handler released', async (t) => {
  const big = 'x'.repeat(8 * 1024)
  const total = 10_000
  const finished = deferred<{ sent: number, aborted: boolean }>()
  const { app, url } = await serve(t, {
    demo: true,
    options: { slowReaderTimeoutMs: 300 },
    setup: (app) => {
      app.mcp.tool({ name: 'flood-await', description: 'logs a lot, awaiting each', inputSchema: Type.Object({}) }, async (_args, ctx) => {
        let sent = 0
        for (; sent < total; sent++) await ctx.log('info', { i: sent, big })
        finished.resolve({ sent, aborted: ctx.signal.aborted })
        return 'flooded'
      })
    }
  })
  const session = await openSessionHttp(url)
  const probe = watchSocket(app, 'stalled')
  const stuck = await stalledPost(url, { ...session.headers, 'x-probe': 'stalled' }, callTool(13, 'flood-await', {}))
  t.teardown(() => stuck.destroy())
  t.equal(stuck.response.headers['content-type'], 'text/event-stream')

  // The client neither reads nor closes: only the server's stall timeout can close this socket,
  // and closing it is what lets the awaiting handler run to its end.
  await within(probe.closed, 'the server to drop the stalled reader', 30_000)
  t.same(await within(finished.promise, 'the handler to be released'), { sent: total, aborted: false }, 'released, not aborted')
  t.equal((await app.mcp.stats()).streams, 0, 'the stream is gone')
})

t.test('app.close() with an open GET stream ends the stream and resolves', async (t) => {
  const app = await buildDemo()
  const url = await listen(app)
  let closed = false
  t.teardown(async () => { if (!closed) await app.close() })
  const session = await openSessionHttp(url)
  const reader = await request(url, 'GET', streamHeaders(session))
  t.teardown(() => reader.destroy())
  t.equal(reader.status, 200)
  t.equal((await app.mcp.stats()).streams, 1)

  await within(app.close(), 'app.close() to resolve')
  closed = true
  t.pass('close resolved with a stream open')
  await reader.waitEnd()
  t.ok(reader.ended, 'the GET stream was ended by preClose')
  t.equal(app.server.listening, false)
})

t.test('notifications alone are accepted with 202 and no stream', async (t) => {
  const { url } = await serve(t, { demo: true, options: { responseMode: 'sse' } })
  const session = await openSessionAnyMode(url)
  const res = await request(url, 'POST', postHeaders({ 'mcp-session-id': session.id, 'mcp-protocol-version': session.protocolVersion }), notification('notifications/progress', { progressToken: 'x', progress: 1 }))
  await res.waitEnd()
  t.equal(res.status, 202)
  t.equal(res.raw, '')
})
