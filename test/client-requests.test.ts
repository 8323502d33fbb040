// Server → client requests: elicitation, sampling and roots, answered by the client in new POSTs.
import t, { type Test } from 'tap'
import { Type } from '@sinclair/typebox'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { CreateMessageRequestSchema, ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js'
import type { FastifyInstance } from 'fastify'
import type { McpPluginOptions, ToolContext } from '../lib/index.js'
import { deferred, openSessionHttp, request, rpc, serve, streamHeaders, within, type Session, type StreamReader } from './helpers/index.js'

const FULL_CAPS = { elicitation: {}, sampling: {}, roots: { listChanged: true } }

type ToolBody = (ctx: ToolContext) => Promise<string>

/** The demo app plus one tool per entry of `tools`, listening. */
function serveTools (t: Test, options: McpPluginOptions, tools: Record<string, ToolBody>): Promise<{ app: FastifyInstance, url: URL }> {
  return serve(t, {
    demo: true,
    options,
    setup: (app) => {
      for (const [name, body] of Object.entries(tools)) {
        app.mcp.tool({ name, description: name, inputSchema: Type.Object({}) }, (_args, ctx) => body(ctx))
      }
    }
  })
}

const call = (id: number, name: string) => rpc(id, 'tools/call', { name, arguments: {} })

/** The first server → client request on a stream. */
async function nextServerRequest (reader: StreamReader, after = 0): Promise<any> {
  await reader.until((r) => r.messages().filter((m) => m.method !== undefined && m.id !== undefined).length > after, 10_000)
  return reader.messages().filter((m) => m.method !== undefined && m.id !== undefined)[after]
}

async function answer (url: URL, session: Session, message: unknown): Promise<number> {
  const res = await request(url, 'POST', session.headers, message)
  await res.waitEnd()
  return res.status
}

t.test('the official SDK client answers an elicitation and a sampling request; the tool result is built from them', async (t) => {
  const { url } = await serveTools(t, {}, {
    interview: async (ctx) => {
      const form = await ctx.elicit('Who are you?', { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] })
      const reply = await ctx.sample({ messages: [{ role: 'user', content: { type: 'text', text: `Greet ${String(form.content?.name)}` } }], maxTokens: 50 })
      const content = reply.content as { type: string, text: string }
      return `${form.action}:${String(form.content?.name)}:${content.text}:${reply.model}`
    }
  })
  const client = new Client({ name: 'sdk', version: '1.0.0' }, { capabilities: { elicitation: {}, sampling: {} } })
  const seen: string[] = []
  client.setRequestHandler(ElicitRequestSchema, async (req) => {
    seen.push(`elicit:${req.params.message}`)
    return { action: 'accept', content: { name: 'Ada' } }
  })
  client.setRequestHandler(CreateMessageRequestSchema, async (req) => {
    const first = req.params.messages[0]!.content as { text: string }
    seen.push(`sample:${first.text}`)
    return { role: 'assistant', content: { type: 'text', text: 'Hello, Ada' }, model: 'test-model', stopReason: 'endTurn' }
  })
  const transport = new StreamableHTTPClientTransport(url)
  await client.connect(transport)
  t.teardown(() => client.close())
  const result = await client.callTool({ name: 'interview', arguments: {} })
  t.same(result.content, [{ type: 'text', text: 'accept:Ada:Hello, Ada:test-model' }])
  t.same(seen, ['elicit:Who are you?', 'sample:Greet Ada'])
})

t.test('requests travel on the tool call\'s own stream and are answered by a POST (202)', async (t) => {
  const { url } = await serveTools(t, {}, {
    roots: async (ctx) => JSON.stringify(await ctx.listRoots()),
    twice: async (ctx) => {
      const a = await ctx.listRoots()
      const b = await ctx.listRoots()
      return `${a.roots.length}+${b.roots.length}`
    }
  })
  const session = await openSessionHttp(url, '2025-11-25', FULL_CAPS)
  const stream = await request(url, 'POST', session.headers, call(1, 'roots'))
  t.equal(stream.headers['content-type'], 'text/event-stream', 'the answer became a stream to carry the request')
  const asked = await nextServerRequest(stream)
  t.equal(asked.method, 'roots/list')
  t.same(asked.params, {})
  t.type(asked.id, 'string')
  t.equal(await answer(url, session, { jsonrpc: '2.0', id: asked.id, result: { roots: [{ uri: 'file:///work', name: 'work' }] } }), 202)
  await stream.waitEnd()
  t.same(stream.messages().at(-1).result.content, [{ type: 'text', text: '{"roots":[{"uri":"file:///work","name":"work"}]}' }])

  // Ids never repeat within a session.
  const second = await request(url, 'POST', session.headers, call(2, 'twice'))
  const first = await nextServerRequest(second)
  await answer(url, session, { jsonrpc: '2.0', id: first.id, result: { roots: [] } })
  const next = await nextServerRequest(second, 1)
  t.not(next.id, first.id, 'a new id for the next request')
  t.not(next.id, asked.id)
  await answer(url, session, { jsonrpc: '2.0', id: next.id, result: { roots: [{ uri: 'file:///a' }] } })
  await second.waitEnd()
  t.same(second.messages().at(-1).result.content, [{ type: 'text', text: '0+1' }])
})

