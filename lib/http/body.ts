import type { FastifyRequest } from 'fastify'
import type { FastifySchemaCompiler } from 'fastify/types/schema.js'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import type { TSchema } from '@sinclair/typebox'
import sjson from 'secure-json-parse'

/** Thrown by the body parser; mapped to JSON-RPC errors by the MCP error handler. */
export class BodyError extends Error {
  readonly code: 'MCP_PARSE_ERROR' | 'MCP_FORBIDDEN_KEY'
  constructor (code: BodyError['code'], message: string) {
    super(message)
    this.code = code
  }
}

const FORBIDDEN = { protoAction: 'error', constructorAction: 'error' } as const

/**
 * `application/json` parser for the MCP route: invalid JSON → -32700; `__proto__` or
 * `constructor.prototype` keys → -32600 (they are refused rather than silently dropped).
 */
export function parseJsonBody (_request: FastifyRequest, body: string | Buffer, done: (err: Error | null, body?: unknown) => void): void {
  const text = typeof body === 'string' ? body : body.toString('utf8')
  // An empty body (a DELETE sent with a Content-Type) is no body; the POST handler
  // answers it with -32700 itself.
  if (text === '') {
    done(null, undefined)
    return
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    done(new BodyError('MCP_PARSE_ERROR', 'Parse error: Invalid JSON'))
    return
  }
  // The scan only runs when the text could hold a poisoned key, so clean bodies pay nothing.
  // A `\u` escape can spell either key without its letters appearing in the raw text.
  if (value !== null && typeof value === 'object' && (text.includes('__proto__') || text.includes('constructor') || text.includes('\\u'))) {
    try {
      sjson.scan(value as Record<string, unknown>, FORBIDDEN)
    } catch {
      done(new BodyError('MCP_FORBIDDEN_KEY', 'Invalid Request: "__proto__" and "constructor.prototype" keys are not allowed'))
      return
    }
  }
  done(null, value)
}

function describeMessage (message: unknown): string {
  if (message === null || typeof message !== 'object' || Array.isArray(message)) return 'a JSON-RPC message must be an object'
  const m = message as Record<string, unknown>
  if (m.jsonrpc !== '2.0') return 'jsonrpc must be "2.0"'
  if ('method' in m) {
    if (typeof m.method !== 'string' || m.method === '') return 'method must be a non-empty string'
    if (m.id === null) return 'a request id must be a string or an integer, not null'
    if ('id' in m && typeof m.id !== 'string' && !Number.isInteger(m.id)) return 'a request id must be a string or an integer'
    if (m.params !== undefined && (m.params === null || typeof m.params !== 'object')) return 'params must be an object'
    if ('result' in m || 'error' in m) return 'a request must not carry result or error'
  } else if ('result' in m || 'error' in m) {
    return 'a response needs a string or integer id and exactly one of result (an object) or error ({code, message})'
  }
  return 'not a JSON-RPC 2.0 request, notification or response'
}

/** Why a body failed the envelope schema, in words a client developer can act on. */
export function describeInvalidBody (body: unknown): string {
  if (Array.isArray(body)) {
    if (body.length === 0) return 'Invalid Request: an empty batch'
    for (let i = 0; i < body.length; i++) {
      const reason = describeMessage(body[i])
      if (reason !== '') return `Invalid Request: batch item ${i}: ${reason}`
    }
  }
  return `Invalid Request: ${describeMessage(body)}`
}

/**
 * Validator compiler for the MCP body: TypeBox's compiled check, plus the batch size bound
 * checked first so a huge array is refused before it is walked.
 */
export function envelopeValidator (maxBatchSize: number): FastifySchemaCompiler<TSchema> {
  return ({ schema }) => {
    const check = TypeCompiler.Compile(schema)
    return (data: unknown) => {
      if (Array.isArray(data) && data.length > maxBatchSize) {
        return { error: new Error(`Invalid Request: a batch must not exceed ${maxBatchSize} messages`) }
      }
      if (check.Check(data)) return { value: data }
      return { error: new Error(describeInvalidBody(data)) }
    }
  }
}
