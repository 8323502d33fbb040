import { existsSync } from 'node:fs'
import Fastify from 'fastify'
import t from 'tap'
import * as source from '../lib/index.js'

// The public runtime surface. Adding an export is a decision: add it here too.
const RUNTIME_EXPORTS = [
  'default', 'fastifyMcp', 'errors', 'mcpClientErrorHandler', 'ErrorCode', 'McpError', 'MemorySessionStore', 'SUPPORTED_VERSIONS', 'LATEST_VERSION', 'MODERN_VERSIONS',
  'MemoryEventStore', 'formatEventId', 'parseEventId',
  'inputRequired', 'isInputRequired', 'acceptedContent', 'sampledMessage', 'listedRoots', 'RequestStateCodec',
  'AnnotationsSchema', 'AudioContentSchema', 'BlobResourceContentsSchema', 'CallToolParamsSchema', 'CallToolResultSchema',
  'CancelledParamsSchema', 'ContentBlockSchema', 'EmbeddedResourceSchema', 'IconSchema', 'ImageContentSchema',
  'ImplementationSchema', 'InitializeParamsSchema', 'InitializeResultSchema', 'JsonRpcBodySchema', 'JsonRpcErrorObjectSchema',
  'JsonRpcErrorResponseSchema', 'JsonRpcMessageSchema', 'JsonRpcNotificationSchema', 'JsonRpcRequestSchema',
  'JsonRpcResultResponseSchema', 'LoggingLevelSchema', 'PaginatedParamsSchema', 'ProgressTokenSchema', 'RequestIdSchema',
  'ResourceLinkSchema', 'ServerCapabilitiesSchema', 'SetLevelParamsSchema', 'TextContentSchema', 'TextResourceContentsSchema',
  'ToolAnnotationsSchema',
  'CreateMessageParamsSchema', 'CreateMessageResultSchema', 'ElicitResultSchema', 'ListRootsResultSchema', 'RootSchema',
  'SamplingMessageSchema',
  'GetPromptParamsSchema', 'GetPromptResultSchema', 'PromptArgumentSchema', 'PromptMessageSchema', 'PromptSchema',
  'ReadResourceParamsSchema', 'ReadResourceResultSchema', 'ResourceContentsSchema', 'ResourceSchema', 'ResourceTemplateSchema',
  'SubscribeParamsSchema'
].sort()

t.test('the public exports are exactly the pinned list', async (t) => {
  t.same(Object.keys(source).sort(), RUNTIME_EXPORTS)
  t.equal(source.default, source.fastifyMcp)
  t.same(source.SUPPORTED_VERSIONS, ['2025-11-25', '2025-06-18', '2025-03-26'])
})

t.test('the plugin carries fastify-plugin metadata for Fastify 5', async (t) => {
  const meta = (source.default as unknown as Record<symbol, { fastify: string, name: string }>)[Symbol.for('plugin-meta')]
  t.equal(meta.fastify, '5.x')
  t.equal(meta.name, 'fastify-mcp-streamable')
})

t.test('every FST_MCP error has its code', async (t) => {
  for (const [code, ErrorClass] of Object.entries(source.errors)) {
    t.match(code, /^FST_MCP_/)
    t.equal(new (ErrorClass as new (...args: unknown[]) => Error & { code: string })('a', 'b').code, code)
  }
})

// The package ships dist/: what `npm ci` built (prepare) must export the same and work.
const built = new URL('../dist/lib/index.js', import.meta.url)
t.test('the built package exports the same and serves MCP', { skip: existsSync(built) ? false : 'dist/ not built (run npm run build)' }, async (t) => {
  const dist = await import(built.href) as typeof source
  t.same(Object.keys(dist).sort(), RUNTIME_EXPORTS)
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(dist.default)
  const res = await app.inject({
    method: 'POST',
    url: '/mcp',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    payload: { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'c', version: '1' } } }
  })
  t.equal(res.statusCode, 200)
  t.equal(res.json().result.serverInfo.name, 'fastify-mcp-streamable')
})
