import type { FastifyInstance } from 'fastify'
import { Type } from '@sinclair/typebox'
import t, { type Test } from 'tap'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { ResourceUpdatedNotificationSchema, type ResourceUpdatedNotification } from '@modelcontextprotocol/sdk/types.js'
import { McpError, MemorySessionStore, type ToolContext } from '../lib/index.js'
import { MAX_SUBSCRIPTIONS, MAX_SUBSCRIPTION_URI_LENGTH } from '../lib/legacy/session-methods.js'
import { UriTemplate } from '../lib/core/features/uri-template.js'
import {
  buildApp, deferred, initializeParams, listen, logCapture, openSession, openSessionHttp, post, postHeaders, request,
  rpc, serve, sseMessages, streamHeaders, within, type Session, type Setup, type StreamReader
} from './helpers/index.js'

const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=='

/** The conformance fixture: two fixed resources, a template and a watched resource. */
const fixture: Setup = (app) => {
  app.mcp.resource({ uri: 'test://static-text', name: 'static-text', mimeType: 'text/plain' },
    () => 'This is the content of the static text resource.')
  app.mcp.resource({ uri: 'test://static-binary', name: 'static-binary', mimeType: 'image/png' },
    () => ({ blob: PNG }))
  app.mcp.resourceTemplate({ uriTemplate: 'test://template/{id}/data', name: 'template', mimeType: 'application/json' },
    (_uri, { id }) => JSON.stringify({ id, templateTest: true, data: `Data for ID: ${id}` }))
  app.mcp.resource({ uri: 'test://watched-resource', name: 'watched-resource', mimeType: 'text/plain' },
    () => 'Watched resource content')
}

/** The JSON-RPC response of a POST, whether it came as JSON or as an SSE stream. */
function responseOf (res: { headers: Record<string, unknown>, payload: string }): any {
  if (String(res.headers['content-type']).startsWith('text/event-stream')) {
    return sseMessages(res.payload).find((m) => 'result' in m || 'error' in m)
  }
  return JSON.parse(res.payload)
}

async function send (app: FastifyInstance, session: Session, method: string, params?: Record<string, unknown>, id: string | number = 1): Promise<any> {
  return responseOf(await post(app, rpc(id, method, params), session.headers))
}

const read = (app: FastifyInstance, session: Session, uri: unknown) => send(app, session, 'resources/read', { uri })

function initialize (app: FastifyInstance, capabilities: Record<string, unknown> = {}) {
  return post(app, rpc(0, 'initialize', initializeParams('2025-11-25', capabilities)), postHeaders())
}

async function subscriptions (app: FastifyInstance, session: Session): Promise<string[] | undefined> {
  return (await app.mcp.sessions.get(session.id))?.subscriptions
}

const text = (value: string) => () => value

// ---- registration ------------------------------------------------------------------------

