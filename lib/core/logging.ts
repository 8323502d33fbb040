import type { LoggingLevel } from '../../schemas/mcp.js'

/** RFC 5424 severities in increasing order, as MCP uses them. */
export const LOG_LEVELS: readonly LoggingLevel[] = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency']

const RANK: Readonly<Record<string, number>> = Object.freeze(Object.fromEntries(LOG_LEVELS.map((level, i) => [level, i])))

export function isLogLevel (value: unknown): value is LoggingLevel {
  return typeof value === 'string' && Object.hasOwn(RANK, value)
}

/** Whether a message at `level` passes a session's threshold (no threshold: everything). */
export function shouldSend (level: LoggingLevel, threshold: LoggingLevel | undefined): boolean {
  return threshold === undefined || RANK[level]! >= RANK[threshold]!
}
