/** How long, and for whom, a client or gateway may cache a result (2026-07-28 caching hints). */
export interface CacheHint {
  /** Milliseconds the result stays fresh; 0 means stale at once. */
  readonly ttlMs: number
  /** `public`: no user-specific data, shareable across tokens; `private`: one authorization context only. */
  readonly cacheScope: 'public' | 'private'
}

/** What is wrong with a (partial) hint given at registration or in the options, or undefined. */
export function cacheHintProblem (hint: unknown): string | undefined {
  if (hint === null || typeof hint !== 'object' || Array.isArray(hint)) return 'must be { ttlMs?, cacheScope? }'
  const { ttlMs, cacheScope } = hint as Record<string, unknown>
  if (ttlMs !== undefined && (typeof ttlMs !== 'number' || !Number.isSafeInteger(ttlMs) || ttlMs < 0)) return 'ttlMs must be an integer >= 0'
  if (cacheScope !== undefined && cacheScope !== 'public' && cacheScope !== 'private') return 'cacheScope must be "public" or "private"'
  return undefined
}
