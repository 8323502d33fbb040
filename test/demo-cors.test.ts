// The demo as `npm start` runs it (examples/demo/server.ts: buildDemo(demoServerOptions())),
// met by a browser client on another localhost port, such as the MCP Inspector's web UI.
import t, { type Test } from 'tap'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { buildDemo, demoServerOptions } from '../examples/demo/app.js'
import { initializeParams, listen, post, postHeaders, request, rpc } from './helpers/index.js'

const INSPECTOR = 'http://localhost:6274'
const EVIL = 'https://evil.example'
const INIT = rpc(0, 'initialize', initializeParams())

function headerList (value: string | string[] | number | undefined): string[] {
  if (value === undefined) return []
  return (Array.isArray(value) ? value.join(',') : String(value)).split(',').map((h) => h.trim().toLowerCase()).filter((h) => h !== '')
}

async function demo (t: Test): Promise<FastifyInstance> {
  const app = await buildDemo(demoServerOptions({}))
  t.teardown(() => app.close())
  return app
}

function preflight (app: FastifyInstance, origin: string, method = 'POST'): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'OPTIONS',
    url: '/mcp',
    headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'content-type, mcp-session-id, mcp-protocol-version' }
  })
}

t.test('a preflight from http://localhost:6274 gets the CORS allow headers', async (t) => {
  const app = await demo(t)
  const res = await preflight(app, INSPECTOR)
  t.equal(res.statusCode, 204)
  t.equal(res.headers['access-control-allow-origin'], INSPECTOR)
  const methods = headerList(res.headers['access-control-allow-methods'])
  for (const method of ['get', 'post', 'delete']) t.ok(methods.includes(method), `Access-Control-Allow-Methods includes ${method}`)
  const allowed = headerList(res.headers['access-control-allow-headers'])
  for (const header of ['content-type', 'mcp-session-id', 'mcp-protocol-version', 'last-event-id']) t.ok(allowed.includes(header), `Access-Control-Allow-Headers includes ${header}`)
  t.match(String(res.headers.vary ?? ''), /origin/i, 'Vary: Origin')

  for (const origin of ['http://127.0.0.1:5173', 'http://localhost', 'http://[::1]:6274']) {
    const other = await preflight(app, origin)
    t.equal(other.statusCode, 204, `preflight from ${origin}`)
    t.equal(other.headers['access-control-allow-origin'], origin)
  }
  t.equal((await app.mcp.stats()).sessions, 0, 'preflights create nothing')
})

t.test('a POST initialize from http://localhost:6274 exposes Mcp-Session-Id', async (t) => {
  const app = await demo(t)
  const res = await post(app, INIT, postHeaders({ origin: INSPECTOR }))
  t.equal(res.statusCode, 200)
  t.type(res.headers['mcp-session-id'], 'string')
  t.equal(res.headers['access-control-allow-origin'], INSPECTOR)
  t.ok(headerList(res.headers['access-control-expose-headers']).includes('mcp-session-id'), 'Access-Control-Expose-Headers includes Mcp-Session-Id')
})

t.test('a foreign origin gets no CORS allow and a 403 from the Origin guard', async (t) => {
  const app = await demo(t)
  const origins = [EVIL, 'http://localhost.evil.example:6274', 'http://evil.example/http://localhost:6274']
  for (const origin of origins) {
    const pre = await preflight(app, origin)
    t.equal(pre.statusCode, 403, `preflight from ${origin}: 403`)
    t.equal(pre.headers['access-control-allow-origin'], undefined, `preflight from ${origin}: no Access-Control-Allow-Origin`)
    t.equal(pre.json().error.code, -32000)

    const res = await post(app, INIT, postHeaders({ origin }))
    t.equal(res.statusCode, 403, `POST from ${origin}: 403`)
    t.equal(res.headers['access-control-allow-origin'], undefined, `POST from ${origin}: no Access-Control-Allow-Origin`)
    t.equal(res.headers['mcp-session-id'], undefined)
    t.match(res.json().error.message, /Origin not allowed/)
  }
  t.equal((await app.mcp.stats()).sessions, 0)
})

t.test('listening on 127.0.0.1 like `npm start`: the Inspector is served, a foreign origin is refused', async (t) => {
  const app = await demo(t)
  const url = await listen(app)
  const pre = await request(url, 'OPTIONS', { origin: INSPECTOR, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, mcp-session-id' })
  await pre.waitEnd()
  t.equal(pre.status, 204)
  t.equal(pre.headers['access-control-allow-origin'], INSPECTOR)

  const init = await request(url, 'POST', postHeaders({ origin: INSPECTOR }), INIT)
  await init.waitEnd()
  t.equal(init.status, 200)
  t.equal(init.headers['access-control-allow-origin'], INSPECTOR)
  t.ok(headerList(init.headers['access-control-expose-headers']).includes('mcp-session-id'))

  const evil = await request(url, 'POST', postHeaders({ origin: EVIL }), INIT)
  await evil.waitEnd()
  t.equal(evil.status, 403)
  t.equal(evil.headers['access-control-allow-origin'], undefined)
})

t.test('demoServerOptions: Redis only when REDIS_URL is set', async (t) => {
  t.equal(demoServerOptions({}).redis, undefined)
  t.equal(demoServerOptions({ REDIS_URL: '' }).redis, undefined)
  t.equal(demoServerOptions({ REDIS_URL: 'redis://127.0.0.1:6379' }).redis, 'redis://127.0.0.1:6379')
  t.ok(demoServerOptions({ REDIS_URL: 'redis://127.0.0.1:6379' }).cors, 'CORS on Redis too')
})
