import type { FastifyReply } from 'fastify'
import { clip, errorResponse } from '../core/jsonrpc.js'

/**
 * Answer with an HTTP error whose body is a JSON-RPC error object (`id: null`): no error
 * leaves the MCP endpoint in Fastify's default `{statusCode, error, message}` shape.
 */
export function sendHttpError (reply: FastifyReply, status: number, code: number, message: string): FastifyReply {
  return reply.code(status).type('application/json').send(JSON.stringify(errorResponse(null, code, message)))
}

/** Keep attacker-controlled text short in error messages. */
export function quote (value: string): string {
  return JSON.stringify(shorten(value))
}

/** Keep attacker-controlled strings short in error data (other values pass as they are). */
export function shorten<T> (value: T): T | string {
  return typeof value === 'string' ? clip(value) : value
}

/** Whether an `Accept` header admits `type` (exactly, by `type/*`, or by `*\/*`). */
export function accepts (header: string | undefined, type: string): boolean {
  if (header === undefined) return false
  const lower = header.toLowerCase()
  if (lower.includes(type)) return true
  const slash = type.indexOf('/')
  const wildcard = type.slice(0, slash) + '/*'
  for (const part of lower.split(',')) {
    const semi = part.indexOf(';')
    const media = (semi === -1 ? part : part.slice(0, semi)).trim()
    if (media === '*/*' || media === wildcard) return true
  }
  return false
}

/** `auto`: JSON unless a related message must go first, then SSE; `json` / `sse` force one. */
export type ResponseMode = 'auto' | 'json' | 'sse'