t.test('registration', async (t) => {
  t.test('invalid resources → FST_MCP_INVALID_RESOURCE, nothing registered', async (t) => {
    const app = await buildApp(t)
    const bad: Array<[string, unknown]> = [
      ['no scheme', { uri: 'static-text', name: 'a' }],
      ['whitespace', { uri: 'test://a b', name: 'a' }],
      ['scheme starting with a digit', { uri: '1test://a', name: 'a' }],
      ['non-string uri', { uri: 42, name: 'a' }],
      ['no name', { uri: 'test://a' }],
      ['empty name', { uri: 'test://a', name: '' }],
      ['negative size', { uri: 'test://a', name: 'a', size: -1 }],
      ['bad annotations', { uri: 'test://a', name: 'a', annotations: { priority: 2 } }],
      ['bad icons', { uri: 'test://a', name: 'a', icons: [{}] }],
      ['non-string mimeType', { uri: 'test://a', name: 'a', mimeType: 5 }],
      ['null definition', null]
    ]
    for (const [label, definition] of bad) {
      t.throws(() => app.mcp.resource(definition as never, text('x')), { code: 'FST_MCP_INVALID_RESOURCE' }, label)
    }
    t.throws(() => app.mcp.resource({ uri: 'test://a', name: 'a' }, undefined as never), { code: 'FST_MCP_INVALID_RESOURCE' }, 'no read callback')
    const session = await openSession(app)
    t.strictSame((await send(app, session, 'resources/list')).result, { resources: [] }, 'none of them was registered')
  })

  t.test('malformed templates → FST_MCP_INVALID_RESOURCE', async (t) => {
    const app = await buildApp(t)
    const bad = [
      '', 'test://{', 'test://}', 'test://{id', 'test://id}', 'test://{}', 'test://{a}{b}', 'test://{+a}', 'test://{#a}',
      'test://{/a}', 'test://{?a}', 'test://{a,b}', 'test://{a:3}', 'test://{a*}', 'test://{a-b}', 'test://{a}/{a}',
      'test://x y/{a}', 'test://{{a}}', 'test://%zz/{a}', 'test://<{a}>'
    ]
    for (const uriTemplate of bad) {
      t.throws(() => app.mcp.resourceTemplate({ uriTemplate, name: 'n' }, text('x')), { code: 'FST_MCP_INVALID_RESOURCE' }, JSON.stringify(uriTemplate))
    }
    t.throws(() => app.mcp.resourceTemplate({ uriTemplate: 42 as never, name: 'n' }, text('x')), { code: 'FST_MCP_INVALID_RESOURCE' }, 'non-string')
    t.throws(() => app.mcp.resourceTemplate({ uriTemplate: 'test://{a}', name: '' }, text('x')), { code: 'FST_MCP_INVALID_RESOURCE' }, 'empty name')
    t.throws(() => app.mcp.resourceTemplate({ uriTemplate: 'test://{a}', name: 'n' }, 'nope' as never), { code: 'FST_MCP_INVALID_RESOURCE' }, 'no read callback')
    const session = await openSession(app)
    t.strictSame((await send(app, session, 'resources/templates/list')).result, { resourceTemplates: [] })
  })

  t.test('well-formed level-1 templates are accepted', async (t) => {
    const app = await buildApp(t)
    for (const uriTemplate of ['test://{a}', 'test://{a.b}/{c_d}', 'test://x/{a}-{b}.json', 'test://{%41}', 'test://fixed']) {
      t.doesNotThrow(() => app.mcp.resourceTemplate({ uriTemplate, name: uriTemplate }, text('x')), uriTemplate)
    }
  })

  t.test('variables must be a TypeBox object over template variables; completers must name variables', async (t) => {
    const app = await buildApp(t)
    const def = { uriTemplate: 'test://{id}', name: 'n' }
    t.throws(() => app.mcp.resourceTemplate({ ...def, variables: { type: 'object', properties: {} } as never }, text('x')),
      { code: 'FST_MCP_INVALID_RESOURCE' }, 'plain JSON Schema')
    t.throws(() => app.mcp.resourceTemplate({ ...def, variables: Type.String() as never }, text('x')),
      { code: 'FST_MCP_INVALID_RESOURCE' }, 'non-object schema')
    t.throws(() => app.mcp.resourceTemplate({ ...def, variables: Type.Object({ other: Type.String() }) }, text('x')),
      { code: 'FST_MCP_INVALID_RESOURCE', message: /other/ }, 'requires a non-variable')
    t.throws(() => app.mcp.resourceTemplate({ ...def, complete: { nope: () => [] } }, text('x')),
      { code: 'FST_MCP_INVALID_RESOURCE', message: /nope/ }, 'completer for a non-variable')
    t.throws(() => app.mcp.resourceTemplate({ ...def, complete: { id: 'x' as never } }, text('x')),
      { code: 'FST_MCP_INVALID_RESOURCE' }, 'completer not a function')
    t.equal(app.mcp.removeResourceTemplate('test://{id}'), false, 'nothing was registered')
  })

  t.test('duplicates → FST_MCP_DUPLICATE_RESOURCE, and the first one stays', async (t) => {
    const app = await buildApp(t, {
      setup: (app) => {
        app.mcp.resource({ uri: 'test://one', name: 'one' }, text('first'))
        app.mcp.resourceTemplate({ uriTemplate: 'test://t/{x}', name: 'tmpl' }, text('first template'))
      }
    })
    t.throws(() => app.mcp.resource({ uri: 'test://one', name: 'other' }, text('second')), { code: 'FST_MCP_DUPLICATE_RESOURCE', message: /uri/ })
    t.throws(() => app.mcp.resourceTemplate({ uriTemplate: 'test://t/{x}', name: 'other' }, text('x')), { code: 'FST_MCP_DUPLICATE_RESOURCE', message: /uriTemplate/ })
    // Names are display labels, not identifiers: they may repeat (the spec keys resources by URI).
    t.doesNotThrow(() => app.mcp.resource({ uri: 'test://two', name: 'one' }, text('same name')))
    t.doesNotThrow(() => app.mcp.resourceTemplate({ uriTemplate: 'test://u/{x}', name: 'tmpl' }, text('same name')))
    const session = await openSession(app)
    t.strictSame((await send(app, session, 'resources/list')).result.resources, [{ uri: 'test://one', name: 'one' }, { uri: 'test://two', name: 'one' }])
    t.strictSame((await send(app, session, 'resources/templates/list')).result.resourceTemplates, [{ uriTemplate: 'test://t/{x}', name: 'tmpl' }, { uriTemplate: 'test://u/{x}', name: 'tmpl' }])
    t.equal((await read(app, session, 'test://one')).result.contents[0].text, 'first', 'the first registration of a URI stays')
    t.equal(app.mcp.removeResource('test://one'), true)
    t.doesNotThrow(() => app.mcp.resource({ uri: 'test://one', name: 'again' }, text('x')), 'a removed URI can be reused')
  })
})

// ---- lists -------------------------------------------------------------------------------

t.test('resources/list', async (t) => {
  t.test('publishes every field as given, sorted by uri', async (t) => {
    const icons = [{ src: 'https://example.com/i.png', mimeType: 'image/png', sizes: ['48x48'] }]
    const annotations = { audience: ['user' as const], priority: 0.5, lastModified: '2025-01-01T00:00:00Z' }
    const app = await buildApp(t, {
      setup: (app) => {
        app.mcp.resource({ uri: 'test://z', name: 'z' }, text('z'))
        app.mcp.resource({
          uri: 'test://a', name: 'a', title: 'A', description: 'The A', mimeType: 'text/markdown', size: 12, icons, annotations, _meta: { 'x.y/k': 1 }
        }, text('a'))
        app.mcp.resourceTemplate({ uriTemplate: 'test://t/{x}', name: 'not-a-resource' }, text('t'))
      }
    })
    const session = await openSession(app)
    t.strictSame((await send(app, session, 'resources/list')).result, {
      resources: [
        { uri: 'test://a', name: 'a', title: 'A', description: 'The A', mimeType: 'text/markdown', size: 12, icons, annotations, _meta: { 'x.y/k': 1 } },
        { uri: 'test://z', name: 'z' }
      ]
    }, 'templates are not listed, no nextCursor on the last page')
  })

  t.test('pagination: pageSize pages, stable cursors, invalid cursor → -32602', async (t) => {
    const uris = ['test://e', 'test://a', 'test://d', 'test://b', 'test://c']
    const app = await buildApp(t, {
      options: { pageSize: 2 },
      setup: (app) => {
        for (const uri of uris) app.mcp.resource({ uri, name: uri }, text(uri))
      }
    })
    const session = await openSession(app)
    const seen: string[] = []
    let cursor: string | undefined
    let pages = 0
    do {
      const result = (await send(app, session, 'resources/list', cursor === undefined ? {} : { cursor })).result
      t.ok(result.resources.length <= 2, 'at most pageSize per page')
      seen.push(...result.resources.map((r: any) => r.uri))
      cursor = result.nextCursor
      pages++
    } while (cursor !== undefined && pages < 10)
    t.strictSame(seen, [...uris].sort(), 'every resource once, in uri order')
    t.equal(pages, 3)

    const first = (await send(app, session, 'resources/list')).result
    app.mcp.resource({ uri: 'test://0', name: 'before-all' }, text('x')) // sorts before the cursor
    const second = (await send(app, session, 'resources/list', { cursor: first.nextCursor })).result
    t.strictSame(second.resources.map((r: any) => r.uri), ['test://c', 'test://d'], 'a cursor names a position, not an offset')

    for (const bad of ['garbage', '', Buffer.from('nope').toString('base64url')]) {
      const res = await send(app, session, 'resources/list', { cursor: bad })
      t.equal(res.error?.code, -32602, `cursor ${JSON.stringify(bad)}`)
    }
    t.equal((await send(app, session, 'resources/list', { cursor: 5 })).error?.code, -32602, 'non-string cursor')
  })
})

