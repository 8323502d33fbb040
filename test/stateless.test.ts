import t, { type Test } from 'tap'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { buildApp, initializeParams, listen, notification, post, postHeaders, rpc, sseMessages } from './helpers/index.js'

const ECHO = (id: number, text: string) => rpc(id, 'tools/call', { name: 'echo', arguments: { text } })

function statelessApp (t: Test, options: Record<string, unknown> = {}): Promise<FastifyInstance> {
  return buildApp(t, { demo: true, options: { stateless: true, ...options } })
}

function assertRpcError (t: Test, res: LightMyRequestResponse, status: number, code: number): void {
  t.equal(res.statusCode, status, `status ${status}`)
  const body = res.json()
  t.equal(body.jsonrpc, '2.0')
  t.equal(body.id, null)
  t.equal(body.error?.code, code, `error code ${code}`)
}

function assertEchoed (t: Test, res: LightMyRequestResponse, id: number, text: string): void {
  t.equal(res.statusCode, 200, 'status 200')
  t.match(res.headers['content-type'], /^application\/json/)
  const body = res.json()
  t.equal(body.id, id)
  t.notOk(body.result?.isError)
  t.same(body.result?.content, [{ type: 'text', text }])
}

t.test('stateless: initialize answers 200 without Mcp-Session-Id', async (t) => {
  const app = await statelessApp(t)
  const res = await post(app, rpc(0, 'initialize', initializeParams()), postHeaders())
  t.equal(res.statusCode, 200)
  t.equal(res.headers['mcp-session-id'], undefined, 'no session header')
  const body = res.json()
  t.equal(body.id, 0)
  t.equal(body.result.protocolVersion, '2025-11-25')
  t.equal(body.result.serverInfo.name, 'fastify-mcp-streamable-demo')
  t.ok(body.result.capabilities.tools, 'tools capability announced')

  const ack = await post(app, notification('notifications/initialized'), postHeaders({ 'mcp-protocol-version': '2025-11-25' }))
  t.equal(ack.statusCode, 202, 'initialized notification accepted with no session')
  t.equal(ack.payload, '')
  t.equal((await app.mcp.stats()).sessions, 0, 'nothing stored')
})

t.test('stateless: tools/list and tools/call need no session header', async (t) => {
  const app = await statelessApp(t)
  const headers = postHeaders({ 'mcp-protocol-version': '2025-11-25' })

  const list = await post(app, rpc(1, 'tools/list'), headers)
  t.equal(list.statusCode, 200)
  t.equal(list.headers['mcp-session-id'], undefined)
  t.same(list.json().result.tools.map((tool: { name: string }) => tool.name).sort(), ['add', 'countdown', 'echo'])

  assertEchoed(t, await post(app, ECHO(2, 'hello'), headers), 2, 'hello')

  const add = await post(app, rpc(3, 'tools/call', { name: 'add', arguments: { a: 2, b: 40 } }), headers)
  t.equal(add.statusCode, 200)
  t.same(add.json().result.structuredContent, { sum: 42 })

  // Without any version header, too (the spec's 2025-03-26 default).
  assertEchoed(t, await post(app, ECHO(4, 'no header'), postHeaders()), 4, 'no header')

  const unknown = await post(app, rpc(5, 'no/such/method'), headers)
  t.equal(unknown.statusCode, 200)
  t.equal(unknown.json().error.code, -32601, 'JSON-RPC errors still keyed by id')
  t.equal(unknown.json().id, 5)
})

