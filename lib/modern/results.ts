import type { JsonRpcResponse } from '../../schemas/jsonrpc.js'
import type { Implementation } from '../../schemas/mcp.js'
import { META } from '../core/envelope.js'
import { ErrorCode, errorResponse } from '../core/jsonrpc.js'

import type { CacheHint } from '../core/features/cache-hint.js'

export type { CacheHint }

/** The methods whose complete results carry cache hints. */
export const CACHEABLE_METHODS = ['server/discover', 'tools/list', 'prompts/list', 'resources/list', 'resources/templates/list', 'resources/read'] as const
export type CacheableMethod = typeof CACHEABLE_METHODS[number]

/** The `_meta` every 2026-07-28 result carries, the server's identity: built and serialised once. */
export interface ServerMeta {
  readonly meta: Readonly<Record<string, unknown>>
  readonly json: string
}

export function serverMetaOf (serverInfo: Implementation): ServerMeta {
  const meta = Object.freeze({ [META.serverInfo]: serverInfo })
  return { meta, json: JSON.stringify(meta) }
}

/** Only these may answer `input_required` (spec: MUST NOT on any other request). */
const INPUT_REQUIRED_METHODS: ReadonlySet<string> = new Set(['tools/call', 'prompts/get', 'resources/read'])

/**
 * The 2026-07-28 dressing of a core answer: `resultType` on every result, the server's
 * identity in `_meta`, cache hints on the cacheable complete results (a hint the handler set
 * wins over the method's), and the error codes this revision uses (a missing resource is
 * -32602, never -32002 nor empty contents). The core's result objects may be shared, so
 * they are copied, never changed.
 */
export function stampResponse (response: JsonRpcResponse, method: string, serverMeta: ServerMeta, hints: Readonly<Record<string, CacheHint>>): JsonRpcResponse {
  const error = response.error
  if (error !== undefined) {
    if (error.code !== ErrorCode.ResourceNotFound) return response
    return errorResponse(response.id, ErrorCode.InvalidParams, error.message, error.data)
  }
  const result = response.result as Record<string, unknown>
  const resultType = result.resultType ?? 'complete'
  if (resultType !== 'complete' && !INPUT_REQUIRED_METHODS.has(method)) {
    return errorResponse(response.id, ErrorCode.InternalError, `Internal error: ${method} cannot answer resultType ${JSON.stringify(resultType)}`)
  }
  const meta = result._meta as Record<string, unknown> | undefined
  // Object.assign rather than spread: on Node 20 a spread-built object is slower to build
  // and to serialise, measurably so on this path (bench/modern.ts).
  const stamped: Record<string, unknown> = Object.assign({}, result)
  stamped.resultType = resultType
  stamped._meta = meta === undefined ? serverMeta.meta : Object.assign({}, meta, serverMeta.meta)
  const hint = resultType === 'complete' ? hints[method] : undefined
  if (hint !== undefined) {
    // Retries of input_required are never cacheable, so only complete results get hints.
    stamped.ttlMs ??= hint.ttlMs
    stamped.cacheScope ??= hint.cacheScope
  }
  return { jsonrpc: '2.0', id: response.id, result: stamped }
}

/**
 * `stampResponse`'s answer as JSON text. A complete result without `_meta`, `resultType` or a
 * cache hint (a tool's, typically) is serialised as it is and the two members appended to its
 * text, which is what serialising the stamped copy gives, for about half the cost.
 */
export function stampedJson (response: JsonRpcResponse, method: string, serverMeta: ServerMeta, hints: Readonly<Record<string, CacheHint>>): string {
  const result = response.result as Record<string, unknown> | undefined
  if (result !== undefined && hints[method] === undefined && !('resultType' in result) && !('_meta' in result) && typeof result.toJSON !== 'function') {
    const text = JSON.stringify(result)
    const members = `"resultType":"complete","_meta":${serverMeta.json}}`
    return `{"jsonrpc":"2.0","id":${JSON.stringify(response.id)},"result":${text === '{}' ? '{' + members : text.slice(0, -1) + ',' + members}}`
  }
  return JSON.stringify(stampResponse(response, method, serverMeta, hints))
}
