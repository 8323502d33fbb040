// The 2026-07-28 era on the same endpoint as the 2025 sessions: era routing, the validation
// ladder in the order conformance depends on, the dressing of results, and statelessness.
import t, { type Test } from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { Type } from '@sinclair/typebox'
import { MemorySessionStore, type McpPluginOptions, type SessionStore } from '../lib/index.js'
import { buildApp, initializeParams, notification, openSession, post, postHeaders, rpc } from './helpers/index.js'
import { CAPS, INFO, LOG_LEVEL, MODERN, PV, SERVER_INFO, envelope, messagesOf, modernHeaders, modernRpc, postModern } from './helpers/modern.js'

function rpcError (t: Test, res: LightMyRequestResponse, status: number, code: number, id: unknown, message?: RegExp): Record<string, any> {
  t.equal(res.statusCode, status, `HTTP ${status}`)
  const body = res.json()
  t.equal(body.jsonrpc, '2.0')
  t.equal(body.error?.code, code, `JSON-RPC ${code}`)
  t.same(body.id, id, 'the request id is echoed')
  if (message !== undefined) t.match(body.error.message, message)
  t.notOk(res.headers['mcp-session-id'], 'no session id')
  return body.error
}

t.test('era routing: the body decides, the header cross-checks', async (t) => {
  const app = await buildApp(t, { demo: true })

  t.test('a claim in _meta is served statelessly', async (t) => {
    const res = await postModern(app, modernRpc(1, 'tools/call', { name: 'echo', arguments: { text: 'hi' } }))
    t.equal(res.statusCode, 200)
    t.notOk(res.headers['mcp-session-id'], 'no Mcp-Session-Id minted')
    const body = res.json()
    t.same(body.result.content, [{ type: 'text', text: 'hi' }])
    t.equal(body.result.resultType, 'complete')
  })

  t.test('initialize without a claim is the 2025 handshake, as before', async (t) => {
    const session = await openSession(app)
    t.ok(session.id)
    const ping = await post(app, rpc(2, 'ping'), session.headers)
    t.same(ping.json(), { jsonrpc: '2.0', id: 2, result: {} })
  })

  t.test('a session request beside a modern one: both served', async (t) => {
    const session = await openSession(app)
    const [legacy, modern] = await Promise.all([
      post(app, rpc(3, 'tools/list'), session.headers),
      postModern(app, modernRpc(4, 'tools/list'))
    ])
    t.equal(legacy.json().result.resultType, undefined, 'a 2025 result is not dressed')
    t.equal(modern.json().result.resultType, 'complete')
    t.same(legacy.json().result.tools, modern.json().result.tools, 'the same tools, in the same order')
  })

  t.test('initialize carrying a modern envelope → 404 -32601', async (t) => {
    const res = await postModern(app, modernRpc(5, 'initialize', initializeParams()))
    rpcError(t, res, 404, -32601, 5)
  })

  t.test('initialize without a claim but with a modern header → 400 -32020, no session', async (t) => {
    const res = await post(app, rpc(6, 'initialize', initializeParams()), postHeaders({ 'mcp-protocol-version': MODERN }))
    rpcError(t, res, 400, -32020, 6)
  })

  t.test('a claim-less request with a modern header → 400 -32602 missing envelope', async (t) => {
    const res = await post(app, rpc(7, 'tools/list'), postHeaders({ 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/list' }))
    const error = rpcError(t, res, 400, -32602, 7)
    t.same(error.data, { envelope: { missing: ['_meta'] } })
  })

  t.test('a batch with a claimed element → 400 -32600', async (t) => {
    const res = await post(app, [rpc(1, 'ping'), modernRpc(2, 'tools/list')], postHeaders())
    rpcError(t, res, 400, -32600, null, /2026-07-28/)
  })

  t.test('Accept is not required on the modern path, and still is on the 2025 one', async (t) => {
    const message = modernRpc(8, 'tools/list')
    const none = await postModern(app, message, { accept: undefined })
    t.equal(none.statusCode, 200, 'no Accept')
    const json = await postModern(app, message, { accept: 'application/json' })
    t.equal(json.statusCode, 200, 'application/json only')
    const session = await openSession(app)
    const legacy = await post(app, rpc(9, 'ping'), { ...session.headers, accept: 'application/json' })
    t.equal(legacy.statusCode, 406, 'a session request still needs both types')
    const batch = await post(app, [rpc(1, 'ping')], postHeaders({ accept: 'application/json', 'mcp-protocol-version': MODERN }))
    t.equal(batch.statusCode, 406, '2025 traffic let through by its modern header is still checked')
  })

  t.test('a modern notification → 202, with or without Mcp-Method; a disagreeing one → 400 -32020', async (t) => {
    const cancelled = { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1, _meta: envelope() } }
    const plain = await post(app, cancelled, postHeaders({ 'mcp-protocol-version': MODERN }))
    t.equal(plain.statusCode, 202)
    const wrong = await post(app, cancelled, postHeaders({ 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/list' }))
    t.equal(wrong.statusCode, 400)
    t.equal(wrong.json().error.code, -32020)
  })
})

t.test('the validation ladder, in order', async (t) => {
  const app = await buildApp(t, { demo: true })
  const list = (meta: Record<string, unknown>) => modernRpc(11, 'tools/list', {}, meta)

  t.test('an invalid envelope → 400 -32602 naming the key', async (t) => {
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['no clientCapabilities', { [PV]: MODERN }, CAPS],
      ['clientCapabilities not an object', { [PV]: MODERN, [CAPS]: [] }, CAPS],
      ['a protocol version that is not a string', { [PV]: 20260728, [CAPS]: {} }, PV],
      ['clientInfo without a version', { [PV]: MODERN, [CAPS]: {}, [INFO]: { name: 'x' } }, INFO],
      ['an unknown log level', { [PV]: MODERN, [CAPS]: {}, [LOG_LEVEL]: 'loud' }, LOG_LEVEL]
    ]
    for (const [what, meta, key] of cases) {
      const error = rpcError(t, await postModern(app, list(meta)), 400, -32602, 11)
      t.equal(error.data.envelope.key, key, what)
    }
  })

  t.test('clientInfo is optional', async (t) => {
    const res = await postModern(app, list({ [PV]: MODERN, [CAPS]: {} }))
    t.equal(res.statusCode, 200)
  })

  t.test('header ≠ claim → -32020, before the unsupported-version check', async (t) => {
    const res = await postModern(app, list({ ...envelope(), [PV]: 'v999.0.0' }))
    rpcError(t, res, 400, -32020, 11)
  })

  t.test('an unsupported claim → 400 -32022 with data.supported and data.requested', async (t) => {
    const res = await postModern(app, list({ ...envelope(), [PV]: 'v999.0.0' }), { 'mcp-protocol-version': 'v999.0.0' })
    const error = rpcError(t, res, 400, -32022, 11)
    t.same(error.data, { supported: [MODERN], requested: 'v999.0.0' })
    const discover = await postModern(app, modernRpc(12, 'server/discover'))
    for (const version of error.data.supported) t.ok(discover.json().result.supportedVersions.includes(version), 'data.supported ⊆ server/discover')
  })

  t.test('a 2025 revision claimed in _meta → -32022', async (t) => {
    const res = await postModern(app, list({ ...envelope(), [PV]: '2025-11-25' }), { 'mcp-protocol-version': '2025-11-25' })
    rpcError(t, res, 400, -32022, 11)
  })

  t.test('a missing MCP-Protocol-Version or Mcp-Method header → -32020', async (t) => {
    rpcError(t, await postModern(app, list(envelope()), { 'mcp-protocol-version': undefined }), 400, -32020, 11, /MCP-Protocol-Version/)
    rpcError(t, await postModern(app, list(envelope()), { 'mcp-method': undefined }), 400, -32020, 11, /Mcp-Method/)
  })

  t.test('Mcp-Method: the value is case-sensitive, spaces around it are not part of it', async (t) => {
    rpcError(t, await postModern(app, list(envelope()), { 'mcp-method': 'TOOLS/LIST' }), 400, -32020, 11)
    rpcError(t, await postModern(app, list(envelope()), { 'mcp-method': 'prompts/list' }), 400, -32020, 11)
    t.equal((await postModern(app, list(envelope()), { 'mcp-method': '  tools/list\t' })).statusCode, 200)
  })

  t.test('Mcp-Name: required, equal to the body once decoded', async (t) => {
    const call = modernRpc(13, 'tools/call', { name: 'echo', arguments: { text: 'a' } })
    rpcError(t, await postModern(app, call, { 'mcp-name': undefined }), 400, -32020, 13, /Mcp-Name/)
    const wrong = rpcError(t, await postModern(app, call, { 'mcp-name': 'add' }), 400, -32020, 13)
    t.same(wrong.data, { mismatch: { header: 'Mcp-Name', body: 'echo' } })
    t.equal((await postModern(app, call, { 'mcp-name': '  echo ' })).statusCode, 200, 'OWS trimmed')
    t.equal((await postModern(app, call, { 'mcp-name': `=?base64?${Buffer.from('echo').toString('base64')}?=` })).statusCode, 200, 'Base64 sentinel decoded')
    rpcError(t, await postModern(app, call, { 'mcp-name': '=?base64?ZWNobw?=' }), 400, -32020, 13)
    rpcError(t, await postModern(app, call, { 'mcp-name': '=?BASE64?ZWNobw==?=' }), 400, -32020, 13)
    const read = modernRpc(14, 'resources/read', { uri: 'demo://nothing' })
    rpcError(t, await postModern(app, read, { 'mcp-name': 'demo://other' }), 400, -32020, 14)
  })

  t.test('methods 2026-07-28 removed, and unknown ones → 404 -32601', async (t) => {
    for (const method of ['ping', 'logging/setLevel', 'resources/subscribe', 'resources/unsubscribe', 'no/such/method']) {
      rpcError(t, await postModern(app, modernRpc(15, method, { uri: 'x://y', level: 'info' })), 404, -32601, 15)
    }
  })

  t.test('per-method params invalid → 200 -32602, in band', async (t) => {
    const res = await postModern(app, modernRpc(16, 'tools/call', { arguments: {} }))
    t.equal(res.statusCode, 200)
    t.equal(res.json().error.code, -32602)
    t.equal(res.json().id, 16)
  })

  t.test('string ids are echoed as strings', async (t) => {
    const res = await postModern(app, modernRpc('abc', 'ping'))
    rpcError(t, res, 404, -32601, 'abc')
  })
})

t.test('Mcp-Param-* headers of tools that declare x-mcp-header', async (t) => {
  const app = await buildApp(t, {
    setup (app) {
      app.mcp.tool({
        name: 'query',
        description: 'Runs a query in a region',
        inputSchema: {
          type: 'object',
          properties: {
            region: { type: 'string', 'x-mcp-header': 'Region' },
            limit: { type: 'integer', 'x-mcp-header': 'Limit' },
            dryRun: { type: 'boolean', 'x-mcp-header': 'Dry-Run' },
            options: { type: 'object', properties: { shard: { type: 'string', 'x-mcp-header': 'Shard' } } },
            query: { type: 'string' }
          }
        }
      }, (args) => JSON.stringify(args))
    }
  })
  const call = (args: Record<string, unknown>) => modernRpc(21, 'tools/call', { name: 'query', arguments: args })

  t.equal((await postModern(app, call({ query: 'q' }))).statusCode, 200, 'no declared argument: no header expected')
  t.equal((await postModern(app, call({ region: null }))).statusCode, 200, 'a null argument: no header expected')
  rpcError(t, await postModern(app, call({ region: 'eu' })), 400, -32020, 21, /Mcp-Param-Region/)
  t.equal((await postModern(app, call({ region: 'eu' }), { 'mcp-param-region': 'eu' })).statusCode, 200, 'matching header')
  t.equal((await postModern(app, call({ region: 'eu' }), { 'MCP-PARAM-REGION': ' eu ' })).statusCode, 200, 'header names ignore case, OWS trimmed')
  rpcError(t, await postModern(app, call({ region: 'eu' }), { 'mcp-param-region': 'us' }), 400, -32020, 21)
  rpcError(t, await postModern(app, call({ region: 'eu' }), { 'mcp-param-region': 'EU' }), 400, -32020, 21)
  const greeting = 'Hello, 世界'
  t.equal((await postModern(app, call({ region: greeting }), { 'mcp-param-region': `=?base64?${Buffer.from(greeting).toString('base64')}?=` })).statusCode, 200, 'Base64 of UTF-8')
  rpcError(t, await postModern(app, call({ region: 'Hello' }), { 'mcp-param-region': '=?base64?SGVs!!!bG8=?=' }), 400, -32020, 21)
  t.equal((await postModern(app, call({ region: 'SGVsbG8=' }), { 'mcp-param-region': 'SGVsbG8=' })).statusCode, 200, 'no sentinel: a literal value')
  t.equal((await postModern(app, call({ limit: 42 }), { 'mcp-param-limit': '42.0' })).statusCode, 200, 'integers compare as numbers')
  rpcError(t, await postModern(app, call({ limit: 42 }), { 'mcp-param-limit': '43' }), 400, -32020, 21)
  t.equal((await postModern(app, call({ dryRun: false }), { 'mcp-param-dry-run': 'false' })).statusCode, 200)
  rpcError(t, await postModern(app, call({ dryRun: false }), { 'mcp-param-dry-run': 'False' }), 400, -32020, 21)
  t.equal((await postModern(app, call({ options: { shard: 's1' } }), { 'mcp-param-shard': 's1' })).statusCode, 200, 'nested through properties')
  rpcError(t, await postModern(app, call({ options: { shard: 's1' } })), 400, -32020, 21)
  rpcError(t, await postModern(app, call({ region: 'eu' }), { 'mcp-param-region': 'eu\u0001' }), 400, -32020, 21)
  t.equal((await postModern(app, call({ query: 'q' }), { 'mcp-param-unknown': 'x' })).statusCode, 200, 'headers nobody declared are ignored')

  t.test('invalid declarations are refused at registration', async (t) => {
    const bad: Array<[string, Record<string, unknown>]> = [
      ['empty', { a: { type: 'string', 'x-mcp-header': '' } }],
      ['not a token', { a: { type: 'string', 'x-mcp-header': 'has space' } }],
      ['a number property', { a: { type: 'number', 'x-mcp-header': 'A' } }],
      ['an object property', { a: { type: 'object', 'x-mcp-header': 'A' } }],
      ['duplicate ignoring case', { a: { type: 'string', 'x-mcp-header': 'Name' }, b: { type: 'string', 'x-mcp-header': 'NAME' } }],
      ['under items', { a: { type: 'array', items: { type: 'string', 'x-mcp-header': 'A' } } }],
      ['under anyOf', { a: { anyOf: [{ type: 'string', 'x-mcp-header': 'A' }] } }]
    ]
    for (const [what, properties] of bad) {
      t.throws(() => app.mcp.tool({ name: `bad_${what.replace(/\W/g, '_')}`, description: what, inputSchema: { type: 'object', properties } }, () => ''), { code: 'FST_MCP_INVALID_TOOL' }, what)
    }
    t.throws(() => app.mcp.tool({ name: 'bad_defs', description: 'defs', inputSchema: { type: 'object', properties: {}, $defs: { x: { type: 'string', 'x-mcp-header': 'X' } } } }, () => ''), { code: 'FST_MCP_INVALID_TOOL' })
  })
})

t.test('results: resultType, serverInfo, cache hints, discover', async (t) => {
  const options: McpPluginOptions = { cacheHints: { 'tools/list': { ttlMs: 60_000, cacheScope: 'public' } } }
  const app = await buildApp(t, {
    demo: true,
    options,
    setup (app) {
      app.mcp.resource({ uri: 'demo://static', name: 'static', mimeType: 'text/plain' }, () => 'static text')
      app.mcp.prompt({ name: 'hello', description: 'Says hello' }, () => 'hello')
    }
  })
  const serverInfo = { name: 'fastify-mcp-streamable-demo', version: '1.0.0' }

  t.test('server/discover advertises what is served', async (t) => {
    const res = await postModern(app, modernRpc(31, 'server/discover'))
    t.equal(res.statusCode, 200)
    const { result } = res.json()
    t.same(result.supportedVersions, [MODERN])
    t.same(result.capabilities, { logging: {}, tools: { listChanged: true }, resources: { subscribe: true, listChanged: true }, prompts: { listChanged: true } })
    t.equal(result.instructions, 'Demo server: echo, add and countdown.')
    t.equal(result.resultType, 'complete')
    t.same(result._meta, { [SERVER_INFO]: serverInfo })
    t.equal(result.ttlMs, 0)
    t.equal(result.cacheScope, 'private')
  })

  t.test('every result names the server; cacheable ones carry hints, per-method options win', async (t) => {
    const expected: Record<string, [number, string] | undefined> = {
      'tools/list': [60_000, 'public'],
      'prompts/list': [0, 'private'],
      'resources/list': [0, 'private'],
      'resources/templates/list': [0, 'private'],
      'prompts/get': undefined
    }
    for (const [method, hint] of Object.entries(expected)) {
      const params = method === 'prompts/get' ? { name: 'hello' } : {}
      const { result } = (await postModern(app, modernRpc(32, method, params))).json()
      t.equal(result.resultType, 'complete', method)
      t.same(result._meta[SERVER_INFO], serverInfo, method)
      if (hint === undefined) {
        t.notOk('ttlMs' in result, `${method}: no cache hint`)
      } else {
        t.equal(result.ttlMs, hint[0], `${method} ttlMs`)
        t.equal(result.cacheScope, hint[1], `${method} cacheScope`)
      }
    }
    const read = (await postModern(app, modernRpc(33, 'resources/read', { uri: 'demo://static' }))).json()
    t.equal(read.result.contents[0].text, 'static text')
    t.equal(read.result.ttlMs, 0)
    const call = (await postModern(app, modernRpc(34, 'tools/call', { name: 'echo', arguments: { text: 'x' } }))).json()
    t.notOk('ttlMs' in call.result, 'tools/call is not cacheable')
  })

  t.test('an unknown resource → -32602, never -32002 or empty contents', async (t) => {
    const res = await postModern(app, modernRpc(35, 'resources/read', { uri: 'demo://missing' }))
    t.equal(res.statusCode, 200)
    t.equal(res.json().error.code, -32602)
    t.notOk(res.json().result)
  })

  t.test('the option is checked', async (t) => {
    await t.rejects(buildApp(t, { options: { cacheHints: { 'tools/call': { ttlMs: 1 } } as never } }), { code: 'FST_MCP_INVALID_OPTION' })
    await t.rejects(buildApp(t, { options: { cacheHints: { 'tools/list': { ttlMs: -1 } } } }), { code: 'FST_MCP_INVALID_OPTION' })
    await t.rejects(buildApp(t, { options: { cacheHints: { 'tools/list': { cacheScope: 'shared' as never } } } }), { code: 'FST_MCP_INVALID_OPTION' })
  })
})

t.test('statelessness: no session is minted, read or touched', async (t) => {
  const calls: string[] = []
  const inner = new MemorySessionStore({ ttlMs: 60_000, maxSessions: 100 })
  const counted = new Proxy(inner, {
    get (target, key, receiver) {
      const value = Reflect.get(target, key, receiver)
      if (typeof value !== 'function') return value
      return (...args: unknown[]) => {
        calls.push(String(key))
        return (value as (...a: unknown[]) => unknown).apply(target, args)
      }
    }
  }) as SessionStore
  const app = await buildApp(t, { demo: true, options: { sessionStore: counted } })
  calls.length = 0
  const messages = [
    modernRpc(41, 'server/discover'),
    modernRpc(42, 'tools/list'),
    modernRpc(43, 'tools/call', { name: 'echo', arguments: { text: 'x' } }),
    modernRpc(44, 'tools/call', { name: 'countdown', arguments: { from: 2, intervalMs: 0 }, _meta: { progressToken: 'p' } }, envelope({}, { [LOG_LEVEL]: 'debug' }))
  ]
  for (const message of messages) {
    const res = await postModern(app, message, { 'mcp-session-id': 'not-a-session', 'last-event-id': 'whatever' })
    t.equal(res.statusCode, 200, String(message.method))
    t.notOk(res.headers['mcp-session-id'], 'an incoming Mcp-Session-Id is ignored, not echoed')
  }
  t.same(calls, [], 'the session store was never called')
})

t.test('related messages: logs only with a logLevel, progress only with a token, SSE without ids', async (t) => {
  const app = await buildApp(t, { demo: true })
  const countdown = (meta: Record<string, unknown>, progressToken?: string) =>
    modernRpc(51, 'tools/call', { name: 'countdown', arguments: { from: 2, intervalMs: 0 }, ...(progressToken === undefined ? {} : { _meta: { progressToken } }) }, meta)

  const quiet = await postModern(app, countdown(envelope()))
  t.match(quiet.headers['content-type'], /application\/json/, 'nothing related to send: JSON')
  t.same(messagesOf(quiet).map((m) => m.method ?? 'result'), ['result'])

  const logged = await postModern(app, countdown(envelope({}, { [LOG_LEVEL]: 'info' })))
  t.match(logged.headers['content-type'], /text\/event-stream/)
  t.notMatch(logged.body, /^id:/m, 'no event ids: these streams are not resumable')
  t.equal(logged.headers['x-accel-buffering'], 'no')
  t.same(messagesOf(logged).map((m) => m.method ?? 'result'), ['notifications/message', 'notifications/message', 'result'])

  const above = await postModern(app, countdown(envelope({}, { [LOG_LEVEL]: 'error' })))
  t.same(messagesOf(above).map((m) => m.method ?? 'result'), ['result'], 'below the requested level: not sent')

  const progress = await postModern(app, countdown(envelope(), 'tok'))
  const sent = messagesOf(progress)
  t.same(sent.map((m) => m.method ?? 'result'), ['notifications/progress', 'notifications/progress', 'result'])
  t.equal(sent[0]!.params.progressToken, 'tok')
  t.equal(sent.at(-1)!.result.resultType, 'complete')
})

t.test('eras: legacy', async (t) => {
  const store = new MemorySessionStore({ ttlMs: 60_000, maxSessions: 100 })
  const app = await buildApp(t, { demo: true, options: { eras: 'legacy', sessionStore: store } })

  t.test('a modern probe gets a 4xx with a JSON-RPC body naming the 2025 revisions, and no session', async (t) => {
    const probe = { jsonrpc: '2.0', id: 'server-discover-probe-1', method: 'server/discover', params: { _meta: envelope() } }
    const res = await postModern(app, probe)
    const error = rpcError(t, res, 400, -32022, 'server-discover-probe-1')
    t.same(error.data, { supported: ['2025-11-25', '2025-06-18', '2025-03-26'], requested: MODERN })
    t.equal(await store.size(), 0, 'no session created')
  })

  t.test('the 2025 era is unchanged', async (t) => {
    const session = await openSession(app)
    t.equal((await post(app, rpc(1, 'ping'), session.headers)).statusCode, 200)
    const header = await post(app, rpc(2, 'ping'), { ...session.headers, 'mcp-protocol-version': MODERN })
    t.equal(header.statusCode, 400, 'a modern header on a session request is an unsupported version, as before')
    t.equal(header.json().error.code, -32000)
  })
})

t.test('eras: modern', async (t) => {
  const app = await buildApp(t, { demo: true, options: { eras: 'modern' } })

  t.test('initialize → 400 -32022 naming 2026-07-28', async (t) => {
    const res = await post(app, rpc(1, 'initialize', initializeParams('2025-11-25')), postHeaders())
    const error = rpcError(t, res, 400, -32022, 1)
    t.same(error.data, { supported: [MODERN], requested: '2025-11-25' })
  })

  t.test('claim-less requests → -32022; notifications → 202; batches and responses → -32600', async (t) => {
    rpcError(t, await post(app, rpc(2, 'tools/list'), postHeaders()), 400, -32022, 2)
    t.equal((await post(app, notification('notifications/initialized'), postHeaders())).statusCode, 202)
    rpcError(t, await post(app, [rpc(3, 'ping')], postHeaders()), 400, -32600, null)
    rpcError(t, await post(app, { jsonrpc: '2.0', id: 4, result: {} }, postHeaders()), 400, -32600, null)
  })

  t.test('GET and DELETE → 405 Allow: POST', async (t) => {
    for (const method of ['GET', 'DELETE'] as const) {
      const res = await app.inject({ method, url: '/mcp', headers: { accept: 'text/event-stream', 'mcp-session-id': 'x' } })
      t.equal(res.statusCode, 405, method)
      t.equal(res.headers.allow, 'POST')
    }
  })

  t.test('modern requests are served', async (t) => {
    t.equal((await postModern(app, modernRpc(5, 'tools/list'))).statusCode, 200)
  })

  t.test('the option is checked', async (t) => {
    await t.rejects(buildApp(t, { options: { eras: 'new' as never } }), { code: 'FST_MCP_INVALID_OPTION' })
  })
})

t.test('lenientVersionHeader: the known client bug, opt-in', async (t) => {
  const strict = await buildApp(t, { demo: true })
  const lenient = await buildApp(t, { demo: true, options: { lenientVersionHeader: true } })
  const message = modernRpc(61, 'tools/list')
  for (const header of ['2025-11-25', `${MODERN}, ${MODERN}`]) {
    rpcError(t, await postModern(strict, message, { 'mcp-protocol-version': header }), 400, -32020, 61)
    t.equal((await postModern(lenient, message, { 'mcp-protocol-version': header })).statusCode, 200, `served with header ${header}`)
  }
  const v999 = modernRpc(62, 'tools/list', {}, { ...envelope(), [PV]: 'v999.0.0' })
  rpcError(t, await postModern(lenient, v999), 400, -32020, 62, /does not match/)
  rpcError(t, await postModern(lenient, message, { 'mcp-protocol-version': '2024-01-01' }), 400, -32020, 61)
})

t.test('the derived headers of the helper match the spec examples', async (t) => {
  const headers = modernHeaders(modernRpc(1, 'tools/call', { name: 'get_weather' }))
  t.equal(headers['mcp-method'], 'tools/call')
  t.equal(headers['mcp-name'], 'get_weather')
})

t.test('a tool declared with a TypeBox schema and x-mcp-header', async (t) => {
  const app = await buildApp(t, {
    setup (app) {
      app.mcp.tool({ name: 'typed', description: 'typed', inputSchema: Type.Object({ region: Type.String({ 'x-mcp-header': 'Region' }) }) }, ({ region }) => region)
    }
  })
  const call = modernRpc(71, 'tools/call', { name: 'typed', arguments: { region: 'eu' } })
  rpcError(t, await postModern(app, call), 400, -32020, 71)
  t.equal((await postModern(app, call, { 'mcp-param-region': 'eu' })).json().result.content[0].text, 'eu')
})

t.test('multi round-trip requests over 2026-07-28 HTTP', async (t) => {
  const { acceptedContent, inputRequired } = await import('../lib/index.js')
  const setup = (app: import('fastify').FastifyInstance) => {
    app.mcp.tool({ name: 'greet', description: 'asks for a name', inputSchema: { type: 'object', properties: {} } }, (_args, ctx) => {
      const answer = acceptedContent(ctx.inputResponses, 'who')
      if (answer === undefined) {
        return inputRequired({ inputRequests: { who: inputRequired.elicit('Your name?', { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] }) }, requestState: { step: 1 } })
      }
      return `Hello, ${String(answer.name)} (state ${JSON.stringify(ctx.requestState)})`
    })
  }
  for (const responseMode of ['auto', 'sse'] as const) {
    t.test(`responseMode ${responseMode}`, async (t) => {
      const app = await buildApp(t, { options: { responseMode }, setup })
      const first = await postModern(app, modernRpc(81, 'tools/call', { name: 'greet', arguments: {} }, envelope({ elicitation: {} })))
      t.equal(first.statusCode, 200)
      const round1 = messagesOf(first).at(-1)!.result
      t.equal(round1.resultType, 'input_required')
      t.same(Object.keys(round1.inputRequests), ['who'])
      t.equal(round1.inputRequests.who.method, 'elicitation/create')
      t.type(round1.requestState, 'string', 'the state leaves signed, as a string')
      t.notOk('ttlMs' in round1, 'input_required results carry no cache hints')
      t.same(round1._meta[SERVER_INFO], { name: 'fastify-mcp-streamable', version: round1._meta[SERVER_INFO].version })

      const retry = (state: string, id = 82) => postModern(app, modernRpc(id, 'tools/call', {
        name: 'greet', arguments: {}, inputResponses: { who: { action: 'accept', content: { name: 'Ada' } } }, requestState: state
      }, envelope({ elicitation: {} })))
      const done = messagesOf(await retry(round1.requestState)).at(-1)!
      t.equal(done.result.resultType, 'complete')
      t.same(done.result.content, [{ type: 'text', text: 'Hello, Ada (state {"step":1})' }])

      const tampered = await retry(round1.requestState.slice(0, -2) + 'xx', 83)
      t.equal(tampered.statusCode, 200, 'tampered state: in band')
      const error = messagesOf(tampered).at(-1)!.error
      t.equal(error.code, -32602)
      t.equal(error.data.reason, 'invalid_request_state')

      const undeclared = await postModern(app, modernRpc(84, 'tools/call', { name: 'greet', arguments: {} }, envelope({})))
      t.equal(undeclared.statusCode, 400, 'a capability the request did not declare: HTTP 400 in every response mode')
      const missing = undeclared.json().error
      t.equal(missing.code, -32021)
      t.same(missing.data.requiredCapabilities, { elicitation: { form: {} } }, 'an object, not a list')
      t.equal(undeclared.json().id, 84)
    })
  }

  t.test('ctx.elicit() on a modern request is refused with a pointer to inputRequired', async (t) => {
    const app = await buildApp(t, {
      setup (app) {
        app.mcp.tool({ name: 'push', description: 'asks the 2025 way', inputSchema: { type: 'object', properties: {} } }, async (_args, ctx) => {
          const result = await ctx.elicit('name?', { type: 'object', properties: {} })
          return result.action
        })
      }
    })
    const res = await postModern(app, modernRpc(85, 'tools/call', { name: 'push', arguments: {} }, envelope({ elicitation: {} })))
    const result = res.json().result
    t.equal(result.isError, true)
    t.match(result.content[0].text, /inputRequired/)
  })
})

t.test('cache hints: a resource\'s own hint wins for its reads; every page of a list has the same scope', async (t) => {
  const app = await buildApp(t, {
    options: { pageSize: 1, cacheHints: { 'resources/read': { ttlMs: 1000, cacheScope: 'private' }, 'tools/list': { ttlMs: 5000, cacheScope: 'public' } } },
    setup (app) {
      app.mcp.resource({ uri: 'demo://shared', name: 'shared', cacheHint: { ttlMs: 60_000, cacheScope: 'public' } }, () => 'same for everyone')
      app.mcp.resource({ uri: 'demo://mine', name: 'mine' }, () => 'per user')
      app.mcp.resourceTemplate({ uriTemplate: 'demo://items/{id}', name: 'item', cacheHint: { ttlMs: 30_000 } }, (uri) => uri)
      for (const name of ['a', 'b', 'c']) app.mcp.tool({ name, description: name, inputSchema: { type: 'object', properties: {} } }, () => name)
    }
  })
  const read = async (uri: string) => (await postModern(app, modernRpc(91, 'resources/read', { uri }))).json().result
  t.match(await read('demo://shared'), { ttlMs: 60_000, cacheScope: 'public' }, 'the registration\'s hint')
  t.match(await read('demo://mine'), { ttlMs: 1000, cacheScope: 'private' }, 'the method\'s hint')
  t.match(await read('demo://items/7'), { ttlMs: 30_000, cacheScope: 'private' }, 'a template\'s partial hint, the rest from the method')

  const session = await openSession(app)
  const legacy = await post(app, rpc(92, 'resources/read', { uri: 'demo://shared' }), session.headers)
  t.notOk('ttlMs' in legacy.json().result, 'no hint fields on a 2025 result')

  const scopes: unknown[] = []
  let cursor: string | undefined
  do {
    const { result } = (await postModern(app, modernRpc(93, 'tools/list', cursor === undefined ? {} : { cursor }))).json()
    scopes.push([result.cacheScope, result.ttlMs])
    cursor = result.nextCursor
  } while (cursor !== undefined)
  t.same(scopes, [['public', 5000], ['public', 5000], ['public', 5000]], 'three pages, one scope')

  t.throws(() => app.mcp.resource({ uri: 'demo://bad', name: 'bad', cacheHint: { cacheScope: 'shared' as never } }, () => ''), { code: 'FST_MCP_INVALID_RESOURCE' })
  t.throws(() => app.mcp.resource({ uri: 'demo://bad', name: 'bad', cacheHint: { ttlMs: -1 } }, () => ''), { code: 'FST_MCP_INVALID_RESOURCE' })
})
