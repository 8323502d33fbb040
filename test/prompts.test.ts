import type { FastifyInstance } from 'fastify'
import { Type } from '@sinclair/typebox'
import t from 'tap'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { McpError, type PromptMessage, type ToolContext } from '../lib/index.js'
import { buildApp, deferred, logCapture, notification, openSession, openSessionHttp, post, postHeaders, request, rpc, serve, streamHeaders, within, type Session, type Setup } from './helpers/index.js'

async function list (app: FastifyInstance, session: Session, cursor?: unknown, id: string | number = 1) {
  return (await post(app, rpc(id, 'prompts/list', cursor === undefined ? {} : { cursor }), session.headers)).json()
}

async function get (app: FastifyInstance, session: Session, name: unknown, args?: unknown, id: string | number = 1) {
  const params: Record<string, unknown> = { name }
  if (args !== undefined) params.arguments = args
  return (await post(app, rpc(id, 'prompts/get', params), session.headers)).json()
}

async function capabilities (app: FastifyInstance): Promise<Record<string, unknown>> {
  const res = await post(app, rpc(0, 'initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'c', version: '1' } }), postHeaders())
  return res.json().result.capabilities
}

const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=='
const hello = () => 'hello'

/** Registers a prompt per name, without arguments. */
const promptsNamed = (names: string[]): Setup => (app) => {
  for (const name of names) app.mcp.prompt({ name, description: name }, hello)
}

t.test('registration', async (t) => {
  t.test('invalid names → FST_MCP_INVALID_PROMPT; edge names are accepted', async (t) => {
    const app = await buildApp(t)
    for (const name of ['', 'a b', 'x'.repeat(129), 'héllo', 'a/b', 'p!']) {
      t.throws(() => app.mcp.prompt({ name, description: 'd' }, hello), { code: 'FST_MCP_INVALID_PROMPT' }, JSON.stringify(name.slice(0, 20)))
    }
    t.throws(() => app.mcp.prompt({ name: 7 as never, description: 'd' }, hello), { code: 'FST_MCP_INVALID_PROMPT' }, 'a non-string name')
    const session = await openSession(app)
    t.strictSame((await list(app, session)).result.prompts, [], 'none was registered')
    const names = ['a', 'A.b-c_d', 'n'.repeat(128), '0_9']
    for (const name of names) t.doesNotThrow(() => app.mcp.prompt({ name, description: 'd' }, hello), name.slice(0, 20))
    t.same((await list(app, session)).result.prompts.map((p: any) => p.name), [...names].sort())
  })

  t.test('a duplicate name → FST_MCP_DUPLICATE_PROMPT, and the first one stays', async (t) => {
    const app = await buildApp(t, { setup: (app) => { app.mcp.prompt({ name: 'dup', description: 'first' }, () => 'first') } })
    t.throws(() => app.mcp.prompt({ name: 'dup', description: 'second' }, () => 'second'), { code: 'FST_MCP_DUPLICATE_PROMPT', message: /"dup"/ })
    const session = await openSession(app)
    t.strictSame((await list(app, session)).result.prompts.map((p: any) => p.description), ['first'])
    t.equal((await get(app, session, 'dup')).result.messages[0].content.text, 'first')
  })

  t.test('a missing or empty description, a missing handler, a non-object definition', async (t) => {
    const app = await buildApp(t)
    t.throws(() => app.mcp.prompt({ name: 'nodesc' } as never, hello), { code: 'FST_MCP_INVALID_PROMPT', message: /description/ })
    t.throws(() => app.mcp.prompt({ name: 'empty', description: '' }, hello), { code: 'FST_MCP_INVALID_PROMPT', message: /description/ })
    t.throws(() => app.mcp.prompt({ name: 'nohandler', description: 'd' }, undefined as never), { code: 'FST_MCP_INVALID_PROMPT', message: /handler/ })
    t.throws(() => app.mcp.prompt(null as never, hello), { code: 'FST_MCP_INVALID_PROMPT' })
    t.equal(app.mcp.removePrompt('nodesc') || app.mcp.removePrompt('empty') || app.mcp.removePrompt('nohandler'), false, 'nothing was registered')
  })

  t.test('the arguments schema must be a TypeBox object of strings', async (t) => {
    const app = await buildApp(t)
    const bad: Array<[string, unknown, RegExp]> = [
      ['plain JSON Schema', { type: 'object', properties: { a: { type: 'string' } } }, /TypeBox object/],
      ['a TypeBox string', Type.String(), /TypeBox object/],
      ['a TypeBox record', Type.Record(Type.String(), Type.String()), /TypeBox object/],
      ['a number argument', Type.Object({ ok: Type.String(), n: Type.Number() }), /argument "n"/],
      ['an optional boolean argument', Type.Object({ b: Type.Optional(Type.Boolean()) }), /argument "b"/],
      ['a nested object argument', Type.Object({ o: Type.Object({ x: Type.String() }) }), /argument "o"/],
      ['a plain string property', Type.Object({ s: { type: 'string' } as never }), /argument "s"/]
    ]
    for (const [label, schema, message] of bad) {
      t.throws(() => app.mcp.prompt({ name: 'p', description: 'd', arguments: schema as never }, hello), { code: 'FST_MCP_INVALID_PROMPT', message }, label)
    }
    // @ts-expect-error a non-string argument is refused by the types too
    t.throws(() => app.mcp.prompt({ name: 'typed', description: 'd', arguments: Type.Object({ n: Type.Number() }) }, hello), { code: 'FST_MCP_INVALID_PROMPT' })
    t.equal(app.mcp.removePrompt('p'), false, 'nothing was registered')
    t.strictSame(await capabilities(app), { logging: {} }, 'no prompts capability')
  })

  t.test('complete callbacks must name declared arguments and be functions', async (t) => {
    const app = await buildApp(t)
    const args = Type.Object({ a: Type.String() })
    t.throws(() => app.mcp.prompt({ name: 'p', description: 'd', arguments: args, complete: { b: () => [] } as never }, hello),
      { code: 'FST_MCP_INVALID_PROMPT', message: /complete\.b/ }, 'an undeclared argument')
    t.throws(() => app.mcp.prompt({ name: 'p', description: 'd', arguments: args, complete: { a: 'x' as never } }, hello),
      { code: 'FST_MCP_INVALID_PROMPT', message: /complete\.a must be a function/ }, 'a non-function')
    t.throws(() => app.mcp.prompt({ name: 'p', description: 'd', arguments: args, complete: [] as never }, hello),
      { code: 'FST_MCP_INVALID_PROMPT', message: /complete/ }, 'an array')
    t.equal(app.mcp.removePrompt('p'), false)
  })
})

t.test('prompts/list', async (t) => {
  t.test('entries are derived from the definition and the arguments schema', async (t) => {
    const icons = [{ src: 'https://example.com/p.png', mimeType: 'image/png', sizes: ['48x48'] }]
    const _meta = { 'example.com/owner': 'team-a' }
    const app = await buildApp(t, {
      setup: (app) => {
        app.mcp.prompt({
          name: 'review',
          title: 'Code review',
          description: 'Review some code',
          arguments: Type.Object({
            code: Type.String({ description: 'The code to review', title: 'Code' }),
            language: Type.Optional(Type.String({ description: 'Its language' })),
            focus: Type.String(),
            style: Type.Optional(Type.String())
          }),
          icons,
          _meta
        }, ({ code }) => code)
        app.mcp.prompt({ name: 'bare', description: 'No arguments' }, hello)
      }
    })
    const session = await openSession(app)
    const { result } = await list(app, session)
    t.strictSame(result, {
      prompts: [
        { name: 'bare', description: 'No arguments', arguments: [] },
        {
          name: 'review',
          title: 'Code review',
          description: 'Review some code',
          arguments: [
            { name: 'code', title: 'Code', description: 'The code to review', required: true },
            { name: 'language', description: 'Its language', required: false },
            { name: 'focus', required: true },
            { name: 'style', required: false }
          ],
          icons,
          _meta
        }
      ]
    })
  })

  t.test('changing the definition after registration does not change what is published', async (t) => {
    const args = Type.Object({ a: Type.String() })
    const definition = { name: 'mut', description: 'before', arguments: args }
    const app = await buildApp(t, { setup: (app) => { app.mcp.prompt(definition, hello) } })
    definition.description = 'after'
    ;(args.properties as Record<string, unknown>).b = Type.String()
    const session = await openSession(app)
    const [prompt] = (await list(app, session)).result.prompts
    t.equal(prompt.description, 'before')
    t.strictSame(prompt.arguments, [{ name: 'a', required: true }])
  })

  t.test('pagination by name with pageSize 2, stable across changes', async (t) => {
    const app = await buildApp(t, { options: { pageSize: 2 }, setup: promptsNamed(['e', 'c', 'a', 'd', 'b']) })
    const session = await openSession(app)
    const p1 = (await list(app, session)).result
    t.same(p1.prompts.map((p: any) => p.name), ['a', 'b'])
    t.type(p1.nextCursor, 'string')
    const p2 = (await list(app, session, p1.nextCursor)).result
    t.same(p2.prompts.map((p: any) => p.name), ['c', 'd'])
    const p3 = (await list(app, session, p2.nextCursor)).result
    t.same(p3.prompts.map((p: any) => p.name), ['e'])
    t.notOk('nextCursor' in p3, 'the last page has no nextCursor')

    // Changes before the cursor neither duplicate nor skip what follows it.
    app.mcp.prompt({ name: '0', description: 'first by name' }, hello)
    t.equal(app.mcp.removePrompt('b'), true)
    const again = (await list(app, session, p1.nextCursor)).result
    t.same(again.prompts.map((p: any) => p.name), ['c', 'd'], 'continues right after "b"')
    const first = (await list(app, session)).result
    t.same(first.prompts.map((p: any) => p.name), ['0', 'a'])
  })

  t.test('an invalid cursor → -32602', async (t) => {
    const app = await buildApp(t, { options: { pageSize: 2 }, setup: promptsNamed(['a', 'b', 'c']) })
    const session = await openSession(app)
    for (const cursor of ['not a cursor!', Buffer.from('offset:2').toString('base64url'), '', 5]) {
      const body = await list(app, session, cursor, 9)
      t.equal(body.id, 9)
      t.equal(body.error?.code, -32602, `cursor ${JSON.stringify(cursor)}`)
      t.notOk(body.result)
    }
  })
})

t.test('prompts/get', async (t) => {
  const calls: Array<Record<string, unknown>> = []
  const blocks: PromptMessage[] = [
    { role: 'user', content: { type: 'text', text: 'hi', annotations: { audience: ['user'], priority: 0.5 } } },
    { role: 'assistant', content: { type: 'text', text: 'hello, how can I help?' } },
    { role: 'user', content: { type: 'image', data: PNG, mimeType: 'image/png' } },
    { role: 'user', content: { type: 'audio', data: 'UklGRg==', mimeType: 'audio/wav' } },
    { role: 'user', content: { type: 'resource', resource: { uri: 'file:///a.txt', mimeType: 'text/plain', text: 'A' } } },
    { role: 'user', content: { type: 'resource', resource: { uri: 'file:///b.bin', blob: 'AAEC' } } },
    { role: 'user', content: { type: 'resource_link', uri: 'file:///c.md', name: 'c.md' } }
  ]
  const { stream, records: lines } = logCapture()
  const app = await buildApp(t, {
    fastify: { logger: { level: 'info', stream } },
    setup: (app) => {
      app.mcp.prompt({ name: 'text', description: 'd' }, async () => 'plain text')
      app.mcp.prompt({ name: 'sync', description: 'd' }, () => 'sync text')
      app.mcp.prompt({ name: 'blocks', description: 'd' }, async () => [...blocks])
      app.mcp.prompt({ name: 'full', description: 'd' }, async () => ({ description: 'A full result', messages: [{ role: 'assistant', content: { type: 'text', text: 'x' } }], _meta: { k: 1 } }))
      app.mcp.prompt({
        name: 'args',
        description: 'd',
        arguments: Type.Object({ arg1: Type.String(), arg2: Type.String(), extra: Type.Optional(Type.String()) })
      }, ({ arg1, arg2, extra }) => {
        calls.push({ arg1, arg2, extra })
        return `Prompt with arguments: arg1='${arg1}', arg2='${arg2}'${extra === undefined ? '' : `, extra='${extra}'`}`
      })
      app.mcp.prompt({
        name: 'embedded',
        description: 'd',
        arguments: Type.Object({ resourceUri: Type.String({ description: 'URI of the resource to embed' }) })
      }, ({ resourceUri }) => [
        { role: 'user', content: { type: 'resource', resource: { uri: resourceUri, mimeType: 'text/plain', text: 'Embedded resource content for testing.' } } },
        { role: 'user', content: { type: 'text', text: 'Please process the embedded resource above.' } }
      ])
      app.mcp.prompt({ name: 'image', description: 'd' }, () => [
        { role: 'user', content: { type: 'image', data: PNG, mimeType: 'image/png' } },
        { role: 'user', content: { type: 'text', text: 'Please analyze the image above.' } }
      ])
      app.mcp.prompt({ name: 'strict', description: 'd', arguments: Type.Object({ code: Type.String({ pattern: '^[A-Z]{3}$' }) }) }, ({ code }) => {
        calls.push({ code })
        return code
      })
      app.mcp.prompt({ name: 'closed', description: 'd', arguments: Type.Object({ a: Type.Optional(Type.String()) }, { additionalProperties: false }) }, () => 'closed')
      app.mcp.prompt({ name: 'throws', description: 'd' }, async () => { throw new Error('secret database password in message') })
      app.mcp.prompt({ name: 'throws-sync', description: 'd' }, () => { throw new Error('sync failure') })
      app.mcp.prompt({ name: 'mcperror', description: 'd' }, async () => { throw new McpError(-32602, 'Unknown city: Atlantis', { city: 'Atlantis' }) })
      app.mcp.prompt({ name: 'number', description: 'd' }, async () => 42 as never)
      app.mcp.prompt({ name: 'nullish', description: 'd' }, async () => null as never)
      app.mcp.prompt({ name: 'badrole', description: 'd' }, () => [{ role: 'system', content: { type: 'text', text: 'x' } }] as never)
      app.mcp.prompt({ name: 'badblock', description: 'd' }, () => [{ role: 'user', content: { type: 'video', url: 'x' } }] as never)
      app.mcp.prompt({ name: 'badimage', description: 'd' }, () => [{ role: 'user', content: { type: 'image', data: PNG } }] as never)
      app.mcp.prompt({ name: 'nomessages', description: 'd' }, () => ({ description: 'x' }) as never)
      app.mcp.prompt({ name: 'baredblock', description: 'd' }, () => [{ type: 'text', text: 'a content block, not a message' }] as never)
    }
  })
  const session = await openSession(app)

  t.test('a string → one user text message', async (t) => {
    t.strictSame(await get(app, session, 'text'), { jsonrpc: '2.0', id: 1, result: { messages: [{ role: 'user', content: { type: 'text', text: 'plain text' } }] } })
    t.strictSame((await get(app, session, 'sync')).result, { messages: [{ role: 'user', content: { type: 'text', text: 'sync text' } }] }, 'a sync handler too')
  })

  t.test('an array of messages is passed through: every content type, both roles', async (t) => {
    t.strictSame((await get(app, session, 'blocks')).result, { messages: blocks })
  })

  t.test('a full GetPromptResult is passed through', async (t) => {
    t.strictSame((await get(app, session, 'full')).result, { description: 'A full result', messages: [{ role: 'assistant', content: { type: 'text', text: 'x' } }], _meta: { k: 1 } })
  })

  t.test('embedded resource and image messages', async (t) => {
    const embedded = (await get(app, session, 'embedded', { resourceUri: 'test://example-resource' })).result
    t.strictSame(embedded.messages[0], { role: 'user', content: { type: 'resource', resource: { uri: 'test://example-resource', mimeType: 'text/plain', text: 'Embedded resource content for testing.' } } })
    t.equal(embedded.messages.length, 2)
    const image = (await get(app, session, 'image')).result
    t.strictSame(image.messages[0], { role: 'user', content: { type: 'image', data: PNG, mimeType: 'image/png' } })
  })

  t.test('arguments reach the handler; optional ones may be left out', async (t) => {
    calls.length = 0
    const two = (await get(app, session, 'args', { arg1: 'testValue1', arg2: 'testValue2' })).result
    t.strictSame(two.messages, [{ role: 'user', content: { type: 'text', text: "Prompt with arguments: arg1='testValue1', arg2='testValue2'" } }])
    const three = (await get(app, session, 'args', { arg1: 'a', arg2: '', extra: 'e' })).result
    t.equal(three.messages[0].content.text, "Prompt with arguments: arg1='a', arg2='', extra='e'", 'an empty string is a value')
    t.strictSame(calls, [{ arg1: 'testValue1', arg2: 'testValue2', extra: undefined }, { arg1: 'a', arg2: '', extra: 'e' }])
    t.strictSame((await get(app, session, 'closed')).result.messages[0].content.text, 'closed', 'no arguments field at all is fine when none is required')
  })

  t.test('an unknown or missing prompt name → -32602', async (t) => {
    const unknown = await get(app, session, 'nope', undefined, 'u1')
    t.equal(unknown.id, 'u1')
    t.equal(unknown.error?.code, -32602)
    t.match(unknown.error?.message, /nope/)
    t.notOk(unknown.result)
    const missing = (await post(app, rpc(2, 'prompts/get', {}), session.headers)).json()
    t.equal(missing.error?.code, -32602, 'no name')
    t.equal((await get(app, session, 42)).error?.code, -32602, 'a non-string name')
  })

  t.test('bad arguments → -32602 naming the argument; the handler does not run', async (t) => {
    calls.length = 0
    const missing = await get(app, session, 'args', { arg1: 'x' }, 'm1')
    t.equal(missing.error?.code, -32602)
    t.match(missing.error?.message, /missing required argument "arg2"/)
    t.strictSame(missing.error?.data, { argument: 'arg2' })
    const none = await get(app, session, 'args')
    t.equal(none.error?.code, -32602, 'no arguments at all')
    t.match(none.error?.message, /"arg1"/)
    const number = await get(app, session, 'args', { arg1: 'x', arg2: 2 })
    t.equal(number.error?.code, -32602)
    t.match(number.error?.message, /argument "arg2" .*must be a string/)
    const nullish = await get(app, session, 'args', { arg1: null, arg2: 'y' })
    t.match(nullish.error?.message, /argument "arg1" .*must be a string/)
    const undeclared = await get(app, session, 'args', { arg1: 'x', arg2: 'y', other: {} })
    t.match(undeclared.error?.message, /argument "other" .*must be a string/, 'undeclared values must be strings too')
    t.equal((await get(app, session, 'args', ['x', 'y'])).error?.code, -32602, 'arguments as an array')
    t.equal((await get(app, session, 'args', 'x')).error?.code, -32602, 'arguments as a string')
    const pattern = await get(app, session, 'strict', { code: 'abc' })
    t.equal(pattern.error?.code, -32602, 'string constraints of the schema are enforced')
    t.match(pattern.error?.message, /\/code/)
    const extra = await get(app, session, 'closed', { b: 'x' })
    t.equal(extra.error?.code, -32602, 'additionalProperties: false is enforced')
    t.strictSame(calls, [], 'the handler never ran')
    t.equal((await get(app, session, 'strict', { code: 'ABC' })).result.messages[0].content.text, 'ABC', 'a valid value passes')
  })

  t.test('a throwing handler → -32603, logged, its message not sent', async (t) => {
    for (const name of ['throws', 'throws-sync']) {
      const body = await get(app, session, name, undefined, name)
      t.equal(body.id, name)
      t.equal(body.error?.code, -32603, name)
      t.notOk(body.result)
      t.notMatch(body.error?.message, /secret|sync failure/)
    }
    const logged = lines.filter((l) => l.msg === 'mcp: prompt handler failed')
    t.strictSame(logged.map((l) => [l.prompt, l.err?.message]), [['throws', 'secret database password in message'], ['throws-sync', 'sync failure']])
    t.ok(logged.every((l) => l.level === 50), 'at error level')
  })

  t.test('McpError thrown by a handler → that JSON-RPC error', async (t) => {
    t.strictSame(await get(app, session, 'mcperror', undefined, 'e1'), { jsonrpc: '2.0', id: 'e1', error: { code: -32602, message: 'Unknown city: Atlantis', data: { city: 'Atlantis' } } })
  })

  t.test('an invalid returned value → -32603', async (t) => {
    for (const name of ['number', 'nullish', 'badrole', 'badblock', 'badimage', 'nomessages', 'baredblock']) {
      const body = await get(app, session, name, undefined, name)
      t.equal(body.id, name)
      t.equal(body.error?.code, -32603, `${name} → -32603`)
      t.match(body.error?.message, new RegExp(`"${name}" returned an invalid result`))
      t.notOk(body.result)
    }
    t.equal((await get(app, session, 'text')).result.messages.length, 1, 'the server still answers')
  })
})

t.test('prompts/get handler context and cancellation', async (t) => {
  const seen: Array<Record<string, unknown>> = []
  const started = deferred()
  const aborted = deferred<unknown>()
  const app = await buildApp(t, {
    setup: (app) => {
      app.mcp.prompt({ name: 'ctx', description: 'd' }, (_args, ctx: ToolContext) => {
        seen.push({ requestId: ctx.requestId, sessionId: ctx.sessionId, protocolVersion: ctx.protocolVersion, meta: ctx.meta })
        return 'ok'
      })
      app.mcp.prompt({ name: 'slow', description: 'd' }, async (_args, ctx) => {
        started.resolve()
        await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }))
        aborted.resolve(ctx.signal.reason)
        return 'too late'
      })
    }
  })
  const session = await openSession(app, '2025-06-18')
  await post(app, rpc('r-1', 'prompts/get', { name: 'ctx', _meta: { custom: 'x' } }), session.headers)
  t.strictSame(seen, [{ requestId: 'r-1', sessionId: session.id, protocolVersion: '2025-06-18', meta: { custom: 'x' } }])

  const pending = post(app, rpc(77, 'prompts/get', { name: 'slow' }), session.headers)
  await within(started.promise, 'the slow prompt to start')
  const duplicate = (await post(app, rpc(77, 'prompts/get', { name: 'ctx' }), session.headers)).json()
  t.equal(duplicate.error?.code, -32600, 'prompts/get is tracked in flight (duplicate id refused)')
  const cancel = await post(app, notification('notifications/cancelled', { requestId: 77, reason: 'user gave up' }), session.headers)
  t.equal(cancel.statusCode, 202)
  await within(aborted.promise, 'the abort signal')
  t.pass('notifications/cancelled aborts ctx.signal')
  const res = await pending
  t.notMatch(res.payload, /too late/, 'no answer is sent for a cancelled request')
})

