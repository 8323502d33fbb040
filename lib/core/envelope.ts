import type { Implementation, LoggingLevel } from '../../schemas/mcp.js'
import { isLogLevel } from './logging.js'

/** The reserved `_meta` keys of 2026-07-28. */
export const META = Object.freeze({
  protocolVersion: 'io.modelcontextprotocol/protocolVersion',
  clientCapabilities: 'io.modelcontextprotocol/clientCapabilities',
  clientInfo: 'io.modelcontextprotocol/clientInfo',
  logLevel: 'io.modelcontextprotocol/logLevel',
  serverInfo: 'io.modelcontextprotocol/serverInfo',
  subscriptionId: 'io.modelcontextprotocol/subscriptionId'
})

/** What a 2026-07-28 request says of its client, read from `params._meta`. */
export interface Envelope {
  readonly protocolVersion: string
  readonly clientCapabilities: Readonly<Record<string, unknown>>
  readonly clientInfo: Implementation | undefined
  /** null: the request did not opt in to `notifications/message`. */
  readonly logLevel: LoggingLevel | null
}

/** Why an envelope was refused: the `data.envelope` of the -32602 answer. */
export interface EnvelopeProblem {
  readonly key: string
  readonly problem: string
}

function isObject (value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/** `params._meta` of a message, if it is an object. */
export function metaOf (message: object): Record<string, unknown> | undefined {
  const params = (message as { params?: unknown }).params
  if (!isObject(params)) return undefined
  const meta = params._meta
  return isObject(meta) ? meta : undefined
}

/**
 * The claim that makes a request modern: the presence of the protocol version key, whatever
 * its value (a malformed claim is an error, never a fallback to the 2025 era).
 */
export function hasClaim (message: object): boolean {
  const meta = metaOf(message)
  return meta !== undefined && Object.hasOwn(meta, META.protocolVersion)
}

/** The envelope of a claimed request, or what is wrong with it. */
export function readEnvelope (meta: Record<string, unknown> | undefined): Envelope | EnvelopeProblem {
  if (meta === undefined) return { key: '_meta', problem: 'missing: a 2026-07-28 request carries its protocol version and client capabilities in params._meta' }
  const protocolVersion = meta[META.protocolVersion]
  if (protocolVersion === undefined) return { key: META.protocolVersion, problem: 'missing' }
  if (typeof protocolVersion !== 'string' || protocolVersion === '') return { key: META.protocolVersion, problem: 'must be a non-empty string' }
  const clientCapabilities = meta[META.clientCapabilities]
  if (clientCapabilities === undefined) return { key: META.clientCapabilities, problem: 'missing' }
  if (!isObject(clientCapabilities)) return { key: META.clientCapabilities, problem: 'must be an object' }
  const clientInfo = meta[META.clientInfo]
  if (clientInfo !== undefined && (!isObject(clientInfo) || typeof clientInfo.name !== 'string' || typeof clientInfo.version !== 'string')) {
    return { key: META.clientInfo, problem: 'must be an object with string name and version' }
  }
  const logLevel = meta[META.logLevel]
  if (logLevel !== undefined && !isLogLevel(logLevel)) return { key: META.logLevel, problem: 'must be one of the RFC 5424 levels MCP names' }
  return {
    protocolVersion,
    clientCapabilities,
    clientInfo: clientInfo as Implementation | undefined,
    logLevel: logLevel ?? null
  }
}

export function isEnvelope (value: Envelope | EnvelopeProblem): value is Envelope {
  return 'protocolVersion' in value
}
