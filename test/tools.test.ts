import type { FastifyInstance } from 'fastify'
import { Type } from '@sinclair/typebox'
import t from 'tap'
import { McpError, type ToolContext } from '../lib/index.js'
import { buildApp, logCapture, openSession, openSessionHttp, post, request, rpc, serve, sseMessages, streamHeaders, type Session, type Setup } from './helpers/index.js'

async function call (app: FastifyInstance, session: Session, name: string, args?: unknown, id: string | number = 1, meta?: Record<string, unknown>) {
  const params: Record<string, unknown> = { name }
  if (args !== undefined) params.arguments = args
  if (meta !== undefined) params._meta = meta
  return post(app, rpc(id, 'tools/call', params), session.headers)
}

/** The JSON-RPC response of a POST, whether it came as JSON or as an SSE stream. */
function responseOf (res: { headers: Record<string, unknown>, payload: string, json (): any }): any {
  if (String(res.headers['content-type']).startsWith('text/event-stream')) {
    return sseMessages(res.payload).find((m) => 'result' in m || 'error' in m)
  }
  return res.json()
}

async function listAll (app: FastifyInstance, session: Session, cursor?: string) {
  const res = await post(app, rpc(1, 'tools/list', cursor === undefined ? {} : { cursor }), session.headers)
  return res.json()
}

const noop = async () => 'ok'
/** Tools are given an explicit empty schema so that the default-schema bug (see its own test) does not mask the rest. */
const NO_ARGS = Type.Object({})

/** Registers a do-nothing tool per name. */
const toolsNamed = (names: string[]): Setup => (app) => {
  for (const name of names) app.mcp.tool({ name, description: name, inputSchema: NO_ARGS }, noop)
}

t.test('registration', async (t) => {
  t.test('invalid names → FST_MCP_INVALID_TOOL', async (t) => {
    const app = await buildApp(t)
    for (const name of ['', 'a b', 'x'.repeat(129), 'héllo', 'a/b', 'tool!']) {
      t.throws(() => app.mcp.tool({ name, description: 'd' }, noop), { code: 'FST_MCP_INVALID_TOOL' }, JSON.stringify(name.length > 20 ? name.slice(0, 20) + '…' : name))
    }
    t.throws(() => app.mcp.tool({ name: 42 as never, description: 'd', inputSchema: NO_ARGS }, noop), { code: 'FST_MCP_INVALID_TOOL' }, 'a non-string name')
    const session = await openSession(app)
    t.strictSame((await listAll(app, session)).result.tools, [], 'none of them was registered')
  })

  t.test('valid edge names are accepted', async (t) => {
    const app = await buildApp(t)
    const names = ['a', 'A.b-c_d', 'n'.repeat(128), '0_9']
    for (const name of names) t.doesNotThrow(() => app.mcp.tool({ name, description: 'd', inputSchema: NO_ARGS }, noop), name.slice(0, 20))
    const session = await openSession(app)
    t.same((await listAll(app, session)).result.tools.map((tool: any) => tool.name).sort(), [...names].sort())
  })

  t.test('a tool without inputSchema is accepted, takes no arguments and publishes an empty object schema', async (t) => {
    // ToolDefinition documents inputSchema as optional ("Default: an empty object schema").
    const app = await buildApp(t)
    t.doesNotThrow(() => app.mcp.tool({ name: 'noargs', description: 'No arguments' }, async () => 'ran'), 'registration succeeds')
    const session = await openSession(app)
    const tools = (await listAll(app, session)).result.tools
    t.strictSame(tools, [{ name: 'noargs', description: 'No arguments', inputSchema: { type: 'object', properties: {} } }])
    t.strictSame((await call(app, session, 'noargs')).json().result, { content: [{ type: 'text', text: 'ran' }] }, 'callable without arguments')
  })

  t.test('a duplicate name → FST_MCP_DUPLICATE_TOOL, and the first one stays', async (t) => {
    const app = await buildApp(t, {
      setup: (app) => {
        app.mcp.tool({ name: 'dup', description: 'first', inputSchema: NO_ARGS }, async () => 'first')
      }
    })
    t.throws(() => app.mcp.tool({ name: 'dup', description: 'second', inputSchema: NO_ARGS }, async () => 'second'), { code: 'FST_MCP_DUPLICATE_TOOL' })
    const session = await openSession(app)
    const tools = (await listAll(app, session)).result.tools
    t.equal(tools.length, 1)
    t.equal(tools[0].description, 'first')
    t.equal((await call(app, session, 'dup')).json().result.content[0].text, 'first')
  })

  t.test('schemas must be object schemas (TypeBox, or raw JSON Schema 2020-12 — see json-schema.test.ts)', async (t) => {
    const app = await buildApp(t)
    t.throws(() => app.mcp.tool({ name: 'plain', description: 'd', inputSchema: { type: 'string' } as never }, noop),
      { code: 'FST_MCP_INVALID_TOOL' }, 'a plain JSON Schema that is not an object schema')
    t.throws(() => app.mcp.tool({ name: 'str', description: 'd', inputSchema: Type.String() as never }, noop),
      { code: 'FST_MCP_INVALID_TOOL' }, 'a TypeBox non-object schema')
    t.throws(() => app.mcp.tool({ name: 'arr', description: 'd', inputSchema: Type.Array(Type.String()) as never }, noop),
      { code: 'FST_MCP_INVALID_TOOL' }, 'a TypeBox array schema')
    t.throws(() => app.mcp.tool({ name: 'out', description: 'd', outputSchema: Type.Number() as never, inputSchema: NO_ARGS }, noop),
      { code: 'FST_MCP_INVALID_TOOL' }, 'a non-object outputSchema')
    t.throws(() => app.mcp.tool({ name: 'outplain', description: 'd', inputSchema: NO_ARGS, outputSchema: { type: 'array' } as never }, noop),
      { code: 'FST_MCP_INVALID_TOOL' }, 'a plain outputSchema that is not an object schema')
    t.equal(app.mcp.removeTool('plain') || app.mcp.removeTool('str') || app.mcp.removeTool('out'), false, 'nothing was registered')
  })

  t.test('a missing description or handler is an error', async (t) => {
    const app = await buildApp(t)
    t.throws(() => app.mcp.tool({ name: 'nodesc' } as never, noop), { code: 'FST_MCP_INVALID_TOOL', message: /description/ })
    t.throws(() => app.mcp.tool({ name: 'nohandler', description: 'd', inputSchema: NO_ARGS }, undefined as never), { code: 'FST_MCP_INVALID_TOOL' })
    t.throws(() => app.mcp.tool(null as never, noop), { code: 'FST_MCP_INVALID_TOOL' })
    t.equal(app.mcp.removeTool('nodesc'), false)
  })
})

