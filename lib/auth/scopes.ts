import type { McpAuthInfo } from '../core/caller.js'
import { isScopeToken } from '../core/features/scopes.js'

export { isScopeToken }

/** The scopes granted by a token's `scope` (space-separated) or `scp` (array or string) claim. */
export function scopesOfClaims (claims: Readonly<Record<string, unknown>>): string[] {
  const raw = claims.scope ?? claims.scp
  const list = typeof raw === 'string' ? raw.split(' ') : Array.isArray(raw) ? raw : []
  return list.filter(isScopeToken)
}

/** The scopes of `required` that `granted` lacks, in the order required. */
export function missingScopes (granted: readonly string[] | undefined, required: readonly string[]): string[] {
  if (required.length === 0) return []
  if (granted === undefined || granted.length === 0) return [...required]
  return required.filter((scope) => !granted.includes(scope))
}

/** `a` then the scopes of `b` not already in `a`. */
export function unionScopes (a: readonly string[], b: readonly string[] | undefined): readonly string[] {
  if (b === undefined || b.length === 0) return a
  if (a.length === 0) return b
  return [...a, ...b.filter((scope) => !a.includes(scope))]
}

const expanded = new WeakMap<McpAuthInfo, McpAuthInfo>()

/**
 * The principal with the scopes its granted ones imply added (scope hierarchies). Verified
 * principals are cached and frozen by the verifiers, so each is expanded once.
 */
export function withImpliedScopes (info: McpAuthInfo, implied: ReadonlyMap<string, readonly string[]>): McpAuthInfo {
  if (implied.size === 0 || info.scopes === undefined || info.scopes.length === 0) return info
  const known = expanded.get(info)
  if (known !== undefined) return known
  const scopes = new Set(info.scopes)
  for (const scope of info.scopes) for (const more of implied.get(scope) ?? []) scopes.add(more)
  const result = scopes.size === info.scopes.length ? info : Object.freeze({ ...info, scopes: Object.freeze([...scopes]) as string[] })
  expanded.set(info, result)
  return result
}
