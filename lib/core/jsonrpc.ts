import type { JsonRpcErrorResponse, JsonRpcResultResponse, RequestId } from '../../schemas/jsonrpc.js'

/** JSON-RPC and MCP error codes used on the wire. */
export const ErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  /** Transport-level errors (the SDK's convention, legacy range). */
  ConnectionClosed: -32000,
  SessionNotFound: -32001,
  ResourceNotFound: -32002
} as const

/**
 * An error a method handler (or a tool) throws to answer with a specific JSON-RPC error
 * instead of a tool result or -32603.
 */
export class McpError extends Error {
  readonly code: number
  readonly data: unknown
  constructor (code: number, message: string, data?: unknown) {
    super(message)
    this.name = 'McpError'
    this.code = code
    this.data = data
  }
}

export function resultResponse (id: RequestId, result: Record<string, unknown>): JsonRpcResultResponse {
  return { jsonrpc: '2.0', id, result }
}

export function errorResponse (id: RequestId | null, code: number, message: string, data?: unknown): JsonRpcErrorResponse {
  const error: JsonRpcErrorResponse['error'] = data === undefined ? { code, message } : { code, message, data }
  return { jsonrpc: '2.0', id, error }
}