t.test('tools/list', async (t) => {
  t.test('publishes schemas exactly as TypeBox wrote them, with title, annotations, icons and _meta', async (t) => {
    const inputSchema = Type.Object({
      query: Type.String({ minLength: 1, description: 'What to look for' }),
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 50, default: 10 })),
      tags: Type.Array(Type.Union([Type.Literal('a'), Type.Literal('b')])),
      nested: Type.Object({ deep: Type.Boolean() }, { additionalProperties: false })
    }, { additionalProperties: false, $id: 'SearchInput' })
    const outputSchema = Type.Object({ hits: Type.Array(Type.Object({ id: Type.String(), score: Type.Number() })) })
    const annotations = { title: 'Search', readOnlyHint: true, openWorldHint: false }
    const icons = [{ src: 'https://example.com/icon.png', mimeType: 'image/png', sizes: ['48x48'] }]
    const _meta = { 'example.com/owner': 'team-a', n: 1 }
    const app = await buildApp(t, {
      setup: (app) => {
        app.mcp.tool({ name: 'search', title: 'Search things', description: 'Search', inputSchema, outputSchema, annotations, icons, _meta }, async () => ({ structuredContent: { hits: [] } }))
        app.mcp.tool({ name: 'bare', description: 'No schema', inputSchema: NO_ARGS }, noop)
      }
    })
    const session = await openSession(app)
    const { result } = await listAll(app, session)
    t.equal(result.tools.length, 2)
    const [bare, search] = result.tools
    t.strictSame(bare, { name: 'bare', description: 'No schema', inputSchema: { type: 'object', properties: {} } }, 'no extra keys for a minimal tool')
    t.equal(search.name, 'search')
    t.equal(search.title, 'Search things')
    t.equal(search.description, 'Search')
    t.strictSame(search.inputSchema, JSON.parse(JSON.stringify(inputSchema)), 'inputSchema as written')
    t.strictSame(search.outputSchema, JSON.parse(JSON.stringify(outputSchema)), 'outputSchema as written')
    t.strictSame(search.annotations, annotations)
    t.strictSame(search.icons, icons)
    t.strictSame(search._meta, _meta)
  })

  t.test('changing the definition object after registration does not change what is published', async (t) => {
    const inputSchema = Type.Object({ a: Type.String() })
    const definition = { name: 'mut', description: 'before', inputSchema }
    const app = await buildApp(t, { setup: (app) => { app.mcp.tool(definition, noop) } })
    definition.description = 'after'
    ;(inputSchema.properties as Record<string, unknown>).b = Type.Number()
    const session = await openSession(app)
    const [tool] = (await listAll(app, session)).result.tools
    t.equal(tool.description, 'before')
    t.strictSame(Object.keys(tool.inputSchema.properties), ['a'])
  })

  t.test('pagination with pageSize 2', async (t) => {
    const app = await buildApp(t, { options: { pageSize: 2 }, setup: toolsNamed(['e', 'c', 'a', 'd', 'b']) })
    const session = await openSession(app)

    const p1 = (await listAll(app, session)).result
    t.same(p1.tools.map((x: any) => x.name), ['a', 'b'], 'first page, by name')
    t.type(p1.nextCursor, 'string')
    const p2 = (await listAll(app, session, p1.nextCursor)).result
    t.same(p2.tools.map((x: any) => x.name), ['c', 'd'])
    t.type(p2.nextCursor, 'string')
    const p3 = (await listAll(app, session, p2.nextCursor)).result
    t.same(p3.tools.map((x: any) => x.name), ['e'])
    t.notOk('nextCursor' in p3, 'the last page has no nextCursor')

    t.test('an exactly full last page has no nextCursor', async (t) => {
      const four = await buildApp(t, { options: { pageSize: 2 }, setup: toolsNamed(['w', 'x', 'y', 'z']) })
      const s = await openSession(four)
      const q1 = (await listAll(four, s)).result
      const q2 = (await listAll(four, s, q1.nextCursor)).result
      t.same(q2.tools.map((x: any) => x.name), ['y', 'z'])
      t.notOk('nextCursor' in q2)
    })
  })

  t.test('a tool added or removed between page fetches neither duplicates nor skips earlier items', async (t) => {
    const app = await buildApp(t, { options: { pageSize: 2 }, setup: toolsNamed(['b', 'c', 'd', 'e', 'f']) })
    const session = await openSession(app)
    const p1 = (await listAll(app, session)).result
    t.same(p1.tools.map((x: any) => x.name), ['b', 'c'])
    // Two additions before the cursor and one removal of an already-seen item.
    app.mcp.tool({ name: 'a', description: 'a', inputSchema: NO_ARGS }, noop)
    app.mcp.tool({ name: 'bb', description: 'bb', inputSchema: NO_ARGS }, noop)
    t.equal(app.mcp.removeTool('b'), true)
    const p2 = (await listAll(app, session, p1.nextCursor)).result
    t.same(p2.tools.map((x: any) => x.name), ['d', 'e'], 'continues right after "c"')
    // An addition after the cursor is picked up in order.
    app.mcp.tool({ name: 'ea', description: 'ea', inputSchema: NO_ARGS }, noop)
    const p3 = (await listAll(app, session, p2.nextCursor)).result
    t.same(p3.tools.map((x: any) => x.name), ['ea', 'f'])
    t.notOk('nextCursor' in p3)
  })

  t.test('an invalid cursor → -32602', async (t) => {
    const app = await buildApp(t, { options: { pageSize: 2 }, setup: toolsNamed(['a', 'b', 'c']) })
    const session = await openSession(app)
    for (const cursor of ['not a cursor!', Buffer.from('offset:2').toString('base64url'), '']) {
      const res = await post(app, rpc(7, 'tools/list', { cursor }), session.headers)
      t.equal(res.statusCode, 200, `cursor ${JSON.stringify(cursor)}`)
      const body = res.json()
      t.equal(body.id, 7)
      t.equal(body.error?.code, -32602)
      t.notOk(body.result)
    }
    const wrongType = await post(app, rpc(8, 'tools/list', { cursor: 2 }), session.headers)
    t.equal(wrongType.json().error?.code, -32602, 'a non-string cursor')
  })
})

