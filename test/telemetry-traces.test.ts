// Spans on the OpenTelemetry semantic conventions for MCP, read through the SDK's in-memory
// exporter: one SERVER span per request and notification on both eras, named
// `{mcp.method.name} {target}`, with the conventions' attributes; the parent from
// `params._meta` (W3C traceparent) else the HTTP request's context, linked when both are
// there; errors; CLIENT spans for requests the server sends; replay and reconnect events.
import t, { type Test } from 'tap'
import { Type } from '@sinclair/typebox'
import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js'
import type { FastifyInstance } from 'fastify'
import { buildApp, callTool, listen, notification, openSession, parseSse, post, postHeaders, request, rpc, serve, within, type Setup } from './helpers/index.js'
import { envelope, modernHeaders, modernRpc, postModern } from './helpers/modern.js'
import { installContext, recorder, type Recorder } from './helpers/telemetry.js'
import { acceptedContent, inputRequired, type McpPluginOptions } from '../lib/index.js'

installContext()

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736'
const PARENT_ID = '00f067aa0ba902b7'
const TRACEPARENT = `00-${TRACE_ID}-${PARENT_ID}-01`

const tools: Setup = (app) => {
  app.mcp.tool({ name: 'echo', description: 'Echo', inputSchema: Type.Object({ text: Type.String() }) }, async ({ text }) => text)
  app.mcp.tool({ name: 'fails', description: 'Fails', inputSchema: Type.Object({}) }, async () => ({ content: [{ type: 'text', text: 'no' }], isError: true }))
  app.mcp.prompt({ name: 'greet', description: 'Greet' }, async () => ({ messages: [{ role: 'user', content: { type: 'text', text: 'hi' } }] }))
  app.mcp.resource({ uri: 'memo://one', name: 'one' }, async () => ({ contents: [{ uri: 'memo://one', text: '1' }] }))
}

/** Like HTTP instrumentation: an `HTTP <method>` SERVER span, current for the whole request. */
function httpSpans (rec: Recorder): Setup {
  return (app) => {
    app.addHook('onRequest', (request, reply, done) => {
      const span = rec.tracer.startSpan(`HTTP ${request.method}`, { kind: SpanKind.SERVER })
      reply.raw.on('close', () => span.end())
      context.with(trace.setSpan(context.active(), span), done)
    })
  }
}

async function app (t: Test, rec: Recorder, options: McpPluginOptions = {}, setup?: Setup): Promise<FastifyInstance> {
  return buildApp(t, { options: { ...options, telemetry: { tracer: rec.tracer, meter: rec.meter, ...(options.telemetry || {}) } }, setup: (a) => { tools(a); setup?.(a) } })
}

t.test('2025 session: a SERVER span per request and notification, on the conventions', async (t) => {
  const rec = recorder(t)
  const mcp = await app(t, rec)
  const session = await openSession(mcp)
  await post(mcp, callTool(2, 'echo', { text: 'hi' }), session.headers)
  await post(mcp, rpc(3, 'ping'), session.headers)

  const init = rec.span('initialize')
  t.equal(init.kind, SpanKind.SERVER)
  t.match(init.attributes, { 'mcp.method.name': 'initialize', 'jsonrpc.request.id': '0', 'mcp.protocol.version': '2025-11-25', 'network.transport': 'tcp', 'network.protocol.name': 'http' })
  const initialized = rec.span('notifications/initialized')
  t.equal(initialized.kind, SpanKind.SERVER)
  t.notOk('jsonrpc.request.id' in initialized.attributes, 'a notification has no request id')

  const call = rec.span('tools/call echo')
  t.equal(call.kind, SpanKind.SERVER)
  t.same(call.attributes, {
    'mcp.method.name': 'tools/call',
    'network.transport': 'tcp',
    'network.protocol.name': 'http',
    'mcp.protocol.version': '2025-11-25',
    'jsonrpc.request.id': '2',
    'gen_ai.tool.name': 'echo',
    'gen_ai.operation.name': 'execute_tool'
  })
  t.equal(call.status.code, SpanStatusCode.UNSET)
  t.notOk('mcp.session.id' in call.attributes, 'the session id is left out unless the application opts in')
  t.equal(rec.span('ping').attributes['jsonrpc.request.id'], '3')
  t.same(rec.spans().map((s) => s.name), ['initialize', 'notifications/initialized', 'tools/call echo', 'ping'])
})