t.test('resources/templates/list', async (t) => {
  t.test('publishes every field, sorted by uriTemplate; pagination and bad cursor', async (t) => {
    const app = await buildApp(t, {
      options: { pageSize: 2 },
      setup: (app) => {
        app.mcp.resourceTemplate({ uriTemplate: 'test://c/{x}', name: 'c', title: 'C', description: 'd', mimeType: 'text/plain', annotations: { priority: 1 }, _meta: { m: true } }, text('c'))
        app.mcp.resourceTemplate({ uriTemplate: 'test://a/{x}', name: 'a', variables: Type.Object({ x: Type.String() }), complete: { x: () => [] } }, text('a'))
        app.mcp.resourceTemplate({ uriTemplate: 'test://b/{x}', name: 'b' }, text('b'))
        app.mcp.resource({ uri: 'test://fixed', name: 'fixed' }, text('f'))
      }
    })
    const session = await openSession(app)
    const page1 = (await send(app, session, 'resources/templates/list')).result
    t.strictSame(page1.resourceTemplates, [
      { uriTemplate: 'test://a/{x}', name: 'a' },
      { uriTemplate: 'test://b/{x}', name: 'b' }
    ], 'variables and complete are not published')
    t.type(page1.nextCursor, 'string')
    const page2 = (await send(app, session, 'resources/templates/list', { cursor: page1.nextCursor })).result
    t.strictSame(page2, { resourceTemplates: [{ uriTemplate: 'test://c/{x}', name: 'c', title: 'C', description: 'd', mimeType: 'text/plain', annotations: { priority: 1 }, _meta: { m: true } }] })
    t.equal((await send(app, session, 'resources/templates/list', { cursor: 'not-a-cursor' })).error?.code, -32602)
  })
})

// ---- read --------------------------------------------------------------------------------