t.test('an error answer rejects the handler with that McpError; an invalid result is refused', async (t) => {
  const { url } = await serveTools(t, {}, {
    rejected: async (ctx) => {
      try {
        await ctx.sample({ messages: [], maxTokens: 1 })
        return 'unexpected'
      } catch (err) {
        const e = err as { name: string, code: number, message: string }
        return `${e.name}:${e.code}:${e.message}`
      }
    },
    garbled: async (ctx) => {
      try {
        await ctx.elicit('x', { type: 'object', properties: {} })
        return 'unexpected'
      } catch (err) {
        return (err as Error).message
      }
    }
  })
  const session = await openSessionHttp(url, '2025-11-25', FULL_CAPS)
  const stream = await request(url, 'POST', session.headers, call(1, 'rejected'))
  const asked = await nextServerRequest(stream)
  t.equal(asked.method, 'sampling/createMessage')
  await answer(url, session, { jsonrpc: '2.0', id: asked.id, error: { code: -1, message: 'User rejected sampling request' } })
  await stream.waitEnd()
  t.same(stream.messages().at(-1).result.content, [{ type: 'text', text: 'McpError:-1:User rejected sampling request' }])

  const other = await request(url, 'POST', session.headers, call(2, 'garbled'))
  const elicit = await nextServerRequest(other)
  await answer(url, session, { jsonrpc: '2.0', id: elicit.id, result: { action: 'maybe' } })
  await other.waitEnd()
  t.match(other.messages().at(-1).result.content[0].text, /invalid result/)
})

t.test('answers to unknown ids, or from another session, are ignored', async (t) => {
  const gate = deferred<string>()
  const { url } = await serveTools(t, {}, {
    wait: async (ctx) => {
      const roots = await ctx.listRoots()
      gate.resolve('answered')
      return roots.roots.map((r) => r.uri).join(',')
    }
  })
  const session = await openSessionHttp(url, '2025-11-25', FULL_CAPS)
  const intruder = await openSessionHttp(url, '2025-11-25', FULL_CAPS)
  const stream = await request(url, 'POST', session.headers, call(1, 'wait'))
  const asked = await nextServerRequest(stream)
  t.equal(await answer(url, session, { jsonrpc: '2.0', id: 'srv-unknown-1', result: { roots: [] } }), 202, 'unknown id: accepted and ignored')
  t.equal(await answer(url, intruder, { jsonrpc: '2.0', id: asked.id, result: { roots: [{ uri: 'file:///evil' }] } }), 202)
  // The real answer still decides the result: the intruder's was not taken.
  t.equal(await answer(url, session, { jsonrpc: '2.0', id: asked.id, result: { roots: [{ uri: 'file:///mine' }] } }), 202)
  t.equal(await within(gate.promise, 'the handler to resume'), 'answered')
  await stream.waitEnd()
  t.same(stream.messages().at(-1).result.content, [{ type: 'text', text: 'file:///mine' }])
})

t.test('an unanswered request times out: the client gets notifications/cancelled, the handler FST_MCP_CLIENT_TIMEOUT', async (t) => {
  const { app, url } = await serveTools(t, { requestTimeoutMs: 200 }, {
    patient: async (ctx) => {
      try {
        await ctx.listRoots()
        return 'unexpected'
      } catch (err) {
        return (err as { code: string }).code
      }
    }
  })
  const session = await openSessionHttp(url, '2025-11-25', FULL_CAPS)
  const stream = await request(url, 'POST', session.headers, call(1, 'patient'))
  const asked = await nextServerRequest(stream)
  await stream.waitEnd(10_000)
  const messages = stream.messages()
  const cancelled = messages.find((m) => m.method === 'notifications/cancelled')
  t.equal(cancelled?.params.requestId, asked.id, 'the client is told the request is cancelled')
  t.same(messages.at(-1).result.content, [{ type: 'text', text: 'FST_MCP_CLIENT_TIMEOUT' }])
  // A late answer is ignored.
  t.equal(await answer(url, session, { jsonrpc: '2.0', id: asked.id, result: { roots: [] } }), 202)
  t.equal((await app.mcp.stats()).streams, 0)
})