t.test('errors: error.type and rpc.response.status_code, status ERROR; an unknown tool does not name the span', async (t) => {
  const rec = recorder(t)
  const mcp = await app(t, rec)
  const session = await openSession(mcp)
  await post(mcp, callTool(2, 'no-such-tool', {}), session.headers)
  await post(mcp, callTool(3, 'fails', {}), session.headers)
  await post(mcp, rpc(4, 'made/up'), session.headers)

  const unknown = rec.spans().find((s) => s.attributes['jsonrpc.request.id'] === '2')!
  t.equal(unknown.name, 'tools/call', 'the client-chosen name is not a span name')
  t.match(unknown.attributes, { 'error.type': '-32602', 'rpc.response.status_code': '-32602' })
  t.equal(unknown.status.code, SpanStatusCode.ERROR)
  t.match(unknown.status.message, /no-such-tool|Unknown tool|not found/i)

  const failed = rec.span('tools/call fails')
  t.equal(failed.attributes['error.type'], 'tool_error', 'isError: true is a tool_error')
  t.notOk('rpc.response.status_code' in failed.attributes)

  const madeUp = rec.spans().find((s) => s.attributes['jsonrpc.request.id'] === '4')!
  t.equal(madeUp.name, '_OTHER', 'an unknown method is not a span name')
  t.match(madeUp.attributes, { 'mcp.method.name': '_OTHER', 'error.type': '-32601' })
})

t.test('the parent comes from params._meta traceparent, linked to the HTTP request\'s span', async (t) => {
  const rec = recorder(t)
  const mcp = await app(t, rec, {}, httpSpans(rec))
  const session = await openSession(mcp)
  await post(mcp, rpc(2, 'tools/call', { name: 'echo', arguments: { text: 'x' }, _meta: { traceparent: TRACEPARENT, tracestate: 'congo=t61rcWkgMzE' } }), session.headers)
  await post(mcp, callTool(3, 'echo', { text: 'y' }), session.headers)

  const [withMeta, withoutMeta] = rec.spans().filter((s) => s.name === 'tools/call echo')
  t.equal(withMeta!.spanContext().traceId, TRACE_ID, 'the client\'s trace')
  t.equal(withMeta!.parentSpanContext?.spanId, PARENT_ID, 'the client\'s span is the parent')
  t.equal(withMeta!.spanContext().traceState?.get('congo'), 't61rcWkgMzE', 'tracestate carried')
  const https = rec.spans().filter((s) => s.name === 'HTTP POST')
  t.equal(withMeta!.links.length, 1, 'the HTTP request\'s span is linked')
  t.ok(https.some((h) => h.spanContext().spanId === withMeta!.links[0]!.context.spanId))

  const httpParent = https.find((h) => h.spanContext().spanId === withoutMeta!.parentSpanContext?.spanId)
  t.ok(httpParent, 'without _meta, the HTTP request\'s span is the parent')
  t.equal(withoutMeta!.links.length, 0)
})

t.test('sessionIdAttribute: true puts mcp.session.id on spans', async (t) => {
  const rec = recorder(t)
  const mcp = await app(t, rec, { telemetry: { sessionIdAttribute: true } })
  const session = await openSession(mcp)
  await post(mcp, callTool(2, 'echo', { text: 'hi' }), session.headers)
  t.equal(rec.span('tools/call echo').attributes['mcp.session.id'], session.id)
})

t.test('2026-07-28: the same spans, stateless; server/discover, prompts, resources; _meta parent', async (t) => {
  const rec = recorder(t)
  const mcp = await app(t, rec)
  const call = modernRpc(1, 'tools/call', { name: 'echo', arguments: { text: 'hi' } }, envelope({}, { traceparent: TRACEPARENT }))
  t.equal((await postModern(mcp, call)).statusCode, 200)
  t.equal((await postModern(mcp, modernRpc(2, 'server/discover'))).statusCode, 200)
  t.equal((await postModern(mcp, modernRpc(3, 'prompts/get', { name: 'greet' }))).statusCode, 200)
  t.equal((await postModern(mcp, modernRpc(4, 'resources/read', { uri: 'memo://one' }))).statusCode, 200)
  t.equal((await postModern(mcp, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 9, _meta: envelope() } })).statusCode, 202)

  const echo = rec.span('tools/call echo')
  t.equal(echo.kind, SpanKind.SERVER)
  t.match(echo.attributes, { 'mcp.method.name': 'tools/call', 'mcp.protocol.version': '2026-07-28', 'gen_ai.tool.name': 'echo', 'gen_ai.operation.name': 'execute_tool', 'jsonrpc.request.id': '1' })
  t.equal(echo.parentSpanContext?.spanId, PARENT_ID)
  t.match(rec.span('server/discover').attributes, { 'mcp.method.name': 'server/discover', 'mcp.protocol.version': '2026-07-28' })
  t.match(rec.span('prompts/get greet').attributes, { 'gen_ai.prompt.name': 'greet' })
  const read = rec.span('resources/read')
  t.equal(read.attributes['mcp.resource.uri'], 'memo://one', 'the URI is an attribute, never the span name')
  t.match(rec.span('notifications/cancelled').attributes, { 'mcp.method.name': 'notifications/cancelled', 'mcp.protocol.version': '2026-07-28' })
})