t.test('handler return shapes', async (t) => {
  const blocks = [
    { type: 'text', text: 'hello', annotations: { audience: ['user'], priority: 0.5 } },
    { type: 'image', data: 'iVBORw0KGgo=', mimeType: 'image/png' },
    { type: 'audio', data: 'UklGRg==', mimeType: 'audio/wav' },
    { type: 'resource', resource: { uri: 'file:///a.txt', mimeType: 'text/plain', text: 'A' } },
    { type: 'resource', resource: { uri: 'file:///b.bin', blob: 'AAEC' } },
    { type: 'resource_link', uri: 'file:///c.md', name: 'c.md', description: 'C' }
  ]
  const app = await buildApp(t, {
    setup: (app) => {
      app.mcp.tool({ name: 'text', description: 'd', inputSchema: NO_ARGS }, async () => 'plain text')
      app.mcp.tool({ name: 'sync', description: 'd', inputSchema: NO_ARGS }, () => 'sync text')
      app.mcp.tool({ name: 'blocks', description: 'd', inputSchema: NO_ARGS }, async () => blocks as never)
      app.mcp.tool({ name: 'full', description: 'd', inputSchema: NO_ARGS }, async () => ({ content: [{ type: 'text', text: 'went wrong' }], isError: true, _meta: { k: 1 } }))
      app.mcp.tool({ name: 'structured', description: 'd', inputSchema: NO_ARGS }, async () => ({ structuredContent: { a: 1, b: ['x'] } }))
      app.mcp.tool({ name: 'both', description: 'd', inputSchema: NO_ARGS }, async () => ({ content: [{ type: 'text', text: 'mine' }], structuredContent: { a: 1 } }))
      app.mcp.tool({ name: 'number', description: 'd', inputSchema: NO_ARGS }, async () => 42 as never)
      app.mcp.tool({ name: 'nullish', description: 'd', inputSchema: NO_ARGS }, async () => null as never)
      app.mcp.tool({ name: 'badblock', description: 'd', inputSchema: NO_ARGS }, async () => [{ type: 'video', url: 'x' }] as never)
      app.mcp.tool({ name: 'badimage', description: 'd', inputSchema: NO_ARGS }, async () => [{ type: 'image', data: 'x' }] as never)
      app.mcp.tool({ name: 'throws', description: 'd', inputSchema: NO_ARGS }, async () => { throw new Error('disk on fire') })
      app.mcp.tool({ name: 'mcperror', description: 'd', inputSchema: NO_ARGS }, async () => { throw new McpError(-32602, 'Unknown city: Atlantis', { city: 'Atlantis' }) })
      app.mcp.tool({ name: 'typed', description: 'd', inputSchema: Type.Object({ n: Type.Integer() }) }, async ({ n }) => String(n * 2))
    }
  })
  const session = await openSession(app)

  t.test('a string → one text block', async (t) => {
    const res = await call(app, session, 'text')
    t.equal(res.statusCode, 200)
    t.strictSame(res.json(), { jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'plain text' }] } })
    t.strictSame((await call(app, session, 'sync')).json().result, { content: [{ type: 'text', text: 'sync text' }] }, 'a sync handler works too')
  })

  t.test('an array of content blocks is passed through', async (t) => {
    const res = await call(app, session, 'blocks')
    t.strictSame(res.json().result, { content: blocks })
  })

  t.test('a full CallToolResult is passed through, isError included', async (t) => {
    t.strictSame((await call(app, session, 'full')).json().result, { content: [{ type: 'text', text: 'went wrong' }], isError: true, _meta: { k: 1 } })
  })

  t.test('structuredContent without content gets a JSON text block', async (t) => {
    const result = (await call(app, session, 'structured')).json().result
    t.strictSame(result.structuredContent, { a: 1, b: ['x'] })
    t.equal(result.content.length, 1)
    t.equal(result.content[0].type, 'text')
    t.strictSame(JSON.parse(result.content[0].text), { a: 1, b: ['x'] })
    t.strictSame((await call(app, session, 'both')).json().result.content, [{ type: 'text', text: 'mine' }], 'given content is kept')
  })

  t.test('an invalid returned value → -32603, not a crash', async (t) => {
    for (const name of ['number', 'nullish', 'badblock', 'badimage']) {
      const res = await call(app, session, name, undefined, name)
      t.equal(res.statusCode, 200, name)
      const body = res.json()
      t.equal(body.id, name)
      t.equal(body.error?.code, -32603, `${name} → -32603`)
      t.notOk(body.result)
    }
    t.equal((await call(app, session, 'text')).statusCode, 200, 'the server still answers')
  })

  t.test('a throwing handler → isError result with its message', async (t) => {
    const result = (await call(app, session, 'throws')).json().result
    t.equal(result.isError, true)
    t.match(result.content[0].text, /disk on fire/)
  })

  t.test('McpError thrown by a tool → that JSON-RPC error', async (t) => {
    const body = (await call(app, session, 'mcperror', undefined, 'e1')).json()
    t.strictSame(body, { jsonrpc: '2.0', id: 'e1', error: { code: -32602, message: 'Unknown city: Atlantis', data: { city: 'Atlantis' } } })
  })

  t.test('arguments failing the input schema → isError result; valid ones reach the handler', async (t) => {
    t.equal((await call(app, session, 'typed', { n: 21 })).json().result.content[0].text, '42')
    const bad = (await call(app, session, 'typed', { n: 'x' })).json()
    t.equal(bad.result?.isError, true)
    t.match(bad.result.content[0].text, /\/n/, 'names the field')
    const missing = (await call(app, session, 'typed')).json()
    t.equal(missing.result?.isError, true, 'missing arguments are checked too')
  })

  t.test('an unknown tool → -32602', async (t) => {
    const body = (await call(app, session, 'nope')).json()
    t.equal(body.error?.code, -32602)
  })
})

