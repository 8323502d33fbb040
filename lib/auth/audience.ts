import { canonicalResource } from './resource.js'

/** The audience values of a token (`aud`, a string or an array), canonicalised where they are URLs. */
function audiencesOf (aud: unknown): string[] {
  const list = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud.filter((a): a is string => typeof a === 'string') : []
  return list.map((a) => canonicalResource(a) ?? a)
}

/** Whether `aud` names one of `accepted` (RFC 8707: compared in canonical form, so `HTTPS://Host/mcp/` matches). */
export function audienceMatches (aud: unknown, accepted: readonly string[]): boolean {
  const canonical = accepted.map((a) => canonicalResource(a) ?? a)
  return audiencesOf(aud).some((a) => canonical.includes(a))
}