t.test('removePrompt', async (t) => {
  const app = await buildApp(t, {
    setup: (app) => {
      app.mcp.prompt({ name: 'keep', description: 'd' }, hello)
      app.mcp.prompt({ name: 'gone', description: 'd' }, hello)
    }
  })
  const session = await openSession(app)
  t.equal(app.mcp.removePrompt('gone'), true)
  t.equal(app.mcp.removePrompt('gone'), false, 'a second removal finds nothing')
  t.equal(app.mcp.removePrompt('never-existed'), false)
  t.same((await list(app, session)).result.prompts.map((p: any) => p.name), ['keep'])
  t.equal((await get(app, session, 'gone')).error?.code, -32602, 'getting it → unknown prompt')
  app.mcp.prompt({ name: 'gone', description: 're-added' }, () => 'back')
  t.equal((await get(app, session, 'gone')).result.messages[0].content.text, 'back', 'the name can be reused')
})

t.test('capabilities', async (t) => {
  t.test('no prompts: no prompts capability, and the methods still answer', async (t) => {
    const app = await buildApp(t)
    t.strictSame(await capabilities(app), { logging: {} })
    const session = await openSession(app)
    t.strictSame((await list(app, session)).result, { prompts: [] })
    t.equal((await get(app, session, 'x')).error?.code, -32602)
  })

  t.test('prompts {listChanged: true} follows prompts added and removed; no completions without callbacks', async (t) => {
    const app = await buildApp(t, { setup: (app) => { app.mcp.prompt({ name: 'p', description: 'd', arguments: Type.Object({ a: Type.String() }) }, hello) } })
    t.strictSame(await capabilities(app), { logging: {}, prompts: { listChanged: true } })
    app.mcp.prompt({ name: 'q', description: 'd' }, hello)
    app.mcp.removePrompt('p')
    t.strictSame(await capabilities(app), { logging: {}, prompts: { listChanged: true } }, 'one is left')
    app.mcp.removePrompt('q')
    t.strictSame(await capabilities(app), { logging: {} }, 'none left')
    app.mcp.prompt({ name: 'late', description: 'd' }, hello)
    t.strictSame(await capabilities(app), { logging: {}, prompts: { listChanged: true } }, 'added after ready')
  })
})

