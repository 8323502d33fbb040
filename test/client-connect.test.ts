// The client (`fastify-mcp-streamable/client`) against the demo server over real sockets:
// both eras and the three modes, progress and logs, the session header, DELETE on close,
// a restarted server (404 → a new session and the request once more), timeouts, cancellation.
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { buildDemo } from '../examples/demo/app.js'
import { connect, forgetVerdicts } from '../lib/client/index.js'
import { listen, serve } from './helpers/index.js'

t.beforeEach(() => forgetVerdicts())

/** Every HTTP request the server receives, as `METHOD headers`. */
function recordRequests (server: import('node:http').Server): Array<{ method: string, headers: Record<string, unknown> }> {
  const seen: Array<{ method: string, headers: Record<string, unknown> }> = []
  server.on('request', (req) => seen.push({ method: req.method!, headers: req.headers }))
  return seen
}

t.test('auto mode speaks 2026-07-28 to the demo: no session, the envelope headers', async (t) => {
  const { app, url } = await serve(t, { demo: true })
  const seen = recordRequests(app.server)
  const client = await connect(url)
  t.equal(client.era, 'modern')
  t.equal(client.protocolVersion, '2026-07-28')
  t.equal(client.sessionId, undefined)
  t.equal(client.serverInfo?.name, 'fastify-mcp-streamable-demo')
  const tools = await client.listTools()
  t.same(tools.tools.map((tool: { name: string }) => tool.name).sort(), ['add', 'countdown', 'echo'])
  const result = await client.callTool('add', { a: 2, b: 3 })
  t.same(result.structuredContent, { sum: 5 })
  t.equal(result.resultType, 'complete')
  const call = seen.at(-1)!
  t.equal(call.headers['mcp-protocol-version'], '2026-07-28')
  t.equal(call.headers['mcp-method'], 'tools/call')
  t.equal(call.headers['mcp-name'], 'add')
  t.equal(call.headers['mcp-session-id'], undefined)
  t.equal(seen[0]!.headers['mcp-method'], 'server/discover', 'the first request is the probe')
  await client.close()
  t.notOk(seen.some((r) => r.method === 'DELETE'), 'no DELETE without a session')
})

t.test('the verdict is cached per URL: a second connect does not probe', async (t) => {
  const { app, url } = await serve(t, { demo: true })
  const seen = recordRequests(app.server)
  await (await connect(url)).close()
  await (await connect(url)).close()
  t.equal(seen.filter((r) => r.headers['mcp-method'] === 'server/discover').length, 1)
})

t.test('legacy mode: a 2025 session, the id and version on every request, DELETE on close', async (t) => {
  const { app, url } = await serve(t, { demo: true })
  const seen = recordRequests(app.server)
  const client = await connect(url, { mode: 'legacy', openStream: false })
  t.equal(client.era, 'legacy')
  t.equal(client.protocolVersion, '2025-11-25')
  t.match(client.sessionId, /^[\x21-\x7e]+$/)
  t.equal(seen[0]!.headers['mcp-method'], undefined, 'no probe')
  t.equal((await client.callTool('echo', { text: 'hi' })).content[0].text, 'hi')
  for (const r of seen.slice(1)) {
    t.equal(r.headers['mcp-session-id'], client.sessionId, `${r.method} carries the session id`)
    t.equal(r.headers['mcp-protocol-version'], '2025-11-25')
  }
  const id = client.sessionId
  await client.close()
  const del = seen.find((r) => r.method === 'DELETE')
  t.ok(del, 'close() sent DELETE')
  t.equal(del?.headers['mcp-session-id'], id)
  await t.rejects(client.listTools(), { code: 'FST_MCP_CLIENT_CLOSED' })
})

