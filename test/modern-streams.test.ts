// 2026-07-28 over real sockets: subscriptions/listen streams, a dropped connection as
// cancellation, shutdown, and listen across instances through Redis.
import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { buildApp, deferred, listen, request, within, type StreamReader } from './helpers/index.js'
import { SERVER_INFO, SUBSCRIPTION_ID, envelope, modernHeaders, modernRpc } from './helpers/modern.js'
import { withRedis } from './helpers/redis-server.js'
import type { McpPluginOptions } from '../lib/index.js'

async function open (t: Test, url: URL, message: Record<string, unknown>, extra: Record<string, string | undefined> = {}): Promise<StreamReader> {
  const reader = await request(url, 'POST', modernHeaders(message, extra), message)
  t.teardown(() => reader.destroy())
  return reader
}

function listenRequest (id: string | number, notifications: Record<string, unknown>): Record<string, unknown> {
  return modernRpc(id, 'subscriptions/listen', { notifications })
}

/** Notifications on a listen stream after its acknowledgement. */
function notificationsOf (reader: StreamReader): string[] {
  return reader.messages().slice(1).map((m) => m.method ?? 'result')
}

async function call (url: URL, name: string, args: Record<string, unknown> = {}): Promise<Record<string, any>> {
  const message = modernRpc(99, 'tools/call', { name, arguments: args })
  const reader = await request(url, 'POST', modernHeaders(message), message)
  await reader.waitEnd()
  return reader.messages().at(-1)
}

function mutator (app: FastifyInstance): void {
  let tools = 0
  app.mcp.tool({ name: 'add_tool', description: 'registers one more tool', inputSchema: { type: 'object', properties: {} } }, () => {
    tools++
    app.mcp.tool({ name: `dynamic_${tools}`, description: 'dynamic', inputSchema: { type: 'object', properties: {} } }, () => 'ok')
    return 'added'
  })
  app.mcp.tool({ name: 'touch', description: 'announces an update of a resource', inputSchema: { type: 'object', properties: { uri: { type: 'string' } } } }, async ({ uri }) => {
    await app.mcp.notifyResourceUpdated(String(uri))
    return 'touched'
  })
  app.mcp.resource({ uri: 'demo://a', name: 'a' }, () => 'a')
  app.mcp.resource({ uri: 'demo://b', name: 'b' }, () => 'b')
}

