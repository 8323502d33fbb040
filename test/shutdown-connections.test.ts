// app.close() ends when the drain does, not when clients' pooled connections time out:
// without the plugin's help, a keep-alive connection whose last answer was written after the
// close began lives out keepAliveTimeout (72 s), and one a client opened without a request
// yet waits for headersTimeout (60 s). The bound below is far from both and far above a
// normal close on a busy machine.
import http from 'node:http'
import net from 'node:net'
import t from 'tap'
import { buildApp, deferred, listen, postHeaders, rpc, within } from './helpers/index.js'
import { envelope, modernHeaders, modernRpc } from './helpers/modern.js'

const FAR_BELOW_THE_TIMEOUTS_MS = 10_000

async function timeClose (close: () => Promise<void>): Promise<number> {
  const started = Date.now()
  await within(close(), 'app.close()', 60_000)
  return Date.now() - started
}

t.test('keep-alive connections of answers written during the drain do not hold the close', async (t) => {
  const running = deferred()
  const app = await buildApp(t, {
    setup (app) {
      app.mcp.tool({ name: 'slow', description: 'answers after 300 ms', inputSchema: { type: 'object', properties: {} } }, async () => {
        running.resolve()
        await new Promise((resolve) => setTimeout(resolve, 300))
        return 'done'
      })
    }
  })
  const url = await listen(app)
  const agent = new http.Agent({ keepAlive: true, keepAliveMsecs: 60_000 })
  t.teardown(() => agent.destroy())
  const message = modernRpc(1, 'tools/call', { name: 'slow', arguments: {} }, envelope())
  const answer = new Promise<{ status: number, body: string, connection: string | undefined }>((resolve, reject) => {
    const body = JSON.stringify(message)
    const req = http.request(url, { method: 'POST', agent, headers: { ...modernHeaders(message), 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { text += chunk })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, connection: res.headers.connection }))
    })
    req.on('error', reject)
    req.end(body)
  })
  await within(running.promise, 'the handler started')
  const ms = await timeClose(() => app.close())
  const { status, body } = await answer
  t.equal(status, 200, 'the call running at shutdown was answered')
  t.match(body, /done/)
  t.ok(ms < FAR_BELOW_THE_TIMEOUTS_MS, `app.close() took ${ms} ms`)
})

t.test('a connection opened without a request does not hold the close', async (t) => {
  const app = await buildApp(t, { demo: true })
  const url = await listen(app)
  const socket = net.connect(Number(url.port), url.hostname)
  t.teardown(() => socket.destroy())
  await new Promise((resolve) => socket.once('connect', resolve))
  const closed = new Promise((resolve) => socket.once('close', resolve))
  // A session request on another pooled connection, as a client would have made.
  const res = await fetch(url, { method: 'POST', headers: postHeaders(), body: JSON.stringify(rpc(1, 'initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } })) })
  t.equal(res.status, 200)
  await res.text()
  const ms = await timeClose(() => app.close())
  await within(closed, 'the empty connection was ended')
  t.ok(ms < FAR_BELOW_THE_TIMEOUTS_MS, `app.close() took ${ms} ms`)
})
