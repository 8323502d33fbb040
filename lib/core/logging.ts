import type { LoggingLevel } from '../../schemas/mcp.js'

/** RFC 5424 severities in increasing order, as MCP uses them. */
export const LOG_LEVELS: readonly LoggingLevel[] = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency']

const RANK: Readonly<Record<string, number>> = Object.freeze(Object.fromEntries(LOG_LEVELS.map((level, i) => [level, i])))

export function isLogLevel (value: unknown): value is LoggingLevel {
  return typeof value === 'string' && Object.hasOwn(RANK, value)
}

/**
 * Whether a message at `level` passes the caller's threshold: undefined lets everything
 * through (a 2025 session that never set a level), null nothing (a 2026-07-28 request
 * without a `logLevel` in its `_meta`).
 */
export function shouldSend (level: LoggingLevel, threshold: LoggingLevel | null | undefined): boolean {
  if (threshold === null) return false
  return threshold === undefined || RANK[level]! >= RANK[threshold]!
}