t.test('subscriptions/listen', async (t) => {
  const app = await buildApp(t, { demo: true, setup: mutator, options: { maxSubscriptions: 3, keepAliveMs: 50 } })
  const url = await listen(app)

  t.test('the ack comes first, with the honoured subset and the id as subscription id (type kept)', async (t) => {
    const numeric = await open(t, url, listenRequest(7, { toolsListChanged: true, promptsListChanged: true, resourceSubscriptions: ['demo://a'] }))
    t.equal(numeric.status, 200)
    t.match(numeric.headers['content-type'], /^text\/event-stream/)
    t.notOk(numeric.headers['mcp-session-id'])
    await numeric.until((r) => r.messages().length >= 1)
    const [ack] = numeric.messages()
    t.equal(ack.method, 'notifications/subscriptions/acknowledged')
    t.same(ack.params.notifications, { toolsListChanged: true, resourceSubscriptions: ['demo://a'] }, 'prompts are not served here: not honoured')
    t.strictSame(ack.params._meta[SUBSCRIPTION_ID], 7)
    const named = await open(t, url, listenRequest('listen:1', { toolsListChanged: true }))
    await named.until((r) => r.messages().length >= 1)
    t.strictSame(named.messages()[0].params._meta[SUBSCRIPTION_ID], 'listen:1')
    numeric.destroy()
    named.destroy()
  })

  t.test('a change made by another request reaches the stream, tagged; only what was asked', async (t) => {
    const tools = await open(t, url, listenRequest(1, { toolsListChanged: true }))
    const uris = await open(t, url, listenRequest(2, { resourceSubscriptions: ['demo://b'] }))
    await tools.until((r) => r.messages().length >= 1)
    await uris.until((r) => r.messages().length >= 1)
    await call(url, 'add_tool')
    await tools.until((r) => notificationsOf(r).includes('notifications/tools/list_changed'))
    const changed = tools.messages()[1]
    t.strictSame(changed.params._meta[SUBSCRIPTION_ID], 1)
    await call(url, 'touch', { uri: 'demo://a' })
    await call(url, 'touch', { uri: 'demo://b' })
    await uris.until((r) => notificationsOf(r).includes('notifications/resources/updated'))
    const updates = uris.messages().slice(1)
    t.same(updates.map((m) => m.params.uri), ['demo://b'], 'only the URI listed')
    t.same(notificationsOf(tools), ['notifications/tools/list_changed'], 'no resource updates on a tools-only stream')
    t.strictSame(updates[0].params._meta[SUBSCRIPTION_ID], 2)
    t.notOk(uris.messages().some((m) => m.method === 'notifications/tools/list_changed'), 'no tool changes on a URI-only stream')
    await tools.until((r) => r.raw.includes(': keepalive\n\n'))
    t.pass('keep-alive comments while idle')
    tools.destroy()
    uris.destroy()
  })

  t.test('an empty honoured filter: the ack, then the completion result', async (t) => {
    const reader = await open(t, url, listenRequest(3, { promptsListChanged: true }))
    await reader.waitEnd()
    const [ack, done] = reader.messages()
    t.same(ack.params.notifications, {})
    t.same(done, { jsonrpc: '2.0', id: 3, result: { resultType: 'complete', _meta: { [SUBSCRIPTION_ID]: 3, [SERVER_INFO]: { name: 'fastify-mcp-streamable-demo', version: '1.0.0' } } } })
  })

  t.test('an invalid filter → in-band -32602', async (t) => {
    for (const notifications of [undefined, [], { toolsListChanged: 'yes' }, { resourceSubscriptions: 'demo://a' }]) {
      const reader = await open(t, url, modernRpc(4, 'subscriptions/listen', notifications === undefined ? {} : { notifications }))
      await reader.waitEnd()
      t.equal(reader.status, 200)
      t.equal(JSON.parse(reader.raw).error.code, -32602, JSON.stringify(notifications))
    }
  })

  t.test('beyond maxSubscriptions → in-band -32603; a closed stream frees its place', async (t) => {
    const open3 = await Promise.all([1, 2, 3].map((n) => open(t, url, listenRequest(n, { toolsListChanged: true }))))
    await Promise.all(open3.map((reader) => reader.until((r) => r.messages().length >= 1)))
    t.equal((await app.mcp.stats()).subscriptions, 3)
    const refused = await open(t, url, listenRequest(4, { toolsListChanged: true }))
    await refused.waitEnd()
    const body = JSON.parse(refused.raw)
    t.equal(body.error.code, -32603)
    t.equal(body.id, 4)
    open3[0]!.destroy()
    await within((async () => { while ((await app.mcp.stats()).subscriptions !== 2) await new Promise((resolve) => setTimeout(resolve, 5)) })(), 'the closed stream is forgotten')
    const again = await open(t, url, listenRequest(5, { toolsListChanged: true }))
    await again.until((r) => r.messages().length >= 1)
    t.equal(again.messages()[0].method, 'notifications/subscriptions/acknowledged')
    for (const reader of [...open3, again]) reader.destroy()
  })
})

t.test('app.close() ends listen streams with their completion result', async (t) => {
  const app = await buildApp(t, { demo: true })
  const url = await listen(app)
  const reader = await open(t, url, listenRequest('bye', { toolsListChanged: true }))
  await reader.until((r) => r.messages().length >= 1)
  await app.close()
  await reader.waitEnd()
  const last = reader.messages().at(-1)
  t.same(last.id, 'bye')
  t.equal(last.result.resultType, 'complete')
  t.equal(last.result._meta[SUBSCRIPTION_ID], 'bye')
})

t.test('a streaming 2026-07-28 answer sends keep-alive comments while its handler is quiet', async (t) => {
  const release = deferred()
  const app = await buildApp(t, {
    options: { keepAliveMs: 50 },
    setup (app) {
      app.mcp.tool({ name: 'quiet', description: 'one progress, then silence', inputSchema: { type: 'object', properties: {} } }, async (_args, ctx) => {
        await ctx.progress(1, 2)
        await release.promise
        return 'spoke at last'
      })
    }
  })
  const url = await listen(app)
  const reader = await open(t, url, modernRpc(8, 'tools/call', { name: 'quiet', arguments: {}, _meta: { progressToken: 'q' } }, envelope()))
  await reader.until((r) => r.raw.includes(': keepalive\n\n'))
  t.notMatch(reader.raw, /^id:/m, 'and still no event ids')
  release.resolve()
  await reader.waitEnd()
  t.equal(reader.messages().at(-1).result.content[0].text, 'spoke at last')
})