t.test('notifications/prompts/list_changed on open GET streams', async (t) => {
  const { app, url } = await serve(t, { setup: (app) => { app.mcp.tool({ name: 'tool', description: 'd', inputSchema: Type.Object({}) }, async () => 'ok') } })
  // Opened while no prompt exists: it was not promised prompts.listChanged.
  const before = await openSessionHttp(url)
  app.mcp.prompt({ name: 'first', description: 'd' }, hello)
  const after = await openSessionHttp(url)
  const streamBefore = await request(url, 'GET', streamHeaders(before))
  const streamAfter = await request(url, 'GET', streamHeaders(after))
  t.teardown(() => { streamBefore.destroy(); streamAfter.destroy() })
  t.equal(streamBefore.status, 200)
  t.equal(streamAfter.status, 200)

  const promptsChanged = (messages: any[]) => messages.filter((m) => m.method === 'notifications/prompts/list_changed')
  app.mcp.prompt({ name: 'second', description: 'd' }, hello)
  await streamAfter.until((r) => promptsChanged(r.messages()).length === 1)
  t.strictSame(promptsChanged(streamAfter.messages()), [{ jsonrpc: '2.0', method: 'notifications/prompts/list_changed' }], 'an addition is announced')
  t.equal(app.mcp.removePrompt('second'), true)
  await streamAfter.until((r) => promptsChanged(r.messages()).length === 2)
  t.pass('a removal is announced')
  t.equal(app.mcp.removePrompt('second'), false)

  // A later tools/list_changed reaches both streams; by then the first one would have got
  // the prompts notifications sent before it, had it been (wrongly) sent any.
  app.mcp.tool({ name: 'tool2', description: 'd', inputSchema: Type.Object({}) }, async () => 'ok')
  await streamBefore.until((r) => r.messages().some((m) => m.method === 'notifications/tools/list_changed'))
  await streamAfter.until((r) => r.messages().some((m) => m.method === 'notifications/tools/list_changed'))
  t.strictSame(promptsChanged(streamBefore.messages()), [], 'not sent to a session that was not promised prompts.listChanged')
  t.equal(promptsChanged(streamAfter.messages()).length, 2, 'exactly one per change; a failed removal sends nothing')
})

