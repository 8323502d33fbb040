// Tools whose schemas are raw JSON Schema 2020-12 (what TypeBox does not express).
import t from 'tap'
import { buildApp, openSession, post, rpc } from './helpers/index.js'

// The conformance suite's json_schema_2020_12_tool, verbatim.
const SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object' as const,
  $defs: { address: { type: 'object', properties: { street: { type: 'string' }, city: { type: 'string' } } } },
  properties: { name: { type: 'string' }, address: { $ref: '#/$defs/address' } },
  additionalProperties: false
}

t.test('a raw 2020-12 inputSchema is published exactly as written and enforced', async (t) => {
  const app = await buildApp(t, { demo: true })
  app.mcp.tool({ name: 'json_schema_2020_12_tool', description: 'raw schema', inputSchema: SCHEMA }, async (args) => `hello ${String(args.name)}`)
  const session = await openSession(app)
  const list = (await post(app, rpc(1, 'tools/list'), session.headers)).json()
  const tool = list.result.tools.find((x: { name: string }) => x.name === 'json_schema_2020_12_tool')
  t.same(tool.inputSchema, SCHEMA)
  t.equal(JSON.stringify(tool.inputSchema), JSON.stringify(SCHEMA), 'key order and every keyword kept')

  const call = (args: unknown) => post(app, rpc(2, 'tools/call', { name: 'json_schema_2020_12_tool', arguments: args }), session.headers).then((r) => r.json().result)
  t.same(await call({ name: 'Ada', address: { street: 'Main', city: 'X' } }), { content: [{ type: 'text', text: 'hello Ada' }] })
  const extra = await call({ name: 'Ada', nickname: 'A' })
  t.equal(extra.isError, true, 'additionalProperties: false is enforced')
  t.match(extra.content[0].text, /Invalid arguments for tool json_schema_2020_12_tool/)
  const badRef = await call({ address: { street: 42 } })
  t.equal(badRef.isError, true, '$ref into $defs is followed')
  t.match(badRef.content[0].text, /\/address\/street/)
})

t.test('a raw outputSchema checks structuredContent', async (t) => {
  const app = await buildApp(t, { demo: true })
  const outputSchema = { type: 'object' as const, properties: { n: { type: 'integer', minimum: 0 } }, required: ['n'] }
  app.mcp.tool({ name: 'count', description: 'count', inputSchema: { type: 'object', properties: { n: { type: 'integer' } } }, outputSchema }, async (args) => ({ structuredContent: { n: args.n } }))
  const session = await openSession(app)
  const ok = (await post(app, rpc(1, 'tools/call', { name: 'count', arguments: { n: 3 } }), session.headers)).json()
  t.same(ok.result.structuredContent, { n: 3 })
  const bad = (await post(app, rpc(2, 'tools/call', { name: 'count', arguments: { n: -1 } }), session.headers)).json()
  t.equal(bad.error.code, -32603)
  t.match(bad.error.message, /outputSchema/)
})

t.test('unsupported dialects and unresolvable references are refused at registration', async (t) => {
  const app = await buildApp(t, { demo: true })
  t.throws(() => app.mcp.tool({ name: 'draft7', description: 'x', inputSchema: { $schema: 'http://json-schema.org/draft-07/schema#', type: 'object' } }, async () => 'x'),
    { code: 'FST_MCP_INVALID_TOOL', message: /unsupported JSON Schema dialect/ })
  t.throws(() => app.mcp.tool({ name: 'remote', description: 'x', inputSchema: { type: 'object', properties: { a: { $ref: 'https://example.com/schema.json' } } } }, async () => 'x'),
    { code: 'FST_MCP_INVALID_TOOL', message: /does not compile/ })
  t.throws(() => app.mcp.tool({ name: 'notobject', description: 'x', inputSchema: { type: 'array' } as never }, async () => 'x'),
    { code: 'FST_MCP_INVALID_TOOL', message: /object schema/ })
  t.throws(() => app.mcp.tool({ name: 'broken', description: 'x', inputSchema: { type: 'object', properties: { a: { type: 'no-such-type' } } } }, async () => 'x'),
    { code: 'FST_MCP_INVALID_TOOL' })
  const session = await openSession(app)
  const list = (await post(app, rpc(1, 'tools/list'), session.headers)).json()
  t.notOk(list.result.tools.some((x: { name: string }) => ['draft7', 'remote', 'notobject', 'broken'].includes(x.name)), 'none was registered')
})