t.test('resources/read', async (t) => {
  t.test('the conformance fixture: text, blob and template', async (t) => {
    const app = await buildApp(t, { setup: fixture })
    const session = await openSession(app)
    t.strictSame((await read(app, session, 'test://static-text')).result, {
      contents: [{ uri: 'test://static-text', mimeType: 'text/plain', text: 'This is the content of the static text resource.' }]
    })
    t.strictSame((await read(app, session, 'test://static-binary')).result, {
      contents: [{ uri: 'test://static-binary', mimeType: 'image/png', blob: PNG }]
    })
    const templated = (await read(app, session, 'test://template/123/data')).result
    t.strictSame(templated, {
      contents: [{ uri: 'test://template/123/data', mimeType: 'application/json', text: '{"id":"123","templateTest":true,"data":"Data for ID: 123"}' }]
    })
  })

  t.test('every return shape is normalised; mimeType from the result overrides the definition', async (t) => {
    const app = await buildApp(t, {
      setup: (app) => {
        app.mcp.resource({ uri: 'test://string-no-mime', name: 'a' }, text('plain'))
        app.mcp.resource({ uri: 'test://text-obj', name: 'b', mimeType: 'text/plain' }, () => ({ text: '# md', mimeType: 'text/markdown' }))
        app.mcp.resource({ uri: 'test://text-default', name: 'c', mimeType: 'text/csv' }, async () => ({ text: 'a,b' }))
        app.mcp.resource({ uri: 'test://blob-obj', name: 'd' }, () => ({ blob: 'AAEC', mimeType: 'application/octet-stream', _meta: { k: 1 } }))
        app.mcp.resource({ uri: 'test://full', name: 'e', mimeType: 'ignored/here' }, () => ({
          contents: [
            { uri: 'test://full#part1', text: 'one' },
            { uri: 'test://full#part2', mimeType: 'image/png', blob: PNG }
          ],
          _meta: { whole: true }
        }))
      }
    })
    const session = await openSession(app)
    t.strictSame((await read(app, session, 'test://string-no-mime')).result, { contents: [{ uri: 'test://string-no-mime', text: 'plain' }] })
    t.strictSame((await read(app, session, 'test://text-obj')).result, { contents: [{ uri: 'test://text-obj', mimeType: 'text/markdown', text: '# md' }] })
    t.strictSame((await read(app, session, 'test://text-default')).result, { contents: [{ uri: 'test://text-default', mimeType: 'text/csv', text: 'a,b' }] })
    t.strictSame((await read(app, session, 'test://blob-obj')).result, { contents: [{ uri: 'test://blob-obj', mimeType: 'application/octet-stream', blob: 'AAEC', _meta: { k: 1 } }] })
    t.strictSame((await read(app, session, 'test://full')).result, {
      contents: [{ uri: 'test://full#part1', text: 'one' }, { uri: 'test://full#part2', mimeType: 'image/png', blob: PNG }],
      _meta: { whole: true }
    }, 'a full ReadResourceResult is passed through as is')
  })

  t.test('unknown URI → -32002 "Resource not found" with data.uri; bad params → -32602', async (t) => {
    const app = await buildApp(t, { setup: fixture })
    const session = await openSession(app)
    const res = await read(app, session, 'test://nope')
    t.strictSame(res.error, { code: -32002, message: 'Resource not found', data: { uri: 'test://nope' } })
    t.notOk('result' in res)
    t.equal((await send(app, session, 'resources/read', {})).error?.code, -32602, 'no uri')
    t.equal((await read(app, session, 42)).error?.code, -32602, 'non-string uri')
  })

  t.test('a throwing read → -32603 "Internal error", logged; an McpError passes through; an invalid result → -32603', async (t) => {
    const { stream, records: lines } = logCapture()
    const app = await buildApp(t, {
      fastify: { logger: { level: 'error', stream } },
      setup: (app) => {
        app.mcp.resource({ uri: 'test://boom', name: 'boom' }, () => { throw new Error('secret database detail') })
        app.mcp.resource({ uri: 'test://async-boom', name: 'async-boom' }, async () => { throw new Error('later') })
        app.mcp.resource({ uri: 'test://denied', name: 'denied' }, () => { throw new McpError(-32602, 'Not for you', { why: 'acl' }) })
        app.mcp.resource({ uri: 'test://bad-result', name: 'bad' }, () => 42 as never)
        app.mcp.resource({ uri: 'test://both', name: 'both' }, () => ({ text: 'a', blob: 'AA' }) as never)
        app.mcp.resourceTemplate({ uriTemplate: 'test://tb/{x}', name: 'tboom' }, () => { throw new Error('template detail') })
      }
    })
    const session = await openSession(app)
    const boom = await read(app, session, 'test://boom')
    t.strictSame(boom.error, { code: -32603, message: 'Internal error' }, 'no detail leaks to the client')
    t.ok(lines.some((l) => l.method === 'resources/read' && l.err?.message === 'secret database detail'), 'the error is logged')
    t.strictSame((await read(app, session, 'test://async-boom')).error, { code: -32603, message: 'Internal error' })
    t.strictSame((await read(app, session, 'test://tb/1')).error, { code: -32603, message: 'Internal error' })
    t.strictSame((await read(app, session, 'test://denied')).error, { code: -32602, message: 'Not for you', data: { why: 'acl' } })
    const bad = await read(app, session, 'test://bad-result')
    t.equal(bad.error?.code, -32603)
    t.match(bad.error?.message, /invalid result/)
    t.equal((await read(app, session, 'test://both')).error?.code, -32603, 'text and blob at once is not a content item')
  })

  t.test('the read callback gets the URI and a handler context', async (t) => {
    let seen: { uri: string, sessionId?: string, requestId?: unknown, protocolVersion?: string, aborted?: boolean } | undefined
    let seenVars: unknown
    const app = await buildApp(t, {
      setup: (app) => {
        app.mcp.resource({ uri: 'test://ctx', name: 'ctx' }, (uri, ctx: ToolContext) => {
          seen = { uri, sessionId: ctx.sessionId, requestId: ctx.requestId, protocolVersion: ctx.protocolVersion, aborted: ctx.signal.aborted }
          return 'ok'
        })
        app.mcp.resourceTemplate({ uriTemplate: 'test://v/{a}/{b}', name: 'v' }, (uri, variables, ctx) => {
          seenVars = { uri, variables, sessionId: ctx.sessionId }
          return 'ok'
        })
      }
    })
    const session = await openSession(app)
    await send(app, session, 'resources/read', { uri: 'test://ctx' }, 'req-7')
    t.strictSame(seen, { uri: 'test://ctx', sessionId: session.id, requestId: 'req-7', protocolVersion: '2025-11-25', aborted: false })
    await read(app, session, 'test://v/x/y')
    t.strictSame(seenVars, { uri: 'test://v/x/y', variables: { a: 'x', b: 'y' }, sessionId: session.id })
  })

  t.test('fixed resources win over templates; templates are tried in registration order', async (t) => {
    const app = await buildApp(t, {
      setup: (app) => {
        app.mcp.resourceTemplate({ uriTemplate: 'test://items/{id}', name: 'first' }, (_u, { id }) => `first:${id}`)
        app.mcp.resourceTemplate({ uriTemplate: 'test://{kind}/{id}', name: 'second' }, (_u, { kind, id }) => `second:${kind}:${id}`)
        app.mcp.resource({ uri: 'test://items/special', name: 'special' }, text('fixed'))
      }
    })
    const session = await openSession(app)
    t.equal((await read(app, session, 'test://items/special')).result.contents[0].text, 'fixed')
    t.equal((await read(app, session, 'test://items/7')).result.contents[0].text, 'first:7')
    t.equal((await read(app, session, 'test://other/7')).result.contents[0].text, 'second:other:7')
    app.mcp.removeResourceTemplate('test://items/{id}')
    t.equal((await read(app, session, 'test://items/7')).result.contents[0].text, 'second:items:7', 'after removal the next template matches')
    app.mcp.removeResource('test://items/special')
    t.equal((await read(app, session, 'test://items/special')).result.contents[0].text, 'second:items:special')
  })

  t.test('template matching over the wire: decoding, no match across "/", literal mismatch', async (t) => {
    const app = await buildApp(t, {
      setup: (app) => {
        app.mcp.resourceTemplate({ uriTemplate: 'test://template/{id}/data', name: 'tmpl' }, (_u, { id }) => JSON.stringify(id))
        app.mcp.resourceTemplate({ uriTemplate: 'file:///logs/{day}-{n}.txt', name: 'logs' }, (_u, vars) => JSON.stringify(vars))
      }
    })
    const session = await openSession(app)
    const value = async (uri: string) => {
      const res = await read(app, session, uri)
      return res.result === undefined ? res.error.code : JSON.parse(res.result.contents[0].text)
    }
    t.equal(await value('test://template/a%20b/data'), 'a b', 'percent-decoded')
    t.equal(await value('test://template/a%2Fb/data'), 'a/b', 'an encoded "/" is part of the value')
    t.equal(await value('test://template/%E2%82%AC/data'), '€', 'UTF-8 percent-encoding')
    t.equal(await value('test://template/1/2/data'), -32002, 'no match across "/"')
    t.equal(await value('test://template//data'), -32002, 'a variable matches at least one character')
    t.equal(await value('test://template/1/info'), -32002, 'literal suffix mismatch')
    t.equal(await value('test://templates/1/data'), -32002, 'literal prefix mismatch')
    t.equal(await value('TEST://template/1/data'), -32002, 'literals are matched exactly (case too)')
    t.equal(await value('test://template/1/data/'), -32002, 'trailing "/"')
    t.equal(await value('test://template/%zz/data'), -32002, 'malformed percent-encoding does not match')
    t.strictSame(await value('file:///logs/2025-01-02-7.txt'), { day: '2025', n: '01-02-7' }, 'two variables in one segment')
    t.equal(await value('file:///logs/2025.txt'), -32002, 'the separating literal is required')
  })

  t.test('variables schema: typed, checked after matching → -32602 with data.uri', async (t) => {
    const app = await buildApp(t, {
      setup: (app) => {
        app.mcp.resourceTemplate({
          uriTemplate: 'test://users/{userId}/posts/{slug}',
          name: 'posts',
          variables: Type.Object({ userId: Type.String({ pattern: '^[0-9]+$' }), slug: Type.String({ maxLength: 10 }) })
        }, (_uri, variables) => {
        // Compile-time check that the variables are typed from the schema.
          const userId: string = variables.userId
          const slug: string = variables.slug
          return `${userId}/${slug}`
        })
      }
    })
    const session = await openSession(app)
    t.equal((await read(app, session, 'test://users/42/posts/hello')).result.contents[0].text, '42/hello')
    const bad = await read(app, session, 'test://users/abc/posts/hello')
    t.equal(bad.error?.code, -32602)
    t.match(bad.error?.message, /userId/)
    t.strictSame(bad.error?.data, { uri: 'test://users/abc/posts/hello' })
    t.equal((await read(app, session, 'test://users/1/posts/far-too-long-slug')).error?.code, -32602)
  })

  t.test('stateless mode reads too', async (t) => {
    const app = await buildApp(t, { options: { stateless: true }, setup: fixture })
    const res = responseOf(await post(app, rpc(1, 'resources/read', { uri: 'test://template/9/data' }), postHeaders({ 'mcp-protocol-version': '2025-11-25' })))
    t.match(res.result.contents[0].text, /"id":"9"/)
  })
})

