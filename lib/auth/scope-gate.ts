import type { FastifyReply, FastifyRequest } from 'fastify'
import type { RequestId } from '../../schemas/jsonrpc.js'
import { ErrorCode, errorResponse } from '../core/jsonrpc.js'
import { bearerChallenge } from './challenge.js'
import type { NormalizedAuth } from './options.js'
import { missingScopes, unionScopes } from './scopes.js'

/**
 * What an operation needs that the request's token lacks: every scope the operation needs
 * (the endpoint's and its own, so one step-up is enough, RFC 6750 §3.1 and MCP 2026-07-28),
 * or undefined when the token has them all.
 */
export function scopeShortfall (auth: NormalizedAuth, request: FastifyRequest, required: readonly string[]): readonly string[] | undefined {
  const needed = unionScopes(auth.scopes, required)
  if (needed.length === 0) return undefined
  return missingScopes(request.mcpAuth?.scopes, needed).length === 0 ? undefined : needed
}

/** 403 with `WWW-Authenticate: Bearer error="insufficient_scope", scope="<needed>"` and a JSON-RPC error echoing `id`. */
export function refuseScope (auth: NormalizedAuth, reply: FastifyReply, id: RequestId | null, needed: readonly string[]): FastifyReply {
  const scope = needed.join(' ')
  reply.header('www-authenticate', bearerChallenge(auth, { error: 'insufficient_scope', scope, description: `This operation needs the scopes: ${scope}` }))
  return reply.code(403).type('application/json').send(JSON.stringify(errorResponse(id, ErrorCode.TransportError, `Forbidden: insufficient scope (needs ${scope})`)))
}

/**
 * The per-operation check of a front door: answers 403 and returns true when the token lacks
 * a scope the message needs. `required` is the core's `requiredScopes` of the message.
 */
export function refuseInsufficientScope (auth: NormalizedAuth, request: FastifyRequest, reply: FastifyReply, id: RequestId | null, required: readonly string[]): boolean {
  const needed = scopeShortfall(auth, request, required)
  if (needed === undefined) return false
  refuseScope(auth, reply, id, needed)
  return true
}
