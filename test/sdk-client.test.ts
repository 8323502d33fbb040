// Interop with the official MCP TypeScript SDK client (the reference peer) over real sockets.
import type { IncomingMessage } from 'node:http'
import t, { type Test } from 'tap'
import { Type } from '@sinclair/typebox'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { LoggingMessageNotificationSchema, type LoggingMessageNotification, type Progress } from '@modelcontextprotocol/sdk/types.js'
import type { FastifyInstance } from 'fastify'
import type { McpPluginOptions } from '../lib/index.js'
import { LATEST, buildApp, deferred, listen, openSessionHttp, request, rpc, serve, within, type Setup } from './helpers/index.js'

interface Harness {
  app: FastifyInstance
  url: URL
  client: Client
  transport: StreamableHTTPClientTransport
}

/**
 * The demo app plus whatever `setup` registers, listening on a free loopback port, and an SDK
 * client connected to it. Teardown closes the client before the app, so the client's GET
 * stream does not try to reconnect to a closing server.
 */
async function harness (t: Test, setup?: Setup, options: McpPluginOptions = {}): Promise<Harness> {
  const { app, url } = await serve(t, { demo: true, options, setup })
  const client = new Client({ name: 'sdk-interop-test', version: '1.0.0' })
  const transport = new StreamableHTTPClientTransport(url)
  // Registered after serve's teardown, so it runs first.
  t.teardown(() => client.close().catch(() => {}))
  await client.connect(transport)
  return { app, url, client, transport }
}

t.test('connect: server info, negotiated version, capabilities, session id', async (t) => {
  const { client, transport } = await harness(t)
  t.same(client.getServerVersion(), { name: 'fastify-mcp-streamable-demo', version: '1.0.0' })
  t.equal(client.getInstructions(), 'Demo server: echo, add and countdown.')
  t.equal(transport.protocolVersion, LATEST, 'negotiated protocol version')
  const capabilities = client.getServerCapabilities()
  t.ok(capabilities?.tools, 'tools capability')
  t.ok(capabilities?.logging, 'logging capability')
  t.type(transport.sessionId, 'string')
  t.ok((transport.sessionId ?? '').length > 0, 'session id is set')
})

t.test('listTools publishes the demo tools and their input schemas', async (t) => {
  const { client } = await harness(t)
  const { tools } = await client.listTools()
  t.same(tools.map((tool) => tool.name).sort(), ['add', 'countdown', 'echo'])
  const byName = Object.fromEntries(tools.map((tool) => [tool.name, tool]))
  t.match(byName.echo!.inputSchema, { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] })
  t.match(byName.add!.inputSchema, { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } }, required: ['a', 'b'] })
  t.match(byName.add!.outputSchema, { type: 'object', properties: { sum: { type: 'number' } }, required: ['sum'] })
  t.match(byName.countdown!.inputSchema, {
    type: 'object',
    properties: { from: { type: 'integer', minimum: 1, maximum: 1000 }, intervalMs: { type: 'integer' } },
    required: ['from', 'intervalMs']
  })
  t.equal(byName.echo!.description, 'Echo the given text back')
})

t.test('callTool: echo and add (structuredContent)', async (t) => {
  const { client } = await harness(t)
  const echo = await client.callTool({ name: 'echo', arguments: { text: 'héllo, wörld' } })
  t.same(echo.content, [{ type: 'text', text: 'héllo, wörld' }])
  t.notOk(echo.isError)

  const add = await client.callTool({ name: 'add', arguments: { a: 2, b: 40 } })
  t.same(add.structuredContent, { sum: 42 })
  t.same(add.content, [{ type: 'text', text: '42' }])
  t.notOk(add.isError)
})

