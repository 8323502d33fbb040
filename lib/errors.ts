import createError from '@fastify/error'

/**
 * Configuration and programming errors thrown by the plugin (never sent on the wire:
 * wire errors are JSON-RPC error objects, see `lib/protocol/jsonrpc.ts`).
 */
export const errors = {
  FST_MCP_INVALID_OPTION: createError<[string, string]>('FST_MCP_INVALID_OPTION', 'fastify-mcp-streamable: invalid option "%s": %s', 500, TypeError),
  FST_MCP_INVALID_STORE: createError<[string]>('FST_MCP_INVALID_STORE', 'fastify-mcp-streamable: the session store %s', 500, TypeError),
  FST_MCP_ALREADY_REGISTERED: createError('FST_MCP_ALREADY_REGISTERED', 'fastify-mcp-streamable has already been registered on this instance'),
  FST_MCP_INVALID_TOOL: createError<[string, string]>('FST_MCP_INVALID_TOOL', 'Invalid tool "%s": %s', 500, TypeError),
  FST_MCP_DUPLICATE_TOOL: createError<[string]>('FST_MCP_DUPLICATE_TOOL', 'A tool named "%s" is already registered'),
  FST_MCP_PROGRESS_NOT_INCREASING: createError<[number, number]>('FST_MCP_PROGRESS_NOT_INCREASING', 'Progress must increase with each notification: got %d after %d', 500, RangeError),
  FST_MCP_INVALID_LOG_LEVEL: createError<[string]>('FST_MCP_INVALID_LOG_LEVEL', 'Unknown MCP log level "%s"', 500, TypeError)
}
