// The official v2 client (@modelcontextprotocol/client 2.4.0) against one running endpoint,
// in its three negotiation modes: legacy (its default: the 2025 handshake), auto (probes
// server/discover first) and pinned to 2026-07-28.
import t, { type Test as Tap } from 'tap'
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import type { FastifyInstance } from 'fastify'
import { acceptedContent, inputRequired } from '../lib/index.js'
import { buildApp, listen, within } from './helpers/index.js'

type Mode = 'legacy' | 'auto' | { pin: '2026-07-28' }

function registerChanger (app: FastifyInstance): void {
  // One handler, written once in the multi round-trip style: on 2026-07-28 the client runs
  // the rounds; on a 2025 session the plugin asks the client itself.
  app.mcp.tool({ name: 'greet', description: 'asks for a name', inputSchema: { type: 'object', properties: {} } }, (_args, ctx) => {
    const answer = acceptedContent(ctx.inputResponses, 'who')
    if (answer === undefined) {
      return inputRequired({ inputRequests: { who: inputRequired.elicit('Your name?', { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] }) } })
    }
    return `Hello, ${String(answer.name)}`
  })
  let added = 0
  app.mcp.tool({ name: 'add_tool', description: 'registers one more tool', inputSchema: { type: 'object', properties: {} } }, () => {
    added++
    app.mcp.tool({ name: `dynamic_${added}`, description: 'dynamic', inputSchema: { type: 'object', properties: {} } }, () => 'ok')
    return 'added'
  })
}

t.test('the v2 client in every negotiation mode, on one endpoint', async (t) => {
  const app = await buildApp(t, { demo: true, setup: registerChanger })
  const url = await listen(app)

  async function connect (t: Tap, mode: Mode): Promise<Client> {
    const client = new Client({ name: 'v2-test', version: '1.0.0' }, { versionNegotiation: { mode }, capabilities: { elicitation: { form: {} } } })
    let asked = 0
    client.setRequestHandler('elicitation/create', async () => {
      asked++
      return { action: 'accept', content: { name: `Ada ${asked}` } }
    })
    t.teardown(() => client.close())
    await client.connect(new StreamableHTTPClientTransport(url))
    return client
  }

  const modes: Array<[string, Mode, string, string]> = [
    ['legacy (default)', 'legacy', '2025-11-25', 'legacy'],
    ['auto', 'auto', '2026-07-28', 'modern'],
    ['pinned 2026-07-28', { pin: '2026-07-28' }, '2026-07-28', 'modern']
  ]
  for (const [label, mode, version, era] of modes) {
    t.test(label, async (t) => {
      const client = await connect(t, mode)
      t.equal(client.getNegotiatedProtocolVersion(), version, 'negotiated version')
      t.equal(client.getProtocolEra(), era, 'era')
      t.same(client.getServerVersion(), { name: 'fastify-mcp-streamable-demo', version: '1.0.0' })

      const { tools } = await client.listTools()
      t.same(tools.map((tool) => tool.name), ['add', 'add_tool', 'countdown', 'echo', 'greet'], 'the tools, in order')

      const echo = await client.callTool({ name: 'echo', arguments: { text: `hello ${label}` } })
      t.same(echo.content, [{ type: 'text', text: `hello ${label}` }])

      const progress: number[] = []
      const countdown = await client.callTool({ name: 'countdown', arguments: { from: 3, intervalMs: 0 } }, { onprogress: (p) => { progress.push(p.progress) } })
      t.same(countdown.content, [{ type: 'text', text: 'liftoff' }])
      t.same(progress, [1, 2, 3], 'progress reached the callback')

      const sum = await client.callTool({ name: 'add', arguments: { a: 2, b: 3 } })
      t.same(sum.structuredContent, { sum: 5 })

      const greeting = await client.callTool({ name: 'greet', arguments: {} })
      t.same(greeting.content, [{ type: 'text', text: 'Hello, Ada 1' }], 'an elicitation answered by the client\'s handler')
    })
  }

  t.test('listen (modern): a tool added by another request reaches the subscription', async (t) => {
    const client = await connect(t, { pin: '2026-07-28' })
    let changed = 0
    const heard = new Promise<void>((resolve) => {
      client.setNotificationHandler('notifications/tools/list_changed', () => { changed++; resolve() })
    })
    const subscription = await client.listen({ toolsListChanged: true, promptsListChanged: true })
    t.same(subscription.honoredFilter, { toolsListChanged: true }, 'prompts are not served here: not honoured')
    const other = await connect(t, 'auto')
    await other.callTool({ name: 'add_tool', arguments: {} })
    await within(heard, 'tools/list_changed on the listen stream')
    t.equal(changed, 1)
    await subscription.close()
    t.equal(await subscription.closed, 'local')
  })

  t.test('listen ends gracefully when the server closes', async (t) => {
    const own = await buildApp(t, { demo: true })
    const ownUrl = await listen(own)
    const client = new Client({ name: 'v2-test', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } })
    t.teardown(() => client.close())
    await client.connect(new StreamableHTTPClientTransport(ownUrl))
    const subscription = await client.listen({ toolsListChanged: true })
    await own.close()
    t.equal(await within(subscription.closed, 'the subscription ended'), 'graceful')
  })
})