t.test('outputSchema', async (t) => {
  const outputSchema = Type.Object({ sum: Type.Number(), label: Type.String() })
  const app = await buildApp(t, {
    setup: (app) => {
      app.mcp.tool({ name: 'good', description: 'd', outputSchema, inputSchema: NO_ARGS }, async () => ({ structuredContent: { sum: 3, label: 'three' } }))
      app.mcp.tool({ name: 'bad', description: 'd', outputSchema, inputSchema: NO_ARGS }, async () => ({ content: [], structuredContent: { sum: 'three', label: 'x' } as never }))
      app.mcp.tool({ name: 'missing', description: 'd', outputSchema, inputSchema: NO_ARGS }, async () => 'just text' as never)
      app.mcp.tool({ name: 'failed', description: 'd', outputSchema, inputSchema: NO_ARGS }, async () => ({ content: [{ type: 'text', text: 'nope' }], isError: true }))
      app.mcp.tool({ name: 'throws', description: 'd', outputSchema, inputSchema: NO_ARGS }, async () => { throw new Error('boom') })
    }
  })
  const session = await openSession(app)

  t.test('valid structuredContent passes', async (t) => {
    const result = (await call(app, session, 'good')).json().result
    t.strictSame(result.structuredContent, { sum: 3, label: 'three' })
    t.notOk(result.isError)
  })

  t.test('invalid structuredContent → -32603 naming the field', async (t) => {
    const body = (await call(app, session, 'bad')).json()
    t.equal(body.error?.code, -32603)
    t.match(body.error.message, /\/sum/)
    t.notOk(body.result)
  })

  t.test('missing structuredContent → -32603', async (t) => {
    const body = (await call(app, session, 'missing')).json()
    t.equal(body.error?.code, -32603)
    t.match(body.error.message, /structuredContent/)
  })

  t.test('isError results skip output validation', async (t) => {
    t.strictSame((await call(app, session, 'failed')).json().result, { content: [{ type: 'text', text: 'nope' }], isError: true })
    const thrown = (await call(app, session, 'throws')).json().result
    t.equal(thrown.isError, true, 'a thrown error is reported as a tool error, not -32603')
  })
})

