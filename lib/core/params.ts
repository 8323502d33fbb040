import type { Static, TSchema } from '@sinclair/typebox'
import type { TypeCheck } from '@sinclair/typebox/compiler'
import { ErrorCode, McpError } from './jsonrpc.js'

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
