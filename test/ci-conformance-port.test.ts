// `npm run conformance` learns where the fixture server listens without reading its log:
// it once waited for the "MCP endpoint:" info line, and `LOG_LEVEL=warn npm run conformance`
// timed out. scripts/fixture-server.mjs picks the port, passes it as PORT and waits for /health.
import { readFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { freePort, startServer } from '../scripts/fixture-server.mjs'
import { openSessionHttp } from './helpers/index.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

/** A plain HTTP server that answers like the plugin's health route, on HOST/PORT. */
const TINY_SERVER = `
const http = require('node:http')
http.createServer((req, res) => { res.setHeader('content-type', 'application/json'); res.end('{"status":"ok"}') })
  .listen(Number(process.env.PORT), process.env.HOST)
process.on('SIGTERM', () => process.exit(0))
`

t.test('the conformance fixture is found with LOG_LEVEL=warn, where it logs nothing', async (t) => {
  let output = ''
  const sink = new Writable({ write (chunk, _encoding, callback) { output += String(chunk); callback() } })
  const server = await startServer(process.execPath, ['--import=tsx', 'examples/conformance-server/server.ts'], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn' },
    output: sink
  })
  t.teardown(() => server.stop())
  t.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/mcp$/)
  t.notMatch(output, /MCP endpoint/, 'no endpoint line was logged: the port did not come from the log')
  const session = await openSessionHttp(new URL(server.url))
  t.type(session.id, 'string', 'the URL is the fixture\'s MCP endpoint')
  t.equal(await server.stop(), 0, 'it stops cleanly on SIGTERM')
})

t.test('scripts/conformance.mjs starts the fixture through startServer, not by reading its log', async (t) => {
  const source = readFileSync(join(ROOT, 'scripts', 'conformance.mjs'), 'utf8')
  t.match(source, /import \{[^}]*\bstartServer\b[^}]*\} from '\.\/fixture-server\.mjs'/)
  t.notMatch(source, /MCP endpoint/, 'no log line is parsed for the URL')
})

t.test('a port taken between the probe and the bind: the server exits with EADDRINUSE and a new port is tried', async (t) => {
  // Takes the port and hangs up on whoever connects: not a health answer either.
  const squatter = createServer((socket) => socket.destroy())
  await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve))
  t.teardown(() => squatter.close())
  const taken = (squatter.address() as AddressInfo).port
  const picked: number[] = []
  const server = await startServer(process.execPath, ['-e', TINY_SERVER], {
    pickPort: async (host) => {
      const port = picked.length === 0 ? taken : await freePort(host)
      picked.push(port)
      return port
    }
  })
  t.teardown(() => server.stop())
  t.equal(picked.length, 2, 'two attempts')
  t.equal(picked[0], taken)
  t.equal(server.port, picked[1])
  t.equal(server.url, `http://127.0.0.1:${picked[1]}/mcp`)
  t.equal(await server.stop(), 0)
})

t.test('a server that exits for another reason is not retried; its output is in the error', async (t) => {
  let attempts = 0
  await t.rejects(startServer(process.execPath, ['-e', 'console.error("no config"); process.exit(3)'], {
    pickPort: async (host) => { attempts++; return freePort(host) }
  }), /exited early \(code 3, signal null\):\nno config/)
  t.equal(attempts, 1)
})