t.test('UriTemplate (unit)', async (t) => {
  const tpl = new UriTemplate('test://x/{a}-{b}.{c}')
  t.strictSame(tpl.variables, ['a', 'b', 'c'])
  t.strictSame(tpl.match('test://x/1-2.3'), { a: '1', b: '2', c: '3' })
  t.strictSame(tpl.match('test://x/1-2-3.4.5'), { a: '1', b: '2-3', c: '4.5' }, 'each variable ends at the first following literal')
  t.strictSame(tpl.match('test://x/1--2.3'), { a: '1', b: '-2', c: '3' })
  t.equal(tpl.match('test://x/-2.3'), undefined, 'empty first variable')
  t.equal(tpl.match('test://x/1-.3'), undefined, 'empty middle variable')
  t.equal(tpl.match('test://x/1-2.'), undefined, 'empty last variable')
  t.equal(tpl.match('test://x/1-2/3.4'), undefined, 'no "/" inside a variable')
  const prefix = new UriTemplate('a{x}a')
  t.equal(prefix.match('a'), undefined, 'prefix and suffix may not overlap')
  t.strictSame(prefix.match('aaa'), { x: 'a' })
  const fixed = new UriTemplate('test://fixed')
  t.strictSame(fixed.match('test://fixed'), {})
  t.equal(fixed.match('test://fixed2'), undefined)
  // A hostile URI: many separators and no final match. A backtracking RegExp would take
  // polynomial time here; the matcher must still answer (no timing assertion, just an answer).
  const hostile = new UriTemplate('test://{a}-{b}-{c}-{d}!')
  t.equal(hostile.match('test://' + 'x-'.repeat(20_000)), undefined)
})

// ---- subscriptions -----------------------------------------------------------------------

