import type { McpAuthInfo } from '../core/caller.js'

/**
 * What checking a request's credentials found:
 * - `ok`: the principal;
 * - `missing`: no bearer token (401, challenge without an error code);
 * - `invalid`: a token was presented and refused (401 `invalid_token`);
 * - `unavailable`: the token could not be checked (keys or introspection unreachable): 503.
 */
export type AuthVerdict =
  | { readonly kind: 'ok', readonly info: McpAuthInfo }
  | { readonly kind: 'missing' }
  | { readonly kind: 'invalid', readonly description: string }
  | { readonly kind: 'unavailable', readonly cause: unknown }

/** A check of one bearer token. */
export interface TokenVerifier {
  verify (token: string): Promise<AuthVerdict>
}

/**
 * The bearer token of an `Authorization` header (RFC 6750 §2.1; the scheme is
 * case-insensitive), or undefined. Tokens are read from this header only, never from the query.
 */
export function bearerToken (header: string | undefined): string | undefined {
  if (header === undefined || header.length < 8) return undefined
  if (header.slice(0, 7).toLowerCase() !== 'bearer ') return undefined
  const token = header.slice(7).trim()
  // b64token (RFC 6750 §2.1).
  return /^[A-Za-z0-9\-._~+/]+=*$/.test(token) ? token : undefined
}

/** Whether the token was presented at all (an unparseable one still counts as presented). */
export function presentedToken (header: string | undefined): boolean {
  return header !== undefined && header.trim() !== ''
}