t.test('progress: every countdown step reaches onprogress, increasing, total = from', async (t) => {
  const { client } = await harness(t)
  const from = 5
  const progress: Progress[] = []
  const result = await client.callTool(
    { name: 'countdown', arguments: { from, intervalMs: 0 } },
    undefined,
    { onprogress: (p) => { progress.push(p) } }
  )
  t.same(result.content, [{ type: 'text', text: 'liftoff' }])
  t.same(progress.map((p) => p.progress), [1, 2, 3, 4, 5], 'every step, in increasing order')
  t.ok(progress.every((p) => p.total === from), 'total is `from` on every step')
  t.same(progress.map((p) => p.message), ['T-5', 'T-4', 'T-3', 'T-2', 'T-1'])
})

t.test('logging: notifications/message reach the client and honour logging/setLevel', async (t) => {
  const { client } = await harness(t, (app) => {
    app.mcp.tool({ name: 'chatter', description: 'log at several levels', inputSchema: Type.Object({ tag: Type.String() }) }, async ({ tag }, ctx) => {
      await ctx.log('debug', { tag, level: 'debug' })
      await ctx.log('info', { tag, level: 'info' })
      await ctx.log('warning', { tag, level: 'warning' }, 'chatter')
      await ctx.log('error', { tag, level: 'error' })
      return 'logged'
    })
  })
  const received: LoggingMessageNotification['params'][] = []
  const waiters: Array<() => void> = []
  client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
    received.push(notification.params)
    for (const wake of waiters.splice(0)) wake()
  })
  /** Resolves once the `error` message of a call has been handled (it is the last one sent). */
  const lastOf = (tag: string) => within(new Promise<void>((resolve) => {
    const check = () => {
      if (received.some((p) => (p.data as { tag: string }).tag === tag && p.level === 'error')) resolve()
      else waiters.push(check)
    }
    check()
  }), `the error-level log of ${tag}`)

  // No level set: everything is delivered.
  const before = await client.callTool({ name: 'chatter', arguments: { tag: 'before' } })
  t.same(before.content, [{ type: 'text', text: 'logged' }])
  await lastOf('before')
  t.same(received.filter((p) => (p.data as { tag: string }).tag === 'before').map((p) => p.level), ['debug', 'info', 'warning', 'error'])
  const warning = received.find((p) => p.level === 'warning')
  t.same(warning, { level: 'warning', logger: 'chatter', data: { tag: 'before', level: 'warning' } })

  await client.setLoggingLevel('warning')
  const after = await client.callTool({ name: 'chatter', arguments: { tag: 'after' } })
  t.same(after.content, [{ type: 'text', text: 'logged' }])
  await lastOf('after')
  // Messages of one call travel in order on one stream: once `error` is in, nothing else is due.
  t.same(received.filter((p) => (p.data as { tag: string }).tag === 'after').map((p) => p.level), ['warning', 'error'], 'info and debug are filtered out')

  // The demo countdown logs at info: no log reaches the client now, progress still does.
  const count = received.length
  const progress: number[] = []
  await client.callTool({ name: 'countdown', arguments: { from: 3, intervalMs: 0 } }, undefined, { onprogress: (p) => { progress.push(p.progress) } })
  t.same(progress, [1, 2, 3])
  t.equal(received.length, count, 'no info-level countdown logs delivered')
})

t.test('cancellation: aborting a call aborts the handler on the server and frees its slot', async (t) => {
  const started = deferred()
  const aborted = deferred<unknown>()
  const finished = deferred<{ aborted: boolean }>()
  let calls = 0
  const { app, client } = await harness(t, (app) => {
    app.mcp.tool({ name: 'long-countdown', description: 'counts until cancelled', inputSchema: Type.Object({}) }, async (_args, ctx) => {
      calls++
      const signal = ctx.signal
      signal.addEventListener('abort', () => aborted.resolve(signal.reason), { once: true })
      await ctx.progress(1, 1000, 'T-1000')
      started.resolve()
      if (!signal.aborted) await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
      finished.resolve({ aborted: signal.aborted })
      return 'not reached by the client'
    })
  }, { maxInFlightRequests: 1 }) // a leaked in-flight entry would make the next call fail as "busy"

  const controller = new AbortController()
  const progress: number[] = []
  const call = client.callTool({ name: 'long-countdown', arguments: {} }, undefined, {
    signal: controller.signal,
    onprogress: (p) => { progress.push(p.progress) }
  })
  const rejected = t.rejects(call, 'the aborted call rejects on the client')
  await within(started.promise, 'the handler to start')
  controller.abort(new Error('user gave up'))
  await rejected

  const reason = await within(aborted.promise, "the handler's abort event")
  t.type(reason, Error, 'the signal carries a reason')
  t.same(await within(finished.promise, 'the handler to return'), { aborted: true }, 'ctx.signal.aborted is true')
  t.equal(calls, 1)

  // The in-flight slot was released (maxInFlightRequests is 1) and the session still works.
  const add = await client.callTool({ name: 'add', arguments: { a: 1, b: 2 } })
  t.same(add.structuredContent, { sum: 3 })
  const again = await client.callTool({ name: 'countdown', arguments: { from: 2, intervalMs: 0 } })
  t.same(again.content, [{ type: 'text', text: 'liftoff' }])
  t.equal((await app.mcp.stats()).sessions, 1)
})

