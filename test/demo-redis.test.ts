// The README's demo on Redis: `REDIS_URL=… npm start` keeps its sessions in Redis, and two
// demo processes on one Redis serve each other's sessions.
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { openSessionHttp, request, rpc } from './helpers/index.js'
import { RedisServer, skipWithoutRedis } from './helpers/redis-server.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

/** Start examples/demo/server.ts on a free port; resolves its MCP URL once it logs it. */
function startDemo (env: Record<string, string>): Promise<{ url: URL, child: ChildProcess, exited: Promise<number | null> }> {
  const child = spawn(process.execPath, ['--import=tsx', 'examples/demo/server.ts'], { cwd: ROOT, env: { ...process.env, PORT: '0', HOST: '127.0.0.1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return new Promise((resolve, reject) => {
    let output = ''
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`the demo did not start: ${output}`)) }, 20_000)
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk
      const match = /MCP endpoint: (http:\/\/[^\s"]+\/mcp)( \(sessions in Redis\))?/.exec(output)
      if (match !== null) {
        clearTimeout(timer)
        if (match[2] === undefined) reject(new Error(`the demo is not on Redis: ${match[0]}`))
        else resolve({ url: new URL(match[1]!), child, exited })
      }
    })
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
    void exited.then(() => { clearTimeout(timer); reject(new Error(`the demo exited: ${output}`)) })
  })
}

const skip = skipWithoutRedis()
t.test('REDIS_URL=… npm start runs the demo on Redis', { skip }, async (t) => {
  const server = await RedisServer.start()
  t.teardown(() => server.close())
  const env = { REDIS_URL: server.url, LOG_LEVEL: 'info' }
  const [a, b] = await Promise.all([startDemo(env), startDemo(env)])
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
