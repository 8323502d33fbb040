import t from 'tap'
import type { JsonRpcResponse } from '../schemas/jsonrpc.js'
import { ErrorCode, errorResponse } from '../lib/core/jsonrpc.js'
import { serverMetaOf, stampResponse, stampedJson } from '../lib/modern/results.js'

// stampedJson appends resultType and _meta to a result's own text when it can: its answer must
// be, byte for byte, what serialising stampResponse's copy gives, whatever the result.
t.test('stampedJson is JSON.stringify(stampResponse(…)), byte for byte', async (t) => {
  const serverMeta = serverMetaOf({ name: 'results-test', version: '1.2.3' })
  const hints = { 'tools/list': { ttlMs: 5000, cacheScope: 'public' as const } }
  const withToJson = { toJSON: () => ({ content: [], resultType: 'complete' }) }
  const cases: Array<[string, string, JsonRpcResponse]> = [
    ['a tool result', 'tools/call', { jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'hello "quoted" ünïcode' }] } }],
    ['an empty result', 'tools/call', { jsonrpc: '2.0', id: 'a-string-id', result: {} }],
    ['a result with its own _meta', 'tools/call', { jsonrpc: '2.0', id: 2, result: { content: [], _meta: { mine: true } } }],
    ['an input_required result', 'tools/call', { jsonrpc: '2.0', id: 3, result: { resultType: 'input_required', inputRequests: {} } }],
    ['resultType set to undefined', 'tools/call', { jsonrpc: '2.0', id: 4, result: { resultType: undefined, content: [] } }],
    ['a cacheable list (hinted)', 'tools/list', { jsonrpc: '2.0', id: 5, result: { tools: [] } }],
    ['a cacheable list without a hint', 'prompts/list', { jsonrpc: '2.0', id: 6, result: { prompts: [] } }],
    ['a result with toJSON', 'tools/call', { jsonrpc: '2.0', id: 7, result: withToJson as unknown as Record<string, unknown> }],
    ['input_required where it is not allowed', 'tools/list', { jsonrpc: '2.0', id: 8, result: { resultType: 'input_required' } }],
    ['an error', 'tools/call', errorResponse(9, ErrorCode.InvalidParams, 'bad')],
    ['a missing resource', 'resources/read', errorResponse(10, ErrorCode.ResourceNotFound, 'no such resource', { uri: 'file:///x' })]
  ]
  for (const [what, method, response] of cases) {
    const expected = JSON.stringify(stampResponse(response, method, serverMeta, hints))
    t.equal(stampedJson(response, method, serverMeta, hints), expected, what)
    t.doesNotThrow(() => JSON.parse(stampedJson(response, method, serverMeta, hints)), `${what}: valid JSON`)
  }
  const plain = JSON.parse(stampedJson(cases[0]![2], 'tools/call', serverMeta, hints)) as { result: Record<string, unknown> }
  t.equal(plain.result.resultType, 'complete')
  t.same(plain.result._meta, { 'io.modelcontextprotocol/serverInfo': { name: 'results-test', version: '1.2.3' } })
})