t.test('stateless: a stray Mcp-Session-Id header is ignored', async (t) => {
  const app = await statelessApp(t)
  const headers = postHeaders({ 'mcp-session-id': 'random-session-id-that-was-never-issued', 'mcp-protocol-version': '2025-11-25' })
  const res = await post(app, ECHO(1, 'still served'), headers)
  assertEchoed(t, res, 1, 'still served')
  t.equal(res.headers['mcp-session-id'], undefined, 'no session header echoed back')

  const empty = await post(app, ECHO(2, 'empty id'), postHeaders({ 'mcp-session-id': '' }))
  assertEchoed(t, empty, 2, 'empty id')

  const init = await post(app, rpc(3, 'initialize', initializeParams()), postHeaders({ 'mcp-session-id': 'whatever' }))
  t.equal(init.statusCode, 200, 'initialize with a stray session header is served')
  t.equal(init.headers['mcp-session-id'], undefined)
})

t.test('stateless: GET and DELETE answer 405 with Allow: POST', async (t) => {
  const app = await statelessApp(t)
  const get = await app.inject({ method: 'GET', url: '/mcp', headers: { accept: 'text/event-stream', 'mcp-session-id': 'x' } })
  assertRpcError(t, get, 405, -32000)
  t.equal(get.headers.allow, 'POST')
  t.notMatch(get.headers['content-type'], /event-stream/, 'no stream opened')

  const getNoSession = await app.inject({ method: 'GET', url: '/mcp', headers: { accept: 'text/event-stream' } })
  t.equal(getNoSession.statusCode, 405)
  t.equal(getNoSession.headers.allow, 'POST')

  const del = await app.inject({ method: 'DELETE', url: '/mcp', headers: { 'mcp-session-id': 'x' } })
  assertRpcError(t, del, 405, -32000)
  t.equal(del.headers.allow, 'POST')

  const put = await app.inject({ method: 'PUT', url: '/mcp', headers: postHeaders(), payload: '{}' })
  t.equal(put.statusCode, 405)
  t.equal(put.headers.allow, 'POST')
})

t.test('stateless: batches follow the MCP-Protocol-Version header', async (t) => {
  const app = await statelessApp(t)
  const batch = [ECHO(1, 'one'), rpc(2, 'tools/list'), notification('notifications/initialized')]

  const headerless = await post(app, batch, postHeaders())
  t.equal(headerless.statusCode, 200, 'no header → 2025-03-26 → batch accepted')
  const answers = headerless.json()
  t.ok(Array.isArray(answers), 'a batch answer')
  t.same(answers.map((a: { id: number }) => a.id).sort(), [1, 2], 'one answer per request, none for the notification')
  t.same(answers.find((a: { id: number }) => a.id === 1).result.content, [{ type: 'text', text: 'one' }])

  const old = await post(app, batch, postHeaders({ 'mcp-protocol-version': '2025-03-26' }))
  t.equal(old.statusCode, 200, 'explicit 2025-03-26 → batch accepted')
  t.equal(old.json().length, 2)

  for (const version of ['2025-06-18', '2025-11-25']) {
    const res = await post(app, batch, postHeaders({ 'mcp-protocol-version': version }))
    assertRpcError(t, res, 400, -32600)
    t.match(res.json().error.message, /batch/i)
  }

  const notificationsOnly = await post(app, [notification('notifications/initialized')], postHeaders())
  t.equal(notificationsOnly.statusCode, 202, 'a batch of notifications only → 202')

  const withInit = await post(app, [rpc(0, 'initialize', initializeParams('2025-03-26')), ECHO(1, 'x')], postHeaders())
  assertRpcError(t, withInit, 400, -32600)
})

t.test('stateless: an unsupported MCP-Protocol-Version header answers 400', async (t) => {
  const app = await statelessApp(t)
  for (const version of ['1999-01-01', '2024-11-05', 'latest']) {
    const res = await post(app, ECHO(1, 'x'), postHeaders({ 'mcp-protocol-version': version }))
    assertRpcError(t, res, 400, -32000)
    t.match(res.json().error.message, /2025-11-25/, 'lists the supported versions')
    t.match(res.json().error.message, /2025-03-26/)
  }
})