t.test('capabilities the client did not declare are refused to the handler', async (t) => {
  const probe: ToolBody = async (ctx) => {
    const outcomes: string[] = []
    for (const attempt of [
      () => ctx.elicit('x', { type: 'object', properties: {} }),
      () => ctx.sample({ messages: [], maxTokens: 1 }),
      () => ctx.listRoots(),
      () => ctx.elicitUrl('x', 'https://example.com/form', 'e1')
    ]) {
      try {
        await attempt()
        outcomes.push('sent')
      } catch (err) {
        outcomes.push((err as { code: string }).code)
      }
    }
    return outcomes.join(',')
  }
  const { url } = await serveTools(t, {}, { probe })
  const bare = await openSessionHttp(url, '2025-11-25', {})
  const res = await request(url, 'POST', bare.headers, call(1, 'probe'))
  await res.waitEnd()
  t.same(JSON.parse(res.raw).result.content, [{ type: 'text', text: 'FST_MCP_CLIENT_CAPABILITY,FST_MCP_CLIENT_CAPABILITY,FST_MCP_CLIENT_CAPABILITY,FST_MCP_CLIENT_CAPABILITY' }])

  // Elicitation did not exist in 2025-03-26, whatever the client claims.
  const old = await openSessionHttp(url, '2025-03-26', { elicitation: {} })
  const oldRes = await request(url, 'POST', old.headers, call(2, 'probe'))
  await oldRes.waitEnd()
  t.match(JSON.parse(oldRes.raw).result.content[0].text, /^FST_MCP_CLIENT_CAPABILITY,/)

  // URL mode needs a 2025-11-25 client that lists it; form mode then needs `form` listed too.
  const urlOnly = await openSessionHttp(url, '2025-11-25', { elicitation: { url: {} } })
  const urlStream = await request(url, 'POST', urlOnly.headers, call(3, 'probe'))
  const urlAsk = await nextServerRequest(urlStream)
  t.same(urlAsk.params, { mode: 'url', message: 'x', url: 'https://example.com/form', elicitationId: 'e1' })
  await answer(url, urlOnly, { jsonrpc: '2.0', id: urlAsk.id, result: { action: 'accept' } })
  await urlStream.waitEnd()
  t.same(urlStream.messages().at(-1).result.content, [{ type: 'text', text: 'FST_MCP_CLIENT_CAPABILITY,FST_MCP_CLIENT_CAPABILITY,FST_MCP_CLIENT_CAPABILITY,sent' }])
})

t.test('maxPendingRequests bounds what waits on one client', async (t) => {
  const { url } = await serveTools(t, { maxPendingRequests: 2 }, {
    greedy: async (ctx) => {
      const waiting = [ctx.listRoots(), ctx.listRoots()]
      let third = 'sent'
      try {
        await ctx.listRoots()
      } catch (err) {
        third = (err as { code: string }).code
      }
      await Promise.allSettled(waiting)
      return third
    }
  })
  const session = await openSessionHttp(url, '2025-11-25', FULL_CAPS)
  const stream = await request(url, 'POST', session.headers, call(1, 'greedy'))
  const a = await nextServerRequest(stream)
  const b = await nextServerRequest(stream, 1)
  await answer(url, session, { jsonrpc: '2.0', id: a.id, result: { roots: [] } })
  await answer(url, session, { jsonrpc: '2.0', id: b.id, result: { roots: [] } })
  await stream.waitEnd()
  t.same(stream.messages().at(-1).result.content, [{ type: 'text', text: 'FST_MCP_CLIENT_REQUEST' }])
})