for (const mode of ['legacy', 'auto'] as const) {
  t.test(`${mode}: progress and logs arrive as they happen, the result last`, async (t) => {
    const { url } = await serve(t, { demo: true })
    const logs: unknown[] = []
    const client = await connect(url, { mode, openStream: false, onLog: (m) => logs.push(m.data) })
    t.teardown(() => client.close())
    const progress: string[] = []
    const result = await client.callTool('countdown', { from: 3, intervalMs: 0 }, { onProgress: (p) => progress.push(`${p.progress}/${p.total} ${p.message}`) })
    t.equal(result.content[0].text, 'liftoff')
    t.same(progress, ['1/3 T-3', '2/3 T-2', '3/3 T-1'])
    t.same(logs, [{ countdown: 3 }, { countdown: 2 }, { countdown: 1 }])
  })
}

t.test('pinned to 2026-07-28 on a 2025-only server: an error naming the pin', async (t) => {
  const { url } = await serve(t, { demo: true, options: { eras: 'legacy' } })
  await t.rejects(connect(url, { mode: { pin: '2026-07-28' } }), { code: 'FST_MCP_ERA_NEGOTIATION', message: /pinned to 2026-07-28/ })
  const client = await connect(url, { openStream: false })
  t.equal(client.era, 'legacy', 'auto falls back to initialize on the -32022 naming only 2025 revisions')
  t.equal((await client.callTool('echo', { text: 'x' })).content[0].text, 'x')
  await client.close()
})

t.test('a restarted server (memory store): the next call re-initializes and succeeds, once', async (t) => {
  const first = await buildDemo()
  const url = await listen(first)
  const port = (first.server.address() as AddressInfo).port
  const client = await connect(url, { mode: 'legacy', openStream: false })
  const resets: unknown[] = []
  client.on('session-reset', (e) => resets.push(e))
  const before = client.sessionId!
  t.equal((await client.callTool('echo', { text: 'a' })).content[0].text, 'a')
  await first.close()
  const second = await buildDemo()
  t.teardown(() => second.close())
  await second.listen({ port, host: '127.0.0.1' })
  t.equal((await client.callTool('echo', { text: 'b' })).content[0].text, 'b')
  t.equal(resets.length, 1)
  t.match(resets[0], { previousSessionId: before, method: 'tools/call' })
  t.not(client.sessionId, before)
  t.equal((await client.callTool('echo', { text: 'c' })).content[0].text, 'c', 'the new session serves later calls')
  t.equal(resets.length, 1)
  await client.close()
})

t.test('a per-request timeout rejects with FST_MCP_REQUEST_TIMEOUT; the 2025 server is told to cancel', async (t) => {
  const bodies: string[] = []
  const { url } = await serve(t, { demo: true, setup: (app) => app.addHook('preHandler', async (req) => { bodies.push(JSON.stringify(req.body)) }) })
  const client = await connect(url, { mode: 'legacy', openStream: false })
  t.teardown(() => client.close())
  await t.rejects(client.callTool('countdown', { from: 50, intervalMs: 100 }, { timeoutMs: 300 }), { code: 'FST_MCP_REQUEST_TIMEOUT' })
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.ok(bodies.some((b) => b.includes('notifications/cancelled')), 'notifications/cancelled sent')
})

t.test('an AbortSignal cancels a 2026-07-28 call by closing its stream', async (t) => {
  const { url } = await serve(t, { demo: true })
  const client = await connect(url)
  t.equal(client.era, 'modern')
  const controller = new AbortController()
  const progress: number[] = []
  const call = client.callTool('countdown', { from: 50, intervalMs: 50 }, { signal: controller.signal, onProgress: (p) => { progress.push(p.progress); if (p.progress === 2) controller.abort(new Error('enough')) } })
  await t.rejects(call, { message: 'enough' })
  t.same(progress, [1, 2])
  await client.close()
})

t.test('HTTP refusals carry the status and the fix', async (t) => {
  const { url } = await serve(t, { demo: true, options: { allowedOrigins: [] } as never })
  const err = await connect(url, { mode: 'legacy', headers: { origin: 'http://evil.example' } }).catch((e: Error) => e)
  t.match(err, { code: 'FST_MCP_HTTP_STATUS', status: 403, message: /Origin/ })
})