t.test('handler context', async (t) => {
  t.test('requestId, sessionId, session, protocolVersion, meta', async (t) => {
    const seen: ToolContext[] = []
    const snapshot: Array<Record<string, unknown>> = []
    const app = await buildApp(t, {
      setup: (app) => {
        app.mcp.tool({ name: 'ctx', description: 'd', inputSchema: NO_ARGS }, async (_args, ctx) => {
          seen.push(ctx)
          snapshot.push({ requestId: ctx.requestId, sessionId: ctx.sessionId, clientInfo: ctx.session?.clientInfo, protocolVersion: ctx.protocolVersion, meta: ctx.meta, aborted: ctx.signal.aborted, auth: ctx.auth })
          return 'ok'
        })
      }
    })
    const session = await openSession(app, '2025-06-18')
    await call(app, session, 'ctx', {}, 'req-7', { custom: 'x' })
    await call(app, session, 'ctx', {}, 99)
    t.equal(snapshot.length, 2)
    t.equal(snapshot[0]!.requestId, 'req-7', 'a string id')
    t.equal(snapshot[1]!.requestId, 99, 'a numeric id, kept a number')
    t.equal(snapshot[0]!.sessionId, session.id)
    t.strictSame(snapshot[0]!.clientInfo, { name: 'test-client', version: '1.0.0' })
    t.equal(snapshot[0]!.protocolVersion, '2025-06-18')
    t.strictSame(snapshot[0]!.meta, { custom: 'x' })
    t.equal(snapshot[1]!.meta, undefined)
    t.equal(snapshot[0]!.aborted, false)
    t.equal(snapshot[0]!.auth, undefined)
  })

  t.test('ctx.logger is a usable child logger bound to the session', async (t) => {
    const { stream, records: lines } = logCapture()
    const app = await buildApp(t, {
      fastify: { logger: { level: 'info', stream } },
      setup: (app) => {
        app.mcp.tool({ name: 'logs', description: 'd', inputSchema: NO_ARGS }, async (_args, ctx) => {
          ctx.logger.info({ marker: 'tool-log' }, 'hello from the tool')
          return 'ok'
        })
      }
    })
    const session = await openSession(app)
    const res = await call(app, session, 'logs')
    t.equal(res.json().result.content[0].text, 'ok')
    const line = lines.find((l) => l.marker === 'tool-log')
    t.ok(line, 'the log line was written')
    t.equal(line?.msg, 'hello from the tool')
    t.equal(line?.mcpSession, session.id.slice(0, 8) + '…', 'bound to the (abbreviated) session id')
    t.ok(line?.reqId, 'bound to the request')
    t.notOk(lines.some((l) => JSON.stringify(l).includes(session.id)), 'the full session id is never logged')
  })

  t.test('progress', async (t) => {
    const app = await buildApp(t, {
      setup: (app) => {
        app.mcp.tool({ name: 'steps', description: 'd', inputSchema: NO_ARGS }, async (_args, ctx) => {
          await ctx.progress(1, 3, 'one')
          await ctx.progress(2, 3)
          await ctx.progress(3)
          return 'done'
        })
        app.mcp.tool({ name: 'floats', description: 'd', inputSchema: NO_ARGS }, async (_args, ctx) => {
          await ctx.progress(0.25)
          await ctx.progress(0.5, 1)
          return 'done'
        })
        app.mcp.tool({ name: 'backwards', description: 'd', inputSchema: NO_ARGS }, async (_args, ctx) => {
          await ctx.progress(5)
          try {
            await ctx.progress(5)
            return 'no error'
          } catch (err) {
            const error = err as Error & { code?: string }
            return `${error.code}: ${error.message}`
          }
        })
        app.mcp.tool({ name: 'backwards-uncaught', description: 'd', inputSchema: NO_ARGS }, async (_args, ctx) => {
          await ctx.progress(2)
          await ctx.progress(1)
          return 'unreachable'
        })
      }
    })
    const session = await openSession(app)

    t.test('without a progressToken it is a no-op and the answer is plain JSON', async (t) => {
      const res = await call(app, session, 'steps')
      t.match(res.headers['content-type'], /^application\/json/)
      t.strictSame(res.json().result, { content: [{ type: 'text', text: 'done' }] })
      const back = await call(app, session, 'backwards')
      t.match(back.headers['content-type'], /^application\/json/)
      t.equal(back.json().result.content[0].text, 'no error', 'not even the ordering is checked without a token')
    })

    t.test('with a string progressToken it sends notifications/progress on an SSE answer', async (t) => {
      const res = await call(app, session, 'steps', {}, 5, { progressToken: 'tok-1' })
      t.match(res.headers['content-type'], /^text\/event-stream/)
      const messages = sseMessages(res.payload)
      const progress = messages.filter((m) => m.method === 'notifications/progress')
      t.strictSame(progress.map((m) => m.params), [
        { progressToken: 'tok-1', progress: 1, total: 3, message: 'one' },
        { progressToken: 'tok-1', progress: 2, total: 3 },
        { progressToken: 'tok-1', progress: 3 }
      ])
      t.strictSame(messages[messages.length - 1], { jsonrpc: '2.0', id: 5, result: { content: [{ type: 'text', text: 'done' }] } }, 'the result comes last')
    })

    t.test('with an integer progressToken the token is echoed as an integer', async (t) => {
      const res = await call(app, session, 'steps', {}, 6, { progressToken: 17 })
      const progress = sseMessages(res.payload).filter((m) => m.method === 'notifications/progress')
      t.equal(progress.length, 3)
      t.ok(progress.every((m) => m.params.progressToken === 17))
    })

    t.test('fractional progress values are fine as long as they increase', async (t) => {
      const res = await call(app, session, 'floats', {}, 7, { progressToken: 'tok-f' })
      const progress = sseMessages(res.payload).filter((m) => m.method === 'notifications/progress')
      t.strictSame(progress.map((m) => m.params), [{ progressToken: 'tok-f', progress: 0.25 }, { progressToken: 'tok-f', progress: 0.5, total: 1 }])
      t.equal(responseOf(res).result.content[0].text, 'done')
    })

    t.test('a non-increasing value throws FST_MCP_PROGRESS_NOT_INCREASING in the handler', async (t) => {
      const res = await call(app, session, 'backwards', {}, 8, { progressToken: 'tok-2' })
      const answer = responseOf(res)
      t.match(answer.result.content[0].text, /^FST_MCP_PROGRESS_NOT_INCREASING: /)
      const progress = sseMessages(res.payload).filter((m) => m.method === 'notifications/progress')
      t.strictSame(progress.map((m) => m.params.progress), [5], 'the rejected value was not sent')
      const uncaught = responseOf(await call(app, session, 'backwards-uncaught', {}, 9, { progressToken: 'tok-3' }))
      t.equal(uncaught.result?.isError, true, 'uncaught, it becomes a tool error')
    })
  })

  t.test('ctx.log honours logging/setLevel', async (t) => {
    const app = await buildApp(t, {
      setup: (app) => {
        app.mcp.tool({ name: 'chatty', description: 'd', inputSchema: NO_ARGS }, async (_args, ctx) => {
          await ctx.log('debug', 'a debug line')
          await ctx.log('info', { step: 'info' })
          await ctx.log('warning', 'careful', 'my-logger')
          await ctx.log('error', { step: 'error' })
          return 'done'
        })
        app.mcp.tool({ name: 'badlevel', description: 'd', inputSchema: NO_ARGS }, async (_args, ctx) => {
          try {
            await ctx.log('loud' as never, 'x')
            return 'no error'
          } catch (err) {
            return (err as { code: string }).code
          }
        })
      }
    })
    const logged = (payload: string) => sseMessages(payload).filter((m) => m.method === 'notifications/message').map((m) => m.params)

    const fresh = await openSession(app)
    const all = await call(app, fresh, 'chatty')
    t.match(all.headers['content-type'], /^text\/event-stream/, 'log messages upgrade the answer to SSE')
    t.strictSame(logged(all.payload), [
      { level: 'debug', data: 'a debug line' },
      { level: 'info', data: { step: 'info' } },
      { level: 'warning', logger: 'my-logger', data: 'careful' },
      { level: 'error', data: { step: 'error' } }
    ], 'without setLevel every level is sent')

    const session = await openSession(app)
    const set = await post(app, rpc(2, 'logging/setLevel', { level: 'warning' }), session.headers)
    t.strictSame(set.json(), { jsonrpc: '2.0', id: 2, result: {} })
    const filtered = await call(app, session, 'chatty')
    t.strictSame(logged(filtered.payload).map((p) => p.level), ['warning', 'error'], 'info and debug are dropped, warning and error sent')

    const other = await call(app, fresh, 'chatty')
    t.equal(logged(other.payload).length, 4, 'the level is per session')

    await post(app, rpc(3, 'logging/setLevel', { level: 'emergency' }), session.headers)
    const silent = await call(app, session, 'chatty')
    t.match(silent.headers['content-type'], /^application\/json/, 'nothing to send: plain JSON')
    t.equal(silent.json().result.content[0].text, 'done')

    const invalid = await post(app, rpc(4, 'logging/setLevel', { level: 'verbose' }), session.headers)
    t.equal(invalid.json().id, 4)
    t.equal(invalid.json().error?.code, -32602, 'an invalid level → -32602')
    const noLevel = await post(app, rpc(5, 'logging/setLevel', {}), session.headers)
    t.equal(noLevel.json().error?.code, -32602, 'a missing level → -32602')
    t.equal((await app.mcp.sessions.get(session.id))?.logLevel, 'emergency', 'an invalid setLevel changes nothing')

    const bad = await call(app, session, 'badlevel')
    t.equal(responseOf(bad).result.content[0].text, 'FST_MCP_INVALID_LOG_LEVEL')
  })
})