t.test('a request to the client is a CLIENT span under the tool\'s, its context in the request\'s _meta', async (t) => {
  const rec = recorder(t)
  const { url } = await serve(t, {
    options: { telemetry: { tracer: rec.tracer, meter: rec.meter } },
    setup: (a) => {
      a.mcp.tool({ name: 'ask', description: 'Ask', inputSchema: Type.Object({}) }, async (_args, ctx) => {
        const answer = await ctx.elicit('Name?', { type: 'object', properties: { name: { type: 'string' } } })
        return String(answer.content?.name)
      })
    }
  })
  const client = new Client({ name: 'otel', version: '1.0.0' }, { capabilities: { elicitation: {} } })
  const seenMeta: unknown[] = []
  client.setRequestHandler(ElicitRequestSchema, async (req) => {
    seenMeta.push(req.params._meta)
    return { action: 'accept', content: { name: 'Ada' } }
  })
  t.teardown(() => client.close().catch(() => {}))
  await client.connect(new StreamableHTTPClientTransport(url))
  const result = await client.callTool({ name: 'ask', arguments: {} })
  t.same(result.content, [{ type: 'text', text: 'Ada' }])

  const server = rec.span('tools/call ask')
  const ask = rec.span('elicitation/create')
  t.equal(ask.kind, SpanKind.CLIENT)
  t.match(ask.attributes, { 'mcp.method.name': 'elicitation/create', 'network.transport': 'tcp' })
  t.match(String(ask.attributes['jsonrpc.request.id']), /^srv-/)
  t.equal(ask.parentSpanContext?.spanId, server.spanContext().spanId, 'under the tool call')
  t.equal(ask.spanContext().traceId, server.spanContext().traceId)
  t.match(seenMeta[0], { traceparent: `00-${ask.spanContext().traceId}-${ask.spanContext().spanId}-01` }, 'the client can continue the trace')
})

t.test('multi round-trip: a 2025 round is a CLIENT span; a 2026-07-28 input-required answer a span event', async (t) => {
  const rec = recorder(t)
  const rounds: Setup = (a) => {
    a.mcp.tool({ name: 'who', description: 'Who', inputSchema: Type.Object({}) }, async (_args, ctx) => {
      const name = acceptedContent(ctx.inputResponses, 'who')?.name
      if (typeof name !== 'string') return inputRequired({ inputRequests: { who: inputRequired.elicit('Who?', { type: 'object', properties: { name: { type: 'string' } } }) } })
      return name
    })
  }
  const { url, app: mcp } = await serve(t, { options: { telemetry: { tracer: rec.tracer, meter: rec.meter } }, setup: rounds })
  const client = new Client({ name: 'otel', version: '1.0.0' }, { capabilities: { elicitation: {} } })
  client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: { name: 'Ada' } }))
  t.teardown(() => client.close().catch(() => {}))
  await client.connect(new StreamableHTTPClientTransport(url))
  t.same((await client.callTool({ name: 'who', arguments: {} })).content, [{ type: 'text', text: 'Ada' }])
  const round = rec.span('elicitation/create')
  t.equal(round.kind, SpanKind.CLIENT)
  t.equal(round.parentSpanContext?.spanId, rec.span('tools/call who').spanContext().spanId, 'the round hangs under the tool call')

  const first = await postModern(mcp, modernRpc(7, 'tools/call', { name: 'who', arguments: {} }, envelope({ elicitation: {} })))
  t.match(first.payload, /input_required/)
  const modern = rec.spans().filter((s) => s.name === 'tools/call who').at(-1)!
  t.equal(modern.attributes['mcp.protocol.version'], '2026-07-28')
  t.same(modern.events.map((e) => e.name), ['mcp.input_required'])
})