t.test('resources/subscribe and unsubscribe', async (t) => {
  t.test('return {} and keep deduplicated session state in the store', async (t) => {
    const app = await buildApp(t, { setup: fixture })
    const session = await openSession(app)
    const other = await openSession(app)
    t.equal(await subscriptions(app, session), undefined, 'nothing before')
    t.strictSame(await send(app, session, 'resources/subscribe', { uri: 'test://watched-resource' }), { jsonrpc: '2.0', id: 1, result: {} })
    t.strictSame(await subscriptions(app, session), ['test://watched-resource'])
    t.strictSame((await send(app, session, 'resources/subscribe', { uri: 'test://watched-resource' })).result, {}, 'again')
    t.strictSame(await subscriptions(app, session), ['test://watched-resource'], 'deduplicated')
    t.strictSame((await send(app, session, 'resources/subscribe', { uri: 'test://template/5/data' })).result, {}, 'a URI a template matches')
    t.strictSame(await subscriptions(app, session), ['test://watched-resource', 'test://template/5/data'])
    t.equal(await subscriptions(app, other), undefined, 'per session')

    t.strictSame(await send(app, session, 'resources/unsubscribe', { uri: 'test://watched-resource' }), { jsonrpc: '2.0', id: 1, result: {} })
    t.strictSame(await subscriptions(app, session), ['test://template/5/data'])
    t.strictSame((await send(app, session, 'resources/unsubscribe', { uri: 'test://watched-resource' })).result, {}, 'unsubscribing twice is fine')
    t.strictSame((await send(app, session, 'resources/unsubscribe', { uri: 'test://never' })).result, {}, 'so is an unknown URI')
    t.strictSame(await subscriptions(app, session), ['test://template/5/data'])
  })

  t.test('errors: unknown resource → -32002, bad params / too long → -32602', async (t) => {
    const app = await buildApp(t, { setup: fixture })
    const session = await openSession(app)
    t.strictSame((await send(app, session, 'resources/subscribe', { uri: 'test://nope' })).error, { code: -32002, message: 'Resource not found', data: { uri: 'test://nope' } })
    t.equal((await send(app, session, 'resources/subscribe', {})).error?.code, -32602)
    t.equal((await send(app, session, 'resources/unsubscribe', { uri: 7 })).error?.code, -32602)
    const long = 'test://template/' + 'x'.repeat(MAX_SUBSCRIPTION_URI_LENGTH) + '/data'
    t.equal((await send(app, session, 'resources/subscribe', { uri: long })).error?.code, -32602)
    t.equal(await subscriptions(app, session), undefined, 'nothing stored')
  })

  t.test(`bounded: at most ${MAX_SUBSCRIPTIONS} per session`, async (t) => {
    const app = await buildApp(t, { setup: fixture })
    const session = await openSession(app)
    const full = Array.from({ length: MAX_SUBSCRIPTIONS }, (_, i) => `test://template/${i}/data`)
    await app.mcp.sessions.update(session.id, { subscriptions: full })
    const res = await send(app, session, 'resources/subscribe', { uri: 'test://watched-resource' })
    t.equal(res.error?.code, -32602)
    t.match(res.error?.message, /1000/)
    t.equal((await subscriptions(app, session))?.length, MAX_SUBSCRIPTIONS, 'nothing added')
    t.strictSame((await send(app, session, 'resources/subscribe', { uri: 'test://template/3/data' })).result, {}, 'an existing one is still fine')
    await send(app, session, 'resources/unsubscribe', { uri: 'test://template/0/data' })
    t.strictSame((await send(app, session, 'resources/subscribe', { uri: 'test://watched-resource' })).result, {}, 'room again after an unsubscribe')
    const after = await subscriptions(app, session)
    t.equal(after?.length, MAX_SUBSCRIPTIONS)
    t.equal(after?.at(-1), 'test://watched-resource')
  })

  t.test('concurrent subscribes of one session are all kept (store with latency, returning copies)', async (t) => {
    // Like a networked store: every call takes a turn of the event loop and hands out copies,
    // so unserialised read-modify-write updates would overwrite each other.
    const tick = () => new Promise((resolve) => setImmediate(resolve))
    class SlowStore extends MemorySessionStore {
      override async get (id: string) {
        await tick()
        const session = await super.get(id)
        return session === undefined ? undefined : structuredClone(session)
      }

      override async update (id: string, patch: Parameters<MemorySessionStore['update']>[1]) {
        await tick()
        return super.update(id, structuredClone(patch))
      }
    }
    const sessionStore = new SlowStore()
    t.teardown(() => sessionStore.close())
    const app = await buildApp(t, { options: { sessionStore }, setup: fixture })
    const session = await openSession(app)
    const uris = Array.from({ length: 20 }, (_, i) => `test://template/${i}/data`)
    const answers = await Promise.all(uris.map((uri, i) => send(app, session, 'resources/subscribe', { uri }, i + 1)))
    t.ok(answers.every((a) => a.result !== undefined), 'all succeeded')
    t.strictSame([...(await subscriptions(app, session))!].sort(), [...uris].sort())
  })

  t.test('stateless: accepted, nothing kept', async (t) => {
    const app = await buildApp(t, { options: { stateless: true }, setup: fixture })
    const headers = postHeaders({ 'mcp-protocol-version': '2025-11-25' })
    t.strictSame(responseOf(await post(app, rpc(1, 'resources/subscribe', { uri: 'test://watched-resource' }), headers)).result, {})
    t.strictSame(responseOf(await post(app, rpc(2, 'resources/unsubscribe', { uri: 'test://watched-resource' }), headers)).result, {})
    t.equal((await app.mcp.stats()).sessions, 0)
    t.equal(await app.mcp.notifyResourceUpdated('test://watched-resource'), 0)
  })
})

// ---- notifications -----------------------------------------------------------------------

const updated = (uri: string) => ({ jsonrpc: '2.0', method: 'notifications/resources/updated', params: { uri } })
const LIST_CHANGED = { jsonrpc: '2.0', method: 'notifications/resources/list_changed' }
const methodsOf = (stream: StreamReader, method: string) => stream.messages().filter((m) => m.method === method)

async function openStream (t: Test, url: URL, session: Session): Promise<StreamReader> {
  const stream = await request(url, 'GET', streamHeaders(session))
  t.teardown(() => stream.destroy())
  if (stream.status !== 200) throw new Error(`GET answered ${stream.status}`)
  return stream
}