t.test('removeTool', async (t) => {
  const app = await buildApp(t, {
    setup: (app) => {
      app.mcp.tool({ name: 'keep', description: 'd', inputSchema: NO_ARGS }, noop)
      app.mcp.tool({ name: 'gone', description: 'd', inputSchema: NO_ARGS }, noop)
    }
  })
  const session = await openSession(app)
  t.equal(app.mcp.removeTool('gone'), true)
  t.equal(app.mcp.removeTool('gone'), false, 'a second removal finds nothing')
  t.equal(app.mcp.removeTool('never-existed'), false)
  t.same((await listAll(app, session)).result.tools.map((x: any) => x.name), ['keep'])
  t.equal((await call(app, session, 'gone')).json().error?.code, -32602, 'calling it → unknown tool')
  t.doesNotThrow(() => app.mcp.tool({ name: 'gone', description: 're-added', inputSchema: NO_ARGS }, async () => 'back'), 'the name can be reused')
  t.equal((await call(app, session, 'gone')).json().result.content[0].text, 'back')
})

t.test('a tool added after ready() with no GET stream open', async (t) => {
  const app = await buildApp(t, { setup: (app) => { app.mcp.tool({ name: 'first', description: 'd', inputSchema: NO_ARGS }, noop) } })
  const session = await openSession(app)
  t.doesNotThrow(() => app.mcp.tool({ name: 'late', description: 'added late', inputSchema: NO_ARGS }, async () => 'late answer'))
  const tools = (await listAll(app, session)).result.tools
  t.same(tools.map((x: any) => x.name), ['first', 'late'])
  t.equal((await call(app, session, 'late')).json().result.content[0].text, 'late answer')
  t.equal((await post(app, rpc(3, 'ping'), session.headers)).statusCode, 200, 'the session still works')
})

