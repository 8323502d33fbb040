import type { Static, TSchema } from '@sinclair/typebox'
import type { TypeCheck } from '@sinclair/typebox/compiler'
import type { JsonRpcErrorResponse, JsonRpcResultResponse, RequestId } from '../../schemas/jsonrpc.js'

/** JSON-RPC and MCP error codes used on the wire. */
export const ErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  /**
   * Errors of the transport rather than of a method (HTTP-level refusals: 400, 403, 405,
   * 406, 413, 415, 503), in the implementation-defined range, as the official SDK answers them.
   */
  TransportError: -32000,
  /** @deprecated the same code as `TransportError`, under the official SDK's name. */
  ConnectionClosed: -32000,
  SessionNotFound: -32001,
  ResourceNotFound: -32002,
  /** 2026-07-28: the `MCP-Protocol-Version` / `Mcp-Method` / `Mcp-Name` headers disagree with the body. */
  HeaderMismatch: -32020,
  /** 2026-07-28: serving the request needs a client capability its `_meta` did not declare (`data.requiredCapabilities`). */
  MissingRequiredClientCapability: -32021,
  /** 2026-07-28: the request's protocol version is not served (`data.supported`, `data.requested`). */
  UnsupportedProtocolVersion: -32022
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

/**
 * Client text (a method, a tool or prompt name, a URI) as it may appear in an error: at most
 * 100 characters, so a 3 MiB name does not come back whole.
 */
export function clip (text: string): string {
  return text.length > 100 ? text.slice(0, 100) + '…' : text
}

export function resultResponse (id: RequestId, result: Record<string, unknown>): JsonRpcResultResponse {
  return { jsonrpc: '2.0', id, result }
}

/** The answer to a request on an unknown, expired or deleted session (404). */
export const SESSION_NOT_FOUND = Object.freeze(errorResponse(null, ErrorCode.SessionNotFound, 'Session not found'))

export function errorResponse (id: RequestId | null, code: number, message: string, data?: unknown): JsonRpcErrorResponse {
  const error: JsonRpcErrorResponse['error'] = data === undefined ? { code, message } : { code, message, data }
  return { jsonrpc: '2.0', id, error }
}

/** `/a: Expected number; /b: Required property` — at most five, for a readable message. */
export function describeErrors (check: { Errors (value: unknown): Iterable<{ path: string, message: string }> }, value: unknown): string {
  const messages: string[] = []
  for (const error of check.Errors(value)) {
    messages.push(`${error.path === '' ? '(root)' : error.path}: ${error.message}`)
    if (messages.length === 5) break
  }
  return messages.join('; ')
}

/** The params if they match, else -32602 with what is wrong. */
export function validParams<T extends TSchema> (check: TypeCheck<T>, params: unknown): Static<T> {
  if (!check.Check(params)) {
    throw new McpError(ErrorCode.InvalidParams, `Invalid params: ${describeErrors(check, params)}`)
  }
  return params
}
