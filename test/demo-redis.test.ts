// The README's demo on Redis: `REDIS_URL=… npm start` keeps its sessions in Redis, and two
// demo processes on one Redis serve each other's sessions.
import t from 'tap'
import { openSessionHttp, request, rpc } from './helpers/index.js'
import { RedisServer, skipWithoutRedis } from './helpers/redis-server.js'
import { startDemo } from './helpers/demo-process.js'

const skip = skipWithoutRedis()
t.test('REDIS_URL=… npm start runs the demo on Redis', { skip }, async (t) => {
  const server = await RedisServer.start()
  t.teardown(() => server.close())
  const env = { REDIS_URL: server.url, LOG_LEVEL: 'info' }
  const [a, b] = await Promise.all([startDemo(env), startDemo(env)])
  t.ok(a.onRedis && b.onRedis, 'both demos say their sessions are in Redis')
  t.teardown(() => { a.child.kill('SIGKILL'); b.child.kill('SIGKILL') })

  const session = await openSessionHttp(a.url)
  t.equal(server.cli('exists', `mcp:{${session.id}}:s`), '1', 'the session record is in Redis')
  const echo = await request(b.url, 'POST', session.headers, rpc(1, 'tools/call', { name: 'echo', arguments: { text: 'via the other process' } }))
  await echo.waitEnd()
  t.same(JSON.parse(echo.raw), { jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'via the other process' }] } }, 'the other demo process serves it')

  a.child.kill('SIGTERM')
  b.child.kill('SIGTERM')
  t.same(await Promise.all([a.exited, b.exited]), [0, 0], 'both close cleanly on SIGTERM')
})