t.test('notifyResourceUpdated reaches only subscribed sessions with an open GET stream', async (t) => {
  const app = await buildApp(t, {
    setup: (app) => {
      fixture(app)
      app.mcp.tool({ name: 'noop', description: 'marker', inputSchema: Type.Object({}) }, async () => 'ok')
    }
  })
  const url = await listen(app)
  const subscribed = await openSessionHttp(url)
  const otherUri = await openSessionHttp(url)
  const unsubscribed = await openSessionHttp(url)
  const noStream = await openSessionHttp(url)
  const sub = async (session: Session, uri: string) => {
    const res = await request(url, 'POST', session.headers, rpc(1, 'resources/subscribe', { uri }))
    await res.waitEnd()
    t.equal(res.status, 200)
  }
  await sub(subscribed, 'test://watched-resource')
  await sub(otherUri, 'test://static-text')
  await sub(noStream, 'test://watched-resource')
  const streams = {
    subscribed: await openStream(t, url, subscribed),
    otherUri: await openStream(t, url, otherUri),
    unsubscribed: await openStream(t, url, unsubscribed)
  }

  t.equal(await app.mcp.notifyResourceUpdated('test://watched-resource'), 1, 'one session subscribed with a stream')
  await streams.subscribed.until((r) => methodsOf(r, 'notifications/resources/updated').length > 0)
  t.strictSame(methodsOf(streams.subscribed, 'notifications/resources/updated'), [updated('test://watched-resource')])

  // A broadcast marker every stream receives after the update would have: ordering on a
  // stream proves the others never got the update.
  app.mcp.tool({ name: 'marker', description: 'marker', inputSchema: Type.Object({}) }, async () => 'ok')
  for (const stream of Object.values(streams)) await stream.until((r) => methodsOf(r, 'notifications/tools/list_changed').length > 0)
  t.strictSame(methodsOf(streams.otherUri, 'notifications/resources/updated'), [], 'subscribed to another URI')
  t.strictSame(methodsOf(streams.unsubscribed, 'notifications/resources/updated'), [], 'not subscribed')

  t.equal(await app.mcp.notifyResourceUpdated('test://static-text'), 1)
  await streams.otherUri.until((r) => methodsOf(r, 'notifications/resources/updated').length > 0)
  t.strictSame(methodsOf(streams.otherUri, 'notifications/resources/updated'), [updated('test://static-text')])
  t.equal(await app.mcp.notifyResourceUpdated('test://unknown'), 0)

  const unsub = await request(url, 'POST', subscribed.headers, rpc(2, 'resources/unsubscribe', { uri: 'test://watched-resource' }))
  await unsub.waitEnd()
  t.equal(await app.mcp.notifyResourceUpdated('test://watched-resource'), 0, 'none after unsubscribe (the stream-less session is not counted)')
  await t.rejects(app.mcp.notifyResourceUpdated(5 as never), { code: 'FST_MCP_INVALID_RESOURCE' })
})

t.test('list_changed on add and remove, coalesced per tick, only to sessions declaring resources.listChanged', async (t) => {
  const app = await buildApp(t, {
    setup: (app) => {
      app.mcp.tool({ name: 'noop', description: 'marker', inputSchema: Type.Object({}) }, async () => 'ok')
    }
  })
  const url = await listen(app)
  const early = await openSessionHttp(url) // initialized before any resource: no resources capability
  const earlyStream = await openStream(t, url, early)
  app.mcp.resource({ uri: 'test://watched', name: 'watched' }, text('w'))
  const late = await openSessionHttp(url)
  const lateStream = await openStream(t, url, late)
  const subscribe = await request(url, 'POST', late.headers, rpc(1, 'resources/subscribe', { uri: 'test://watched' }))
  await subscribe.waitEnd()

  const marker = async (n: number) => {
    t.equal(await app.mcp.notifyResourceUpdated('test://watched'), 1)
    await lateStream.until((r) => methodsOf(r, 'notifications/resources/updated').length === n)
  }
  const listChanged = (stream: StreamReader) => methodsOf(stream, 'notifications/resources/list_changed')

  app.mcp.resource({ uri: 'test://a', name: 'a' }, text('a'))
  app.mcp.resource({ uri: 'test://b', name: 'b' }, text('b'))
  app.mcp.resourceTemplate({ uriTemplate: 'test://t/{x}', name: 't' }, text('t'))
  await lateStream.until((r) => listChanged(r).length >= 1)
  await marker(1)
  t.strictSame(listChanged(lateStream), [LIST_CHANGED], 'three changes in one tick: one notification')

  t.equal(app.mcp.removeResource('test://a'), true)
  await lateStream.until((r) => listChanged(r).length >= 2)
  t.equal(app.mcp.removeResourceTemplate('test://t/{x}'), true)
  await lateStream.until((r) => listChanged(r).length >= 3)
  t.equal(app.mcp.removeResource('test://a'), false, 'already gone')
  t.equal(app.mcp.removeResourceTemplate('test://t/{x}'), false)
  await marker(2)
  t.equal(listChanged(lateStream).length, 3, 'a failed removal announces nothing')

  // The early session never declared resources: it gets no list_changed (a tool change is its marker).
  app.mcp.tool({ name: 'marker', description: 'marker', inputSchema: Type.Object({}) }, async () => 'ok')
  await earlyStream.until((r) => methodsOf(r, 'notifications/tools/list_changed').length > 0)
  t.strictSame(listChanged(earlyStream), [])
})

// ---- capabilities --------------------------------------------------------------------------

t.test('capabilities', async (t) => {
  t.test('absent without resources, present with a resource or a template, follows removal', async (t) => {
    const app = await buildApp(t)
    const capabilities = async () => (await initialize(app)).json().result.capabilities
    t.notOk('resources' in await capabilities(), 'no resources, no capability')
    app.mcp.resource({ uri: 'test://a', name: 'a' }, text('a'))
    t.strictSame((await capabilities()).resources, { subscribe: true, listChanged: true })
    app.mcp.removeResource('test://a')
    t.notOk('resources' in await capabilities())
    app.mcp.resourceTemplate({ uriTemplate: 'test://t/{x}', name: 't' }, text('t'))
    t.strictSame((await capabilities()).resources, { subscribe: true, listChanged: true }, 'a template alone is enough')
    t.notOk('completions' in await capabilities(), 'no completer, no completions capability')
    app.mcp.resourceTemplate({ uriTemplate: 'test://c/{x}', name: 'c', complete: { x: () => ['1'] } }, text('c'))
    t.strictSame((await capabilities()).completions, {}, 'a completer declares completions')
    app.mcp.removeResourceTemplate('test://c/{x}')
    t.notOk('completions' in await capabilities(), 'and its removal withdraws it')
  })
})