t.test('SDK client interop: listPrompts, getPrompt, complete', async (t) => {
  const { url } = await serve(t, {
    setup: (app) => {
      app.mcp.prompt({ name: 'test_simple_prompt', description: 'A simple prompt without arguments' }, () => 'This is a simple prompt for testing.')
      app.mcp.prompt({
        name: 'test_prompt_with_arguments',
        description: 'A prompt with two required arguments',
        arguments: Type.Object({ arg1: Type.String({ description: 'First argument' }), arg2: Type.String({ description: 'Second argument' }) }),
        complete: {
          arg1: (value, { arguments: filled }) => ['testValue1', 'testing', 'other', `with-arg2=${filled.arg2 ?? ''}`].filter((v) => v.startsWith(value))
        }
      }, ({ arg1, arg2 }) => [{ role: 'user', content: { type: 'text', text: `Prompt with arguments: arg1='${arg1}', arg2='${arg2}'` } }])
      app.mcp.prompt({
        name: 'test_prompt_with_image',
        description: 'A prompt with an image',
        arguments: Type.Object({ detail: Type.Optional(Type.String()) })
      }, () => [
        { role: 'user', content: { type: 'image', data: PNG, mimeType: 'image/png' } },
        { role: 'user', content: { type: 'text', text: 'Please analyze the image above.' } }
      ])
    }
  })
  const client = new Client({ name: 'sdk-prompts-test', version: '1.0.0' })
  // Registered after serve's teardown, so it runs first.
  t.teardown(() => client.close().catch(() => {}))
  await client.connect(new StreamableHTTPClientTransport(url))

  t.strictSame(client.getServerCapabilities(), { logging: {}, prompts: { listChanged: true }, completions: {} })
  const { prompts } = await client.listPrompts()
  t.strictSame(prompts.map((p) => p.name), ['test_prompt_with_arguments', 'test_prompt_with_image', 'test_simple_prompt'])
  t.strictSame(prompts[0]!.arguments, [{ name: 'arg1', description: 'First argument', required: true }, { name: 'arg2', description: 'Second argument', required: true }])
  t.strictSame(prompts[1]!.arguments, [{ name: 'detail', required: false }])
  t.ok(prompts.every((p) => typeof p.description === 'string' && p.description !== ''), 'every prompt has a non-empty description')

  const simple = await client.getPrompt({ name: 'test_simple_prompt' })
  t.strictSame(simple.messages, [{ role: 'user', content: { type: 'text', text: 'This is a simple prompt for testing.' } }])
  const withArgs = await client.getPrompt({ name: 'test_prompt_with_arguments', arguments: { arg1: 'testValue1', arg2: 'testValue2' } })
  t.match(JSON.stringify(withArgs.messages), /testValue1.*testValue2/)
  const image = await client.getPrompt({ name: 'test_prompt_with_image' })
  t.match(image.messages[0], { role: 'user', content: { type: 'image', data: PNG, mimeType: 'image/png' } })
  await t.rejects(client.getPrompt({ name: 'test_prompt_with_arguments', arguments: { arg1: 'only one' } }), { code: -32602, message: /arg2/ })
  await t.rejects(client.getPrompt({ name: 'no_such_prompt' }), { code: -32602 })

  const completed = await client.complete({ ref: { type: 'ref/prompt', name: 'test_prompt_with_arguments' }, argument: { name: 'arg1', value: 'test' } })
  t.strictSame(completed.completion, { values: ['testValue1', 'testing'] })
  const withContext = await client.complete({
    ref: { type: 'ref/prompt', name: 'test_prompt_with_arguments' },
    argument: { name: 'arg1', value: 'with' },
    context: { arguments: { arg2: 'B' } }
  })
  t.strictSame(withContext.completion.values, ['with-arg2=B'], 'context.arguments reaches the callback')
  await t.rejects(client.complete({ ref: { type: 'ref/prompt', name: 'no_such_prompt' }, argument: { name: 'a', value: '' } }), { code: -32602 })
})