t.test('a dropped connection cancels the request: the signal aborts, nothing more is sent', async (t) => {
  const started = deferred()
  const aborted = deferred<unknown>()
  const returned = deferred()
  const app = await buildApp(t, {
    setup (app) {
      app.mcp.tool({ name: 'slow', description: 'waits until aborted', inputSchema: { type: 'object', properties: {} } }, async (_args, ctx) => {
        await ctx.progress(1, 2)
        started.resolve()
        await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }))
        aborted.resolve(ctx.signal.reason)
        await ctx.progress(2, 2)
        returned.resolve()
        return 'too late'
      })
    }
  })
  const url = await listen(app)
  const message = modernRpc(1, 'tools/call', { name: 'slow', arguments: {}, _meta: { progressToken: 'p' } })
  const reader = await open(t, url, message)
  await within(started.promise, 'the handler started')
  await reader.until((r) => r.messages().length >= 1)
  reader.destroy()
  const reason = await within(aborted.promise, 'the handler was aborted')
  t.match(String(reason), /closed the connection/)
  await within(returned.promise, 'the handler returned')
  await new Promise((resolve) => setImmediate(resolve))
  t.same(reader.messages().map((m) => m.method), ['notifications/progress'], 'nothing after the drop reached the client')
  t.equal((await app.mcp.stats()).streams, 0, 'no stream left open')
})

t.test('shutdown: a modern handler still running is answered 503 after drainTimeoutMs', async (t) => {
  const started = deferred()
  const app = await buildApp(t, {
    options: { drainTimeoutMs: 100 },
    setup (app) {
      app.mcp.tool({ name: 'forever', description: 'never returns on its own', inputSchema: { type: 'object', properties: {} } }, async (_args, ctx) => {
        started.resolve()
        await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }))
        return 'aborted'
      })
    }
  })
  const url = await listen(app)
  // A JSON answer: its headers come with the answer, so the request is not awaited yet.
  const answer = open(t, url, modernRpc(9, 'tools/call', { name: 'forever', arguments: {} }))
  await within(started.promise, 'the handler started')
  await app.close()
  const reader = await answer
  await reader.waitEnd()
  t.equal(reader.status, 503)
  const body = JSON.parse(reader.raw)
  t.equal(body.id, 9)
  t.equal(body.error.code, -32000)
})

withRedis(t, 'listen across instances through Redis', async (t, server) => {
  const options: McpPluginOptions = { redis: server.url, redisPrefix: 'listen:', drainTimeoutMs: 200 }
  const a = await buildApp(t, { demo: true, options, setup: mutator })
  const b = await buildApp(t, { demo: true, options, setup: mutator })
  const [urlA, urlB] = [await listen(a), await listen(b)]
  const onB = await open(t, urlB, listenRequest('far', { toolsListChanged: true }))
  const onA = await open(t, urlA, listenRequest('near', { resourceSubscriptions: ['demo://a'] }))
  await onB.until((r) => r.messages().length >= 1)
  await onA.until((r) => r.messages().length >= 1)
  // A tool registered on A reaches a listener on B; a resource updated on B, one on A.
  await call(urlA, 'add_tool')
  await onB.until((r) => notificationsOf(r).includes('notifications/tools/list_changed'))
  await call(urlB, 'touch', { uri: 'demo://a' })
  await onA.until((r) => notificationsOf(r).includes('notifications/resources/updated'))
  const fromA = onB.messages().slice(1)
  t.same(fromA.map((m) => m.params._meta[SUBSCRIPTION_ID]), fromA.map(() => 'far'), 'tagged with B\'s subscription id')
  const fromB = onA.messages().slice(1)
  t.same(fromB.map((m) => [m.method, m.params.uri, m.params._meta[SUBSCRIPTION_ID]]), [['notifications/resources/updated', 'demo://a', 'near']], 'the update, tagged with A\'s subscription id')
  t.notOk(onA.messages().some((m) => m.method === 'notifications/tools/list_changed'), 'A\'s listener did not ask for tool changes')
  onA.destroy()
  onB.destroy()
})
