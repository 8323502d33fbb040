import { readFileSync } from 'node:fs'
import Fastify, { type FastifyInstance } from 'fastify'
import t from 'tap'
import mcp, { MemorySessionStore, type McpPluginOptions } from '../lib/index.js'
import { buildApp, initializeParams, postHeaders, rpc } from './helpers/index.js'

function initialize (app: FastifyInstance, url = '/mcp') {
  return app.inject({ method: 'POST', url, headers: postHeaders(), payload: rpc(0, 'initialize', initializeParams()) })
}

const invalid: Array<[string, Record<string, unknown>, string]> = [
  ['path without a leading /', { path: 'mcp' }, 'path'],
  ['path not a string', { path: 42 }, 'path'],
  ['responseMode "xml"', { responseMode: 'xml' }, 'responseMode'],
  ['negative sessionTtlMs', { sessionTtlMs: -1 }, 'sessionTtlMs'],
  ['float sessionTtlMs', { sessionTtlMs: 1.5 }, 'sessionTtlMs'],
  ['zero sessionTtlMs', { sessionTtlMs: 0 }, 'sessionTtlMs'],
  ['string sessionTtlMs', { sessionTtlMs: '100' }, 'sessionTtlMs'],
  ['maxSessions 0', { maxSessions: 0 }, 'maxSessions'],
  ['negative touchIntervalMs', { touchIntervalMs: -1 }, 'touchIntervalMs'],
  ['keepAliveMs -1', { keepAliveMs: -1 }, 'keepAliveMs'],
  ['bodyLimit 0', { bodyLimit: 0 }, 'bodyLimit'],
  ['maxBatchSize 0', { maxBatchSize: 0 }, 'maxBatchSize'],
  ['maxInFlightRequests 0', { maxInFlightRequests: 0 }, 'maxInFlightRequests'],
  ['maxQueuedBytes 10', { maxQueuedBytes: 10 }, 'maxQueuedBytes'],
  ['slowReaderTimeoutMs 0', { slowReaderTimeoutMs: 0 }, 'slowReaderTimeoutMs'],
  ['touchIntervalMs not below sessionTtlMs', { sessionTtlMs: 1000, touchIntervalMs: 1000 }, 'touchIntervalMs'],
  ['pageSize 0', { pageSize: 0 }, 'pageSize'],
  ['allowedHosts not an array', { allowedHosts: 'x' }, 'allowedHosts'],
  ['allowedHosts with an empty entry', { allowedHosts: [''] }, 'allowedHosts'],
  ['allowedOrigins not an array', { allowedOrigins: 'https://a.example' }, 'allowedOrigins'],
  ['cors "yes"', { cors: 'yes' }, 'cors'],
  ['serverInfo without version', { serverInfo: { name: 'x' } }, 'serverInfo'],
  ['serverInfo not an object', { serverInfo: 'x' }, 'serverInfo'],
  ['instructions not a string', { instructions: 42 }, 'instructions'],
  ['stateless not a boolean', { stateless: 'yes' }, 'stateless'],
  ['health without a leading /', { health: 'health' }, 'health'],
  ['auth without authenticate', { auth: {} }, 'auth'],
  ['auth with a non-function authenticate', { auth: { authenticate: 'token' } }, 'auth'],
  ['requestState not an object', { requestState: 'secret' }, 'requestState'],
  ['requestState.keys with a key under 32 bytes', { requestState: { keys: ['k'.repeat(32), 'short'] } }, 'requestState.keys'],
  ['requestState.keys empty', { requestState: { keys: [] } }, 'requestState.keys'],
  ['requestState.keys not an array', { requestState: { keys: 'k'.repeat(32) } }, 'requestState.keys'],
  ['requestState.ttlMs 0', { requestState: { ttlMs: 0 } }, 'requestState.ttlMs'],
  ['maxInputRounds 0', { maxInputRounds: 0 }, 'maxInputRounds']
]

t.test('every bad option throws FST_MCP_INVALID_OPTION naming it', async (t) => {
  for (const [label, options, name] of invalid) {
    t.test(label, async (t) => {
      const app = Fastify()
      t.teardown(() => app.close())
      await t.rejects(async () => {
        await app.register(mcp, options as McpPluginOptions)
        await app.ready()
      }, { code: 'FST_MCP_INVALID_OPTION', message: new RegExp(`"${name}"`) })
      t.notOk(app.hasDecorator('mcp') && app.hasRoute({ method: 'POST', url: '/mcp' }), 'nothing was served')
    })
  }
})