t.test('roots/list_changed reaches the application, which asks again over the GET stream', async (t) => {
  // Without resumability a request for a session with no GET connection has nowhere to go
  // (with it, the request is kept for the client's resume: test/resumability.test.ts).
  const { app, url } = await serveTools(t, { resumability: false }, {})
  const session = await openSessionHttp(url, '2025-11-25', FULL_CAPS)
  const heard = deferred<string>()
  const unsubscribe = app.mcp.onRootsListChanged((sessionId) => heard.resolve(sessionId))
  t.teardown(unsubscribe)
  const get = await request(url, 'GET', streamHeaders(session))
  t.teardown(() => get.destroy())
  t.equal(await answer(url, session, { jsonrpc: '2.0', method: 'notifications/roots/list_changed' }), 202)
  t.equal(await within(heard.promise, 'the listener'), session.id)

  const roots = (await app.mcp.client(session.id)).listRoots()
  const asked = await nextServerRequest(get)
  t.equal(asked.method, 'roots/list', 'not tied to a request: sent on the GET stream')
  await answer(url, session, { jsonrpc: '2.0', id: asked.id, result: { roots: [{ uri: 'file:///new' }] } })
  t.same(await roots, { roots: [{ uri: 'file:///new' }] })

  // Without a GET stream there is nothing to carry it.
  get.destroy()
  // The server sees the socket close on a later tick: wait for the stream to be counted out.
  for (let i = 0; i < 200 && (await app.mcp.stats()).streams > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  t.equal((await app.mcp.stats()).streams, 0)
  await t.rejects((await app.mcp.client(session.id)).listRoots(), { code: 'FST_MCP_CLIENT_REQUEST' })
  await t.rejects(app.mcp.client('no-such-session'), { code: 'FST_MCP_CLIENT_REQUEST' })
})

t.test('in json response mode the request goes on the GET stream', async (t) => {
  const { url } = await serveTools(t, { responseMode: 'json' }, {
    roots: async (ctx) => (await ctx.listRoots()).roots.map((r) => r.uri).join(',')
  })
  const session = await openSessionHttp(url, '2025-11-25', FULL_CAPS)
  const get = await request(url, 'GET', streamHeaders(session))
  t.teardown(() => get.destroy())
  const post = request(url, 'POST', session.headers, call(1, 'roots'))
  const asked = await nextServerRequest(get)
  await answer(url, session, { jsonrpc: '2.0', id: asked.id, result: { roots: [{ uri: 'file:///json' }] } })
  const res = await post
  await res.waitEnd()
  t.equal(res.headers['content-type']?.startsWith('application/json'), true)
  t.same(JSON.parse(res.raw).result.content, [{ type: 'text', text: 'file:///json' }])
})

t.test('cancelling the tool call cancels the request it waits on; ending the session rejects it', async (t) => {
  const outcome = deferred<string>()
  const { url } = await serveTools(t, {}, {
    stuck: async (ctx) => {
      try {
        await ctx.listRoots()
        outcome.resolve('answered')
      } catch (err) {
        outcome.resolve((err as Error).name)
      }
      return 'done'
    }
  })
  const session = await openSessionHttp(url, '2025-11-25', FULL_CAPS)
  const stream = await request(url, 'POST', session.headers, call(5, 'stuck'))
  await nextServerRequest(stream)
  t.equal(await answer(url, session, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 5 } }), 202)
  t.equal(await within(outcome.promise, 'the handler to be released'), 'AbortError')
  await stream.waitEnd()
  t.notOk(stream.messages().some((m) => m.id === 5), 'no answer for the cancelled call')

  const ended = deferred<string>()
  const { url: url2 } = await serveTools(t, {}, {
    stuck: async (ctx) => {
      try {
        await ctx.listRoots()
      } catch (err) {
        ended.resolve((err as { code?: string, name: string }).code ?? (err as Error).name)
      }
      return 'done'
    }
  })
  const s2 = await openSessionHttp(url2, '2025-11-25', FULL_CAPS)
  const stream2 = await request(url2, 'POST', s2.headers, call(6, 'stuck'))
  await nextServerRequest(stream2)
  const del = await request(url2, 'DELETE', { 'mcp-session-id': s2.id, 'mcp-protocol-version': s2.protocolVersion })
  await del.waitEnd()
  t.equal(del.status, 204)
  t.match(await within(ended.promise, 'the handler to be released'), /AbortError|FST_MCP_CLIENT_REQUEST/)
})

t.test('no requests before notifications/initialized, and none in stateless mode', async (t) => {
  const probe: ToolBody = async (ctx) => {
    try {
      await ctx.listRoots()
      return 'sent'
    } catch (err) {
      return (err as Error).message
    }
  }
  const { url } = await serveTools(t, {}, { probe })
  const init = await request(url, 'POST', { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    rpc(0, 'initialize', { protocolVersion: '2025-11-25', capabilities: FULL_CAPS, clientInfo: { name: 'c', version: '1' } }))
  await init.waitEnd()
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': init.headers['mcp-session-id'] as string, 'mcp-protocol-version': '2025-11-25' }
  const early = await request(url, 'POST', headers, call(1, 'probe'))
  await early.waitEnd()
  t.match(JSON.parse(early.raw).result.content[0].text, /notifications\/initialized/)

  const stateless = await serveTools(t, { stateless: true }, { probe })
  const res = await request(stateless.url, 'POST', { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, call(2, 'probe'))
  await res.waitEnd()
  t.match(JSON.parse(res.raw).result.content[0].text, /stateless/)
})