// ---- completion --------------------------------------------------------------------------

t.test('completion/complete for ref/resource', async (t) => {
  const seen: unknown[] = []
  const app = await buildApp(t, {
    setup: (app) => {
      app.mcp.resource({ uri: 'test://fixed', name: 'fixed' }, text('f'))
      app.mcp.resourceTemplate({
        uriTemplate: 'test://repos/{owner}/{repo}',
        name: 'repos',
        variables: Type.Object({ owner: Type.String(), repo: Type.String() }),
        complete: {
          repo: async (value, context) => {
            seen.push(context.arguments)
            const owner = context.arguments.owner ?? 'nobody'
            return [`${owner}-app`, `${owner}-api`, 'other'].filter((r) => r.startsWith(value))
          }
        }
      }, text('r'))
      app.mcp.resourceTemplate({
        uriTemplate: 'test://many/{n}',
        name: 'many',
        complete: { n: () => Array.from({ length: 150 }, (_, i) => String(i)) }
      }, text('n'))
      app.mcp.resourceTemplate({
        uriTemplate: 'test://result/{n}',
        name: 'result',
        complete: { n: () => ({ values: ['a'], total: 10, hasMore: true }) }
      }, text('n'))
    }
  })
  const session = await openSession(app)
  const complete = (uri: unknown, name: string, value: string, args?: Record<string, string>) =>
    send(app, session, 'completion/complete', {
      ref: { type: 'ref/resource', uri },
      argument: { name, value },
      ...(args === undefined ? {} : { context: { arguments: args } })
    })

  t.strictSame((await complete('test://repos/{owner}/{repo}', 'repo', 'ali', { owner: 'alice' })).result, { completion: { values: ['alice-app', 'alice-api'] } })
  t.strictSame(seen, [{ owner: 'alice' }], 'context.arguments reaches the completer')
  t.strictSame((await complete('test://repos/{owner}/{repo}', 'repo', '')).result, { completion: { values: ['nobody-app', 'nobody-api', 'other'] } }, 'no context: empty arguments')
  t.strictSame(seen[1], {})

  const many = (await complete('test://many/{n}', 'n', '')).result.completion
  t.equal(many.values.length, 100, 'capped at 100')
  t.strictSame(many.values.slice(0, 3), ['0', '1', '2'])
  t.equal(many.total, 150)
  t.equal(many.hasMore, true)
  t.strictSame((await complete('test://result/{n}', 'n', '')).result, { completion: { values: ['a'], total: 10, hasMore: true } }, 'a CompletionResult passes through')

  t.strictSame((await complete('test://repos/{owner}/{repo}', 'owner', 'a')).result, { completion: { values: [] } }, 'variable without a completer')
  t.strictSame((await complete('test://repos/{owner}/{repo}', 'nope', 'a')).result, { completion: { values: [] } }, 'not a variable')
  t.strictSame((await complete('test://fixed', 'x', '')).result, { completion: { values: [] } }, 'a fixed resource has nothing to complete')
  t.equal((await complete('test://unknown/{x}', 'x', '')).error?.code, -32602, 'unknown template')
  t.equal((await complete('test://repos/alice/{repo}', 'repo', '')).error?.code, -32602, 'a URI is not a template')
  t.equal((await complete(5, 'x', '')).error?.code, -32602, 'non-string uri')
})

// ---- SDK interop -------------------------------------------------------------------------

t.test('SDK client: listResources, readResource, templates, subscribe, updated notification', async (t) => {
  const { app, url } = await serve(t, { setup: fixture })
  const client = new Client({ name: 'resources-sdk-test', version: '1.0.0' })
  t.teardown(() => client.close().catch(() => {}))
  await client.connect(new StreamableHTTPClientTransport(url))
  t.strictSame(client.getServerCapabilities()?.resources, { subscribe: true, listChanged: true })

  const { resources } = await client.listResources()
  t.strictSame(resources.map((r) => r.uri), ['test://static-binary', 'test://static-text', 'test://watched-resource'])
  const { resourceTemplates } = await client.listResourceTemplates()
  t.strictSame(resourceTemplates, [{ uriTemplate: 'test://template/{id}/data', name: 'template', mimeType: 'application/json' }])

  const textRead = await client.readResource({ uri: 'test://static-text' })
  t.strictSame(textRead.contents, [{ uri: 'test://static-text', mimeType: 'text/plain', text: 'This is the content of the static text resource.' }])
  const blobRead = await client.readResource({ uri: 'test://static-binary' })
  t.strictSame(blobRead.contents, [{ uri: 'test://static-binary', mimeType: 'image/png', blob: PNG }])
  const templated = await client.readResource({ uri: 'test://template/123/data' })
  t.match(templated.contents[0], { uri: 'test://template/123/data', text: /123/ })
  await t.rejects(client.readResource({ uri: 'test://missing' }), { code: -32002 })

  const received = deferred<ResourceUpdatedNotification>()
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => { received.resolve(notification) })
  t.strictSame(await client.subscribeResource({ uri: 'test://watched-resource' }), {})

  // The client opens its GET stream on its own schedule: notify until one stream took it.
  let notified = 0
  for (let attempt = 0; attempt < 500 && notified === 0; attempt++) {
    notified = await app.mcp.notifyResourceUpdated('test://watched-resource')
    if (notified === 0) await new Promise((resolve) => setTimeout(resolve, 10))
  }
  t.equal(notified, 1)
  const notification = await within(received.promise, 'notifications/resources/updated')
  t.strictSame(notification.params, { uri: 'test://watched-resource' })

  t.strictSame(await client.unsubscribeResource({ uri: 'test://watched-resource' }), {})
  t.equal(await app.mcp.notifyResourceUpdated('test://watched-resource'), 0)
})
