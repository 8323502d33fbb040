/**
 * Every protocol revision this server speaks, and the rules that differ between them.
 * Adding a revision means adding one row here.
 */
export interface Revision {
  /** JSON-RPC batches must be received (2025-03-26 only; removed in 2025-06-18). */
  readonly batches: boolean
  /**
   * SSE polling (SEP-1699): priming events, `retry:`, and closing a connection without
   * ending its stream. Older clients choke on the empty `data` of a priming event.
   */
  readonly polling: boolean
}

export const REVISIONS: Readonly<Record<string, Revision>> = Object.freeze({
  '2025-11-25': { batches: false, polling: true },
  '2025-06-18': { batches: false, polling: false },
  '2025-03-26': { batches: true, polling: false }
})

export const SUPPORTED_VERSIONS: readonly string[] = Object.freeze(Object.keys(REVISIONS))
export const LATEST_VERSION = '2025-11-25'
/** Spec: with no MCP-Protocol-Version header and no other way to know, assume 2025-03-26. */
export const HEADERLESS_VERSION = '2025-03-26'

const SUPPORTED = new Set(SUPPORTED_VERSIONS)

export function isSupportedVersion (version: string): boolean {
  return SUPPORTED.has(version)
}

/** Version negotiation: echo a supported request, otherwise offer the latest we speak. */
export function negotiateVersion (requested: string): string {
  return isSupportedVersion(requested) ? requested : LATEST_VERSION
}

export function revision (version: string): Revision {
  return REVISIONS[version] ?? REVISIONS[HEADERLESS_VERSION]!
}

/**
 * The stateless revisions (2026-07-28 on): no `initialize`, no session; every request carries
 * its version, capabilities and log level in `params._meta`.
 */
export const MODERN_VERSIONS: readonly string[] = Object.freeze(['2026-07-28'])
export const LATEST_MODERN_VERSION = '2026-07-28'

const MODERN = new Set(MODERN_VERSIONS)

export function isSupportedModernVersion (version: string): boolean {
  return MODERN.has(version)
}

const DATED = /^\d{4}-\d{2}-\d{2}$/

/**
 * Whether a version string names a stateless revision, known or not: a dated revision from
 * 2026-07-28 on, compared as strings as the official SDK compares them (`2027-01-01` is
 * modern too). Anything else (`v999`, garbage) names no revision and stays with the 2025 rules.
 */
export function isModernVersionName (version: string): boolean {
  // The string comparison first: every 2025 header fails it without the regular expression.
  return version >= '2026-07-28' && DATED.test(version)
}
