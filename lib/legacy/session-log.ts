import { createHash } from 'node:crypto'
import type { SessionEnd, SessionLifecycle } from '../core/session-lifecycle.js'
import type { SessionRecord } from '../core/session-record.js'
import { shortSessionId, type Logger } from '../log.js'

/**
 * A principal as logs may carry it: the first 12 hex digits of its SHA-256, enough to tell
 * one caller's sessions from another's, not to read who it is.
 */
export function principalHash (principal: string | undefined): string | undefined {
  return principal === undefined ? undefined : createHash('sha256').update(principal).digest('hex').slice(0, 12)
}

/**
 * One info line per session start (`mcp: session started`) and end (`mcp: session ended`,
 * with its reason and, when the record is known, its duration). Fields: `mcpSession` (the
 * abbreviated id, as every log of the session carries it), `protocolVersion`, `principal`
 * (hashed), `client` (name/version). Never the full session id, never a token.
 */
export function sessionLog (log: Logger): SessionLifecycle {
  return {
    started (session: SessionRecord) {
      log.info({
        mcpSession: shortSessionId(session.id),
        protocolVersion: session.protocolVersion,
        principal: principalHash(session.principal),
        client: `${session.clientInfo.name}/${session.clientInfo.version}`
      }, 'mcp: session started')
    },
    ended ({ id, reason, record }: SessionEnd) {
      log.info({
        mcpSession: shortSessionId(id),
        reason,
        durationMs: record === undefined ? undefined : Date.now() - record.createdAt,
        protocolVersion: record?.protocolVersion,
        principal: principalHash(record?.principal)
      }, 'mcp: session ended')
    }
  }
}