t.test('stateless: progress still streams over SSE in auto mode', async (t) => {
  const app = await statelessApp(t)
  const res = await post(app, rpc(7, 'tools/call', { name: 'countdown', arguments: { from: 3, intervalMs: 0 }, _meta: { progressToken: 'tok' } }), postHeaders({ 'mcp-protocol-version': '2025-11-25' }))
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/event-stream/)
  t.equal(res.headers['mcp-session-id'], undefined, 'no session on the stream either')
  const messages = sseMessages(res.payload)
  const progress = messages.filter((m) => m.method === 'notifications/progress')
  t.same(progress.map((m) => m.params), [
    { progressToken: 'tok', progress: 1, total: 3, message: 'T-3' },
    { progressToken: 'tok', progress: 2, total: 3, message: 'T-2' },
    { progressToken: 'tok', progress: 3, total: 3, message: 'T-1' }
  ])
  const last = messages[messages.length - 1]
  t.equal(last.id, 7, 'the result comes last')
  t.same(last.result.content, [{ type: 'text', text: 'liftoff' }])

  // The handler's log messages travel on the same stream (no session, so no level was set: all are sent).
  const logs = messages.filter((m) => m.method === 'notifications/message')
  t.same(logs.map((m) => m.params.data), [{ countdown: 3 }, { countdown: 2 }, { countdown: 1 }])

  // A handler that sends nothing first answers as plain JSON.
  const plain = await post(app, ECHO(8, 'json'), postHeaders({ 'mcp-protocol-version': '2025-11-25' }))
  assertEchoed(t, plain, 8, 'json')
})

t.test('stateless: no session is ever stored', async (t) => {
  const app = await statelessApp(t)
  const headers = postHeaders({ 'mcp-protocol-version': '2025-11-25' })
  for (let i = 0; i < 5; i++) {
    const init = await post(app, rpc(i, 'initialize', initializeParams()), postHeaders())
    t.equal(init.statusCode, 200)
  }
  await post(app, ECHO(10, 'x'), headers)
  await post(app, rpc(11, 'tools/call', { name: 'countdown', arguments: { from: 1, intervalMs: 0 }, _meta: { progressToken: 1 } }), headers)
  const stats = await app.mcp.stats()
  t.equal(stats.sessions, 0, 'no sessions')
  t.equal(stats.streams, 0, 'no streams left open')
  t.equal(await app.mcp.sessions.size(), 0, 'the store is empty')

  const health = await app.inject({ method: 'GET', url: '/health' })
  t.same(health.json(), { status: 'ok', live: true, ready: true, checks: { store: true, bus: true, draining: false }, sessions: 0, streams: 0, subscriptions: 0 })
})

t.test('stateless: the SDK client connects and calls echo', async (t) => {
  const app = await statelessApp(t)
  const url = await listen(app)
  const transport = new StreamableHTTPClientTransport(url)
  const client = new Client({ name: 'sdk-stateless-test', version: '1.0.0' })
  t.teardown(() => client.close())

  await client.connect(transport)
  t.equal(transport.sessionId, undefined, 'the server issued no session id')
  t.equal(client.getServerVersion()?.name, 'fastify-mcp-streamable-demo')

  const tools = await client.listTools()
  t.same(tools.tools.map((tool) => tool.name).sort(), ['add', 'countdown', 'echo'])

  const result = await client.callTool({ name: 'echo', arguments: { text: 'hello from the SDK' } })
  t.notOk(result.isError)
  t.same(result.content, [{ type: 'text', text: 'hello from the SDK' }])

  const progress: number[] = []
  const countdown = await client.callTool({ name: 'countdown', arguments: { from: 2, intervalMs: 0 } }, undefined, {
    onprogress: (p) => { progress.push(p.progress) }
  })
  t.same(countdown.content, [{ type: 'text', text: 'liftoff' }])
  t.same(progress, [1, 2], 'progress reached the SDK over the POST stream')

  t.equal((await app.mcp.stats()).sessions, 0, 'still no session stored')
  await client.close()
})