t.test('a tool change is announced on open GET streams', async (t) => {
  const { app, url } = await serve(t, { setup: (app) => { app.mcp.tool({ name: 'first', description: 'd', inputSchema: NO_ARGS }, noop) } })
  const session = await openSessionHttp(url)
  const stream = await request(url, 'GET', streamHeaders(session))
  t.teardown(() => stream.destroy())
  t.equal(stream.status, 200)
  app.mcp.tool({ name: 'second', description: 'd', inputSchema: NO_ARGS }, noop)
  await stream.until((r) => r.messages().some((m) => m.method === 'notifications/tools/list_changed'), 3000)
  t.strictSame(stream.messages().filter((m) => m.method === 'notifications/tools/list_changed'), [{ jsonrpc: '2.0', method: 'notifications/tools/list_changed' }])
})

t.test('capabilities', async (t) => {
  t.test('no tools: no tools capability; logging always', async (t) => {
    const app = await buildApp(t)
    const res = await post(app, rpc(0, 'initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'c', version: '1' } }), { 'content-type': 'application/json', accept: 'application/json, text/event-stream' })
    t.strictSame(res.json().result.capabilities, { logging: {} })
  })

  t.test('with tools: tools {listChanged: true} and logging', async (t) => {
    const app = await buildApp(t, { setup: (app) => { app.mcp.tool({ name: 'x', description: 'd', inputSchema: NO_ARGS }, noop) } })
    const res = await post(app, rpc(0, 'initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'c', version: '1' } }), { 'content-type': 'application/json', accept: 'application/json, text/event-stream' })
    t.strictSame(res.json().result.capabilities, { logging: {}, tools: { listChanged: true } })
  })

  t.test('capabilities follow tools added or removed later', async (t) => {
    const app = await buildApp(t)
    app.mcp.tool({ name: 'x', description: 'd', inputSchema: NO_ARGS }, noop)
    const init = () => post(app, rpc(0, 'initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'c', version: '1' } }), { 'content-type': 'application/json', accept: 'application/json, text/event-stream' })
    t.strictSame((await init()).json().result.capabilities, { logging: {}, tools: { listChanged: true } })
    app.mcp.removeTool('x')
    t.strictSame((await init()).json().result.capabilities, { logging: {} })
  })
})