t.test('a replay is a span event on the HTTP request\'s span', async (t) => {
  const rec = recorder(t)
  const mcp = await app(t, rec, { responseMode: 'sse' }, httpSpans(rec))
  const session = await openSession(mcp)
  const res = await post(mcp, callTool(2, 'echo', { text: 'again' }), session.headers)
  const events = parseSse(res.payload).filter((e) => e.id !== undefined)
  t.ok(events.length >= 2, 'a priming event and the answer')
  const resumed = await mcp.inject({ method: 'GET', url: '/mcp', headers: { ...postHeaders({ 'mcp-session-id': session.id, 'mcp-protocol-version': session.protocolVersion }), accept: 'text/event-stream', 'last-event-id': events[0]!.id! } })
  t.equal(resumed.statusCode, 200)
  t.match(resumed.payload, /again/, 'the answer was replayed')
  const get = rec.span('HTTP GET')
  t.same(get.events.map((e) => e.name), ['mcp.stream.reconnect', 'mcp.stream.replay'])
  t.equal(get.events[1]!.attributes!['mcp.stream.replayed_events'], 1)
})

t.test('subscriptions/listen is one SERVER span for the whole subscription: completed, or cancelled by the client', async (t) => {
  const rec = recorder(t)
  const mcp = await app(t, rec)
  const url = await listen(mcp)
  const message = modernRpc('sub-1', 'subscriptions/listen', { notifications: { toolsListChanged: true } }, envelope({}, { traceparent: TRACEPARENT }))
  const dropped = await request(url, 'POST', modernHeaders(message), message)
  t.teardown(() => dropped.destroy())
  await dropped.until((r) => r.messages().length >= 1)
  t.equal(rec.spans().filter((s) => s.name === 'subscriptions/listen').length, 0, 'open: no span has ended yet')
  dropped.destroy()
  const cancelled = await within(waitForSpan(rec, 'subscriptions/listen'), 'the span of the listen the client closed')
  t.equal(cancelled.kind, SpanKind.SERVER)
  t.equal(cancelled.spanContext().traceId, TRACE_ID, 'its parent from _meta')
  t.match(cancelled.attributes, { 'mcp.method.name': 'subscriptions/listen', 'jsonrpc.request.id': 'sub-1', 'mcp.protocol.version': '2026-07-28', 'error.type': 'cancelled' })

  const completed = modernRpc('sub-2', 'subscriptions/listen', { notifications: { toolsListChanged: true } })
  const stream = await request(url, 'POST', modernHeaders(completed), completed)
  t.teardown(() => stream.destroy())
  await stream.until((r) => r.messages().length >= 1)
  await mcp.close()
  await stream.waitEnd()
  const done = rec.spans().filter((s) => s.name === 'subscriptions/listen' && s.attributes['jsonrpc.request.id'] === 'sub-2')
  t.equal(done.length, 1, 'the listen completed at shutdown has its span')
  t.equal(done[0]!.status.code, SpanStatusCode.UNSET)
  t.notOk('error.type' in done[0]!.attributes, 'completed: no error')
})

async function waitForSpan (rec: Recorder, name: string): Promise<ReturnType<Recorder['span']>> {
  for (;;) {
    const found = rec.spans().find((s) => s.name === name)
    if (found !== undefined) return found
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

t.test('telemetry: false records nothing', async (t) => {
  const rec = recorder(t)
  const mcp = await buildApp(t, { options: { telemetry: false }, setup: tools })
  const session = await openSession(mcp)
  await post(mcp, callTool(2, 'echo', { text: 'hi' }), session.headers)
  await post(mcp, notification('notifications/roots/list_changed'), session.headers)
  t.same(rec.spans(), [])
})

t.test('the telemetry option is checked once, at registration', async (t) => {
  const { normalizeOptions } = await import('../lib/options.js')
  const identity = { name: 'x', version: '1' }
  t.same(normalizeOptions({}, identity).telemetry, {})
  t.equal(normalizeOptions({ telemetry: false }, identity).telemetry, false)
  for (const telemetry of ['yes', null, { tracer: {} }, { meter: 1 }, { sessionIdAttribute: 'true' }]) {
    t.throws(() => normalizeOptions({ telemetry: telemetry as never }, identity), { code: 'FST_MCP_INVALID_OPTION' }, JSON.stringify(telemetry))
  }
})
