import type { IncomingHttpHeaders } from 'node:http'
import { argumentAt, type ParamHeader } from '../core/features/param-headers.js'
import { shorten } from '../http/wire.js'

const SENTINEL_START = '=?base64?'
const SENTINEL_END = '?='
const CANONICAL_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/
const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

/** One header's value: the first if repeated. */
export function single (value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

// RFC 9110 field values: visible ASCII, space and tab.
function hasInvalidChars (value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    if (c !== 0x09 && (c < 0x20 || c > 0x7e)) return true
  }
  return false
}

function isOws (code: number): boolean {
  return code === 0x20 || code === 0x09
}

/** A header value without the spaces and tabs around it (RFC 9110: they are not part of it). */
export function trimOws (value: string): string {
  // Almost every value has none: no regular expression on the hot path.
  if (value.length === 0 || (!isOws(value.charCodeAt(0)) && !isOws(value.charCodeAt(value.length - 1)))) return value
  return value.replace(/^[ \t]+|[ \t]+$/g, '')
}

/**
 * The value a client meant by an `Mcp-Name` or `Mcp-Param-*` header: surrounding spaces and
 * tabs trimmed, the `=?base64?…?=` sentinel decoded (canonical Base64 of valid UTF-8 only).
 * Undefined for a value no conforming client sends.
 */
export function decodeHeaderValue (raw: string): string | undefined {
  const value = trimOws(raw)
  if (hasInvalidChars(value)) return undefined
  if (!value.startsWith(SENTINEL_START) || !value.endsWith(SENTINEL_END) || value.length < SENTINEL_START.length + SENTINEL_END.length) return value
  const payload = value.slice(SENTINEL_START.length, value.length - SENTINEL_END.length)
  if (!CANONICAL_BASE64.test(payload)) return undefined
  try {
    return strictUtf8.decode(Buffer.from(payload, 'base64'))
  } catch {
    return undefined
  }
}

/** The body field `Mcp-Name` mirrors, for the methods that have one. */
export function nameSource (method: string, params: Record<string, unknown> | undefined): { field: string, value: unknown } | undefined {
  switch (method) {
    case 'tools/call':
    case 'prompts/get':
      return { field: 'params.name', value: params?.name }
    case 'resources/read':
      return { field: 'params.uri', value: params?.uri }
  }
  return undefined
}

/** A refused header: what the -32020 answer says, and its `data`. */
export interface HeaderProblem {
  readonly message: string
  readonly data?: unknown
}

/**
 * `Mcp-Name` against the body: required when the body has the field, equal once decoded
 * (values are case-sensitive).
 */
export function checkNameHeader (headers: IncomingHttpHeaders, method: string, params: Record<string, unknown> | undefined): HeaderProblem | undefined {
  const source = nameSource(method, params)
  if (source === undefined || source.value === undefined) return undefined
  const raw = single(headers['mcp-name'])
  if (raw === undefined) return { message: `Header mismatch: the Mcp-Name header is required for ${method}` }
  const decoded = decodeHeaderValue(raw)
  if (decoded === undefined) return { message: 'Header mismatch: the Mcp-Name header value is not valid', data: { mismatch: { header: 'Mcp-Name', body: shorten(source.value) } } }
  if (decoded !== source.value) {
    return { message: `Header mismatch: the Mcp-Name header does not match ${source.field}`, data: { mismatch: { header: 'Mcp-Name', body: shorten(source.value) } } }
  }
  return undefined
}

function matches (decoded: string, value: unknown, type: ParamHeader['type']): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string' && decoded === value
    case 'boolean':
      return typeof value === 'boolean' && decoded === String(value)
    case 'integer': {
      // Compared as numbers, as the spec asks (42.0 equals 42).
      if (typeof value !== 'number' || decoded.trim() === '') return false
      const number = Number(decoded)
      return Number.isFinite(number) && number === value
    }
  }
}

/**
 * `Mcp-Param-{Name}` headers of a `tools/call` against its arguments: every argument with a
 * value needs its header, equal once decoded; a header with invalid characters is refused.
 * Headers nobody declared are ignored.
 */
export function checkParamHeaders (headers: IncomingHttpHeaders, declared: readonly ParamHeader[], args: unknown): HeaderProblem | undefined {
  for (const param of declared) {
    const header = `mcp-param-${param.name.toLowerCase()}`
    const raw = single(headers[header])
    const value = argumentAt(args, param.path)
    const name = `Mcp-Param-${param.name}`
    if (raw === undefined) {
      if (value === undefined) continue
      return { message: `Header mismatch: the ${name} header is required when arguments.${param.path.join('.')} has a value`, data: { mismatch: { header: name } } }
    }
    const decoded = decodeHeaderValue(raw)
    if (decoded === undefined) return { message: `Header mismatch: the ${name} header value is not valid`, data: { mismatch: { header: name } } }
    if (value === undefined || !matches(decoded, value, param.type)) {
      return { message: `Header mismatch: the ${name} header does not match arguments.${param.path.join('.')}`, data: { mismatch: { header: name, body: shorten(value ?? null) } } }
    }
  }
  return undefined
}