t.test('valid edge values are accepted', async (t) => {
  const app = await buildApp(t, {
    options: {
      sessionTtlMs: 1,
      maxSessions: 1,
      touchIntervalMs: 0,
      keepAliveMs: 0,
      bodyLimit: 1,
      maxQueuedBytes: 1024,
      allowedHosts: false,
      allowedOrigins: false,
      cors: false,
      health: false,
      responseMode: 'json',
      requestState: { keys: ['k'.repeat(32), Buffer.alloc(32)], ttlMs: 1 },
      maxInputRounds: 1
    }
  })
  t.ok(app.hasDecorator('mcp'))
})

t.test('a sessionStore missing a method throws FST_MCP_INVALID_STORE', async (t) => {
  const methods = ['create', 'get', 'update', 'touch', 'delete', 'size', 'onExpired', 'close'] as const
  for (const missing of methods) {
    t.test(`without ${missing}()`, async (t) => {
      const real = new MemorySessionStore()
      t.teardown(() => real.close())
      const store: Record<string, unknown> = {}
      for (const method of methods) {
        if (method !== missing) store[method] = (real[method] as (...args: unknown[]) => unknown).bind(real)
      }
      const app = Fastify()
      t.teardown(() => app.close())
      await t.rejects(async () => {
        await app.register(mcp, { sessionStore: store as never })
        await app.ready()
      }, { code: 'FST_MCP_INVALID_STORE', message: new RegExp(`"sessionStore".*${missing}\\(\\)`) })
    })
  }
  t.test('not an object', async (t) => {
    const app = Fastify()
    t.teardown(() => app.close())
    await t.rejects(async () => {
      await app.register(mcp, { sessionStore: 'redis://localhost' as never })
      await app.ready()
    }, { code: 'FST_MCP_INVALID_STORE' })
  })
})

t.test('path: "/custom" serves MCP there and not on /mcp', async (t) => {
  const app = await buildApp(t, { demo: true, options: { path: '/custom' } })
  const res = await initialize(app, '/custom')
  t.equal(res.statusCode, 200)
  t.ok(res.headers['mcp-session-id'], 'a session was created on /custom')
  t.equal(res.json().result.serverInfo.name, 'fastify-mcp-streamable-demo')
  t.equal((await initialize(app, '/mcp')).statusCode, 404, '/mcp is not served')
  const get = await app.inject({ method: 'GET', url: '/custom', headers: { accept: 'text/event-stream' } })
  t.equal(get.statusCode, 400, 'GET on /custom is the MCP route (no session → 400)')
  t.equal(get.json().error.code, -32000)
})

t.test('serverInfo and instructions appear in the initialize result', async (t) => {
  const serverInfo = { name: 'my-server', version: '3.2.1', title: 'My Server' }
  const app = await buildApp(t, { options: { serverInfo, instructions: 'Use the tools wisely.' } })
  const res = await initialize(app)
  t.equal(res.statusCode, 200)
  const result = res.json().result
  t.strictSame(result.serverInfo, serverInfo)
  t.equal(result.instructions, 'Use the tools wisely.')
})

t.test('without instructions the initialize result has none', async (t) => {
  const app = await buildApp(t, { options: { serverInfo: { name: 'n', version: '1' } } })
  const result = (await initialize(app)).json().result
  t.notOk('instructions' in result)
})

t.test('the default serverInfo is the package name and version', async (t) => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
  const app = await buildApp(t)
  const res = await initialize(app)
  t.equal(res.statusCode, 200)
  t.strictSame(res.json().result.serverInfo, { name: pkg.name, version: pkg.version })
})

t.test('maxSessions and sessionTtlMs reach the default memory store', async (t) => {
  const app = await buildApp(t, { options: { maxSessions: 7, sessionTtlMs: 12_345 } })
  const store = app.mcp.sessions as MemorySessionStore
  t.ok(store instanceof MemorySessionStore)
  t.equal(store.maxSessions, 7)
  t.equal(store.ttlMs, 12_345)
})
