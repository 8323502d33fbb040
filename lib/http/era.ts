import type { FastifyReply } from 'fastify'
import type { JsonRpcBody, RequestId } from '../../schemas/jsonrpc.js'
import { META, hasClaim, metaOf } from '../core/envelope.js'
import { ErrorCode, errorResponse } from '../core/jsonrpc.js'
import { MODERN_VERSIONS, SUPPORTED_VERSIONS, isModernVersionName } from '../core/versions.js'
import { sendHttpError, shorten } from './wire.js'

/** The protocol eras an endpoint serves. */
export type Eras = 'both' | 'legacy' | 'modern'

/**
 * Which era a POST body belongs to, as the 2026-07-28 versioning rules decide on a dual-era
 * endpoint: the body decides and the `MCP-Protocol-Version` header only cross-checks, so a
 * proxy that drops a header cannot move a request between eras.
 *
 * - `legacy`: claim-less requests and notifications (`initialize`, 2025 session traffic),
 *   posted responses (answers to the server's requests on a session), claim-less batches;
 * - `modern`: a message carrying `params._meta["io.modelcontextprotocol/protocolVersion"]`,
 *   or a claim-less message whose header names a modern revision (the modern door refuses
 *   it with the missing envelope rather than serve it as 2025);
 * - `modern-batch`: a batch with a claimed element, refused (-32600): 2026-07-28 has none.
 */
export function classifyPost (body: JsonRpcBody, versionHeader: string | undefined): 'legacy' | 'modern' | 'modern-batch' {
  if (Array.isArray(body)) {
    for (const message of body) {
      if ('method' in message && hasClaim(message)) return 'modern-batch'
    }
    return 'legacy'
  }
  if (!('method' in body)) return 'legacy'
  if (hasClaim(body)) return 'modern'
  return versionHeader !== undefined && isModernVersionName(versionHeader) ? 'modern' : 'legacy'
}

function unsupportedVersion (reply: FastifyReply, id: RequestId | null, supported: readonly string[], requested: unknown): FastifyReply {
  const data = typeof requested === 'string' ? { supported, requested: shorten(requested) } : { supported }
  const error = errorResponse(id, ErrorCode.UnsupportedProtocolVersion, `Unsupported protocol version: this server speaks ${supported.join(', ')}`, data)
  return reply.code(400).type('application/json').send(JSON.stringify(error))
}

/**
 * A legacy-only endpoint's answer to a 2026-07-28 message (a claim in `_meta`): 400 -32022
 * naming the 2025 revisions, and no session. A probing client reads it as "speak 2025" and
 * falls back to `initialize`.
 */
export function refuseModern (reply: FastifyReply, message: object): FastifyReply {
  const id = (message as { id?: RequestId }).id ?? null
  return unsupportedVersion(reply, id, SUPPORTED_VERSIONS, metaOf(message)?.[META.protocolVersion])
}

/**
 * A modern-only endpoint's answer to 2025 traffic: requests (`initialize` first) get 400
 * -32022 naming 2026-07-28, notifications are accepted and dropped, batches and posted
 * responses are invalid (there is no session they could belong to).
 */
export function refuseLegacy (reply: FastifyReply, body: JsonRpcBody, versionHeader: string | undefined): FastifyReply {
  if (Array.isArray(body)) return sendHttpError(reply, 400, ErrorCode.InvalidRequest, 'Invalid Request: this server speaks 2026-07-28, which has no batches')
  if (body.method === undefined) return sendHttpError(reply, 400, ErrorCode.InvalidRequest, 'Invalid Request: this server speaks 2026-07-28 and sends no requests a response could answer')
  if (body.id === undefined) return reply.code(202).send()
  const params = body.params as Record<string, unknown> | undefined
  const requested = body.method === 'initialize' ? params?.protocolVersion : versionHeader
  return unsupportedVersion(reply, body.id, MODERN_VERSIONS, requested)
}
