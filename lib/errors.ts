import createError from '@fastify/error'

/**
 * Configuration and programming errors thrown by the plugin (never sent on the wire:
 * wire errors are JSON-RPC error objects, see `lib/core/jsonrpc.ts`).
 */
export const errors = {
  FST_MCP_INVALID_OPTION: createError<[string, string]>('FST_MCP_INVALID_OPTION', 'fastify-mcp-streamable: invalid option "%s": %s', 500, TypeError),
  FST_MCP_INVALID_STORE: createError<[string, string]>('FST_MCP_INVALID_STORE', 'fastify-mcp-streamable: invalid store "%s": %s', 500, TypeError),
  FST_MCP_ALREADY_REGISTERED: createError('FST_MCP_ALREADY_REGISTERED', 'fastify-mcp-streamable has already been registered on this instance'),
  FST_MCP_INVALID_TOOL: createError<[string, string]>('FST_MCP_INVALID_TOOL', 'Invalid tool "%s": %s', 500, TypeError),
  FST_MCP_DUPLICATE_TOOL: createError<[string]>('FST_MCP_DUPLICATE_TOOL', 'A tool named "%s" is already registered'),
  FST_MCP_PROGRESS_NOT_INCREASING: createError<[number, number]>('FST_MCP_PROGRESS_NOT_INCREASING', 'Progress must increase with each notification: got %d after %d', 500, RangeError),
  FST_MCP_INVALID_LOG_LEVEL: createError<[string]>('FST_MCP_INVALID_LOG_LEVEL', 'Unknown MCP log level "%s"', 500, TypeError),
  FST_MCP_CLIENT_CAPABILITY: createError<[string, string]>('FST_MCP_CLIENT_CAPABILITY', '%s needs the client capability "%s", which this client did not declare'),
  FST_MCP_CLIENT_REQUEST: createError<[string, string]>('FST_MCP_CLIENT_REQUEST', '%s could not be completed: %s'),
  FST_MCP_CLIENT_TIMEOUT: createError<[string, number]>('FST_MCP_CLIENT_TIMEOUT', '%s: the client did not answer within %d ms'),
  FST_MCP_INVALID_PROMPT: createError<[string, string]>('FST_MCP_INVALID_PROMPT', 'Invalid prompt "%s": %s', 500, TypeError),
  FST_MCP_DUPLICATE_PROMPT: createError<[string]>('FST_MCP_DUPLICATE_PROMPT', 'A prompt named "%s" is already registered'),
  FST_MCP_INVALID_RESOURCE: createError<[string, string]>('FST_MCP_INVALID_RESOURCE', 'Invalid resource "%s": %s', 500, TypeError),
  FST_MCP_STORE_UNAVAILABLE: createError<[string]>('FST_MCP_STORE_UNAVAILABLE', 'The shared store is unreachable: %s', 503),
  FST_MCP_RATE_LIMITED: createError<[string]>('FST_MCP_RATE_LIMITED', 'Rate limit exceeded, retry in %s', 429),
  FST_MCP_DUPLICATE_RESOURCE: createError<[string, string]>('FST_MCP_DUPLICATE_RESOURCE', 'A resource with %s "%s" is already registered'),
  // Thrown by the client (`fastify-mcp-streamable/client`) to the application that uses it.
  FST_MCP_HTTP_STATUS: createError<[string, string]>('FST_MCP_HTTP_STATUS', 'The server answered %s. %s', 502),
  FST_MCP_RPC_ERROR: createError<[string, string]>('FST_MCP_RPC_ERROR', '%s failed: %s', 502),
  FST_MCP_REQUEST_TIMEOUT: createError<[string, number]>('FST_MCP_REQUEST_TIMEOUT', '%s: the server did not answer within %d ms', 504),
  FST_MCP_ERA_NEGOTIATION: createError<[string, string]>('FST_MCP_ERA_NEGOTIATION', 'Could not choose a protocol revision for %s: %s', 502),
  FST_MCP_BAD_RESPONSE: createError<[string, string]>('FST_MCP_BAD_RESPONSE', '%s: unusable answer from the server: %s', 502),
  FST_MCP_SSE_OVERFLOW: createError<[number]>('FST_MCP_SSE_OVERFLOW', 'An SSE event from the server exceeded %d characters; the stream was dropped', 502),
  FST_MCP_CLIENT_CLOSED: createError<[string, string]>('FST_MCP_CLIENT_CLOSED', '%s: the client is closed%s', 500)
}
