// A client that drips its request holds a connection only as long as the server's request
// timeouts allow. Fastify has none by default: the plugin says so once at startup; the demo
// sets 10 s. The timeouts end when the request is received, so SSE streams are not cut.
import net from 'node:net'
import { Writable } from 'node:stream'
import t from 'tap'
import Fastify from 'fastify'
import mcp from '../lib/index.js'
import { DEMO_TIMEOUTS, buildDemo } from '../examples/demo/app.js'
import { buildApp, deferred, listen, openSessionHttp, request, streamHeaders, within } from './helpers/index.js'

function capture (): { stream: Writable, lines: () => Array<Record<string, any>> } {
  let text = ''
  const stream = new Writable({ write (chunk, _encoding, callback) { text += String(chunk); callback() } })
  return { stream, lines: () => text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line)) }
}

const WARNING = /no requestTimeout/

t.test('without a request timeout the plugin warns once at startup; with one it does not', async (t) => {
  const bare = capture()
  const app = Fastify({ logger: { level: 'warn', stream: bare.stream } })
  t.teardown(() => app.close())
  await app.register(mcp)
  await app.ready()
  await app.inject({ method: 'GET', url: '/health' })
  t.equal(bare.lines().filter((line) => WARNING.test(line.msg)).length, 1, 'one warning')

  const set = capture()
  const safe = Fastify({ requestTimeout: 10_000, logger: { level: 'warn', stream: set.stream } })
  t.teardown(() => safe.close())
  await safe.register(mcp)
  await safe.ready()
  t.equal(set.lines().filter((line) => WARNING.test(line.msg)).length, 0, 'no warning')
})

t.test('the demo sets both timeouts', async (t) => {
  const app = await buildDemo()
  t.teardown(() => app.close())
  t.equal(app.server.requestTimeout, DEMO_TIMEOUTS.requestTimeout)
  t.equal(app.server.headersTimeout, DEMO_TIMEOUTS.http.headersTimeout)
})

t.test('with timeouts set, a dripping body is dropped and an SSE stream is not', async (t) => {
  // Short timeouts and a fast check interval, so the test does not wait the real 10 s + 30 s.
  const { app, url } = await (async () => {
    const app = await buildApp(t, { demo: true, fastify: { requestTimeout: 600, http: { headersTimeout: 500, connectionsCheckingInterval: 100 } } as never })
    return { app, url: await listen(app) }
  })()
  const session = await openSessionHttp(url)
  const stream = await request(url, 'GET', streamHeaders(session))
  t.teardown(() => stream.destroy())
  t.equal(stream.status, 200)

  const dropped = deferred<number>()
  const started = Date.now()
  const socket = net.connect(Number(url.port), url.hostname)
  t.teardown(() => socket.destroy())
  let received = ''
  socket.on('data', (chunk) => { received += String(chunk) })
  socket.on('close', () => dropped.resolve(Date.now() - started))
  socket.on('error', () => {})
  socket.write('POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: 1000\r\n\r\n{')
  const drip = setInterval(() => socket.write(' '), 100)
  t.teardown(() => clearInterval(drip))
  const ms = await within(dropped.promise, 'the dripping client was dropped')
  t.ok(ms >= 500, `dropped after the timeout (${ms} ms)`)
  t.match(received, /^HTTP\/1\.1 408 /, 'told why: 408')
  t.same(JSON.parse(received.slice(received.indexOf('\r\n\r\n') + 4)).error.code, -32000, 'in a JSON-RPC body (the demo installs mcpClientErrorHandler)')

  // The stream has outlived both timeouts several times over and still carries messages.
  await new Promise((resolve) => setTimeout(resolve, 600))
  t.notOk(stream.ended, 'the SSE stream is still open')
  app.mcp.tool({ name: 'late', description: 'announced on the open stream', inputSchema: { type: 'object', properties: {} } }, () => 'x')
  await stream.until((r) => r.messages().some((m) => m.method === 'notifications/tools/list_changed'))
  t.pass('a notification still reaches it')
})

t.test('errors Node raises before any route get JSON-RPC bodies with mcpClientErrorHandler', async (t) => {
  const app = await buildApp(t, { demo: true })
  const url = await listen(app)
  async function raw (text: string): Promise<{ status: number, body: Record<string, any> }> {
    const socket = net.connect(Number(url.port), url.hostname)
    t.teardown(() => socket.destroy())
    let received = ''
    socket.on('data', (chunk) => { received += String(chunk) })
    socket.on('error', () => {})
    const closed = new Promise((resolve) => socket.once('close', resolve))
    socket.write(text)
    await within(closed, 'the server answered and closed')
    return { status: Number(received.slice(9, 12)), body: JSON.parse(received.slice(received.indexOf('\r\n\r\n') + 4)) }
  }
  const huge = await raw(`POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`)
  t.equal(huge.status, 431)
  t.same(huge.body, { jsonrpc: '2.0', id: null, error: { code: -32000, message: 'Request Header Fields Too Large' } })
  const malformed = await raw('POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Bad\u0001: x\r\n\r\n')
  t.equal(malformed.status, 400)
  t.equal(malformed.body.error.code, -32000)
  t.equal(malformed.body.jsonrpc, '2.0')
})