t.test('terminateSession: the old session id answers 404 afterwards', async (t) => {
  const { url, client, transport } = await harness(t)
  const id = transport.sessionId
  t.type(id, 'string')
  await client.callTool({ name: 'echo', arguments: { text: 'still here' } })
  await transport.terminateSession()
  t.equal(transport.sessionId, undefined, 'the client forgot the session')

  const res = await request(url, 'POST', {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-session-id': id!,
    'mcp-protocol-version': LATEST
  }, rpc(1, 'ping'))
  await res.waitEnd()
  t.equal(res.status, 404)
  t.match(JSON.parse(res.raw), { jsonrpc: '2.0', id: null, error: { code: -32001 } })
})

t.test('a dropped connection does not abort the handler; it runs to completion', async (t) => {
  const app = await buildApp(t, { demo: true })
  const reached = deferred()
  const gate = deferred()
  const socketClosed = deferred()
  const completed = deferred<{ aborted: boolean, abortFired: boolean, result: string }>()
  app.mcp.tool({ name: 'gated', description: 'waits for the test', inputSchema: Type.Object({}) }, async (_args, ctx) => {
    let abortFired = false
    ctx.signal.addEventListener('abort', () => { abortFired = true }, { once: true })
    await ctx.progress(1, 3)
    reached.resolve()
    await gate.promise
    // The client is gone: these go nowhere, but must neither throw nor hang.
    await ctx.progress(2, 3)
    await ctx.log('info', 'after the drop')
    await ctx.progress(3, 3)
    completed.resolve({ aborted: ctx.signal.aborted, abortFired, result: 'done' })
    return 'done'
  })
  app.server.on('request', (req: IncomingMessage) => {
    if (req.headers['x-probe'] === 'drop') req.socket.once('close', () => socketClosed.resolve())
  })
  const url = await listen(app)

  const session = await openSessionHttp(url)
  const reader = await request(url, 'POST', { ...session.headers, 'x-probe': 'drop' },
    rpc(7, 'tools/call', { name: 'gated', arguments: {}, _meta: { progressToken: 'p' } }))
  t.equal(reader.status, 200)
  t.equal(reader.headers['content-type'], 'text/event-stream')
  await reader.until((r) => r.messages().some((m) => m.method === 'notifications/progress'))
  await within(reached.promise, 'the handler to reach the gate')

  reader.destroy()
  await within(socketClosed.promise, 'the server to see the socket close')
  gate.resolve()

  const outcome = await within(completed.promise, 'the handler to complete')
  t.same(outcome, { aborted: false, abortFired: false, result: 'done' }, 'not aborted, ran to completion')

  // The session is intact and its stream was released.
  const echo = await request(url, 'POST', session.headers, rpc(8, 'tools/call', { name: 'echo', arguments: { text: 'ok' } }))
  await echo.waitEnd()
  t.equal(echo.status, 200)
  t.match(JSON.parse(echo.raw), { id: 8, result: { content: [{ type: 'text', text: 'ok' }] } })
  t.equal((await app.mcp.stats()).streams, 0, 'no stream left open')
})
