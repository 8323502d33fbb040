// The client against servers it did not grow up with: the official SDKs' (v1 transport,
// stateful and stateless; v2 createMcpHandler, both eras) in every mode.
import t from 'tap'
import { connect, forgetVerdicts } from '../lib/client/index.js'
import { nodeServer, sdkV1, sdkV2 } from './helpers/foreign.js'

t.beforeEach(() => forgetVerdicts())

t.test('SDK v1 stateful: auto falls back to a session; DELETE ends it', async (t) => {
  const url = await sdkV1(t, true)
  const client = await connect(url)
  t.equal(client.era, 'legacy')
  t.match(client.sessionId, /^[0-9a-f-]{36}$/)
  t.same((await client.listTools()).tools.map((tool: { name: string }) => tool.name), ['echo'])
  t.equal((await client.callTool('echo', { text: 'v1' })).content[0].text, 'v1')
  await client.close()
})

t.test('SDK v1 stateful: a 404 on a known session re-initializes and replays', async (t) => {
  const url = await sdkV1(t, true)
  const client = await connect(url, { mode: 'legacy', openStream: false })
  const resets: unknown[] = []
  client.on('session-reset', (e) => resets.push(e))
  // Delete the session behind the client's back.
  await fetch(url, { method: 'DELETE', headers: { 'mcp-session-id': client.sessionId!, 'mcp-protocol-version': client.protocolVersion } })
  t.equal((await client.callTool('echo', { text: 'again' })).content[0].text, 'again')
  t.equal(resets.length, 1)
  await client.close()
})

t.test('SDK v1 stateless: no session id, requests still work', async (t) => {
  const url = await sdkV1(t, false)
  const client = await connect(url)
  t.equal(client.era, 'legacy')
  t.equal(client.sessionId, undefined)
  t.equal((await client.callTool('echo', { text: 'sl' })).content[0].text, 'sl')
  await client.close()
})

t.test('SDK v2 createMcpHandler: auto speaks 2026-07-28, legacy speaks 2025 statelessly', async (t) => {
  const url = await sdkV2(t)
  const modern = await connect(url)
  t.equal(modern.era, 'modern')
  t.equal(modern.serverInfo?.name, 'sdk-v2')
  t.equal((await modern.callTool('echo', { text: 'v2' })).content[0].text, 'v2')
  await modern.close()
  const legacy = await connect(url, { mode: 'legacy' })
  t.equal(legacy.era, 'legacy')
  t.equal(legacy.sessionId, undefined)
  t.equal((await legacy.callTool('echo', { text: 'old' })).content[0].text, 'old')
  await legacy.close()
})

t.test('probe answers: 5xx and 2xx HTML are errors; a plain-text 404 means legacy', async (t) => {
  const url500 = await nodeServer(t, (_req, res) => { res.writeHead(500).end('boom') })
  await t.rejects(connect(url500), { code: 'FST_MCP_ERA_NEGOTIATION', message: /HTTP 500/ })
  const urlHtml = await nodeServer(t, (_req, res) => { res.writeHead(200, { 'content-type': 'text/html' }).end('<html></html>') })
  await t.rejects(connect(urlHtml), { code: 'FST_MCP_ERA_NEGOTIATION', message: /unusable/ })
  const url401 = await nodeServer(t, (_req, res) => { res.writeHead(401).end() })
  await t.rejects(connect(url401), { code: 'FST_MCP_ERA_NEGOTIATION', message: /401/ })
  const url404 = await nodeServer(t, (_req, res) => { res.writeHead(404, { 'content-type': 'text/plain' }).end('no') })
  await t.rejects(connect(url404), { code: 'FST_MCP_HTTP_STATUS', status: 404, message: /initialize/ }, 'legacy verdict: then initialize fails with the fix')
})

t.test('a hostile SSE stream cannot grow the buffer without bound', async (t) => {
  const url = await nodeServer(t, (req, res) => {
    if (req.method !== 'POST') { res.writeHead(405).end(); return }
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.write('data: ')
    const chunk = 'x'.repeat(64 * 1024)
    const pump = (): void => { if (!res.destroyed && res.write(chunk)) setImmediate(pump); else if (!res.destroyed) res.once('drain', pump) }
    pump()
  })
  await t.rejects(connect(url, { mode: 'legacy', maxEventChars: 1 << 20 }), { code: 'FST_MCP_SSE_OVERFLOW' })
})
