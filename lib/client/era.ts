import { errors } from '../errors.js'
import { awaitAnswer } from './answer.js'
import type { HttpAnswer } from './transport.js'
import type { Era, EraMode, RpcMessage } from './types.js'

/** The stateless revisions this client speaks, newest first. */
export const MODERN_VERSIONS: readonly string[] = ['2026-07-28']
/** The 2025 revisions this client speaks, newest first (the first is offered in `initialize`). */
export const LEGACY_VERSIONS: readonly string[] = ['2025-11-25', '2025-06-18', '2025-03-26']

export const PROBE_ID = 'server-discover-probe-1'

/** What the probe concluded. `discover` is the `server/discover` result on a modern verdict. */
export interface Verdict {
  era: Era
  version?: string
  discover?: Record<string, any>
}

const verdicts = new Map<string, Verdict>()

function cacheKey (url: string, mode: EraMode): string {
  return `${typeof mode === 'string' ? mode : `pin:${mode.pin}`} ${url}`
}

/** The cached verdict for a URL and mode, if a probe already ran. */
export function cachedVerdict (url: string, mode: EraMode): Verdict | undefined {
  return verdicts.get(cacheKey(url, mode))
}

export function cacheVerdict (url: string, mode: EraMode, verdict: Verdict): void {
  verdicts.set(cacheKey(url, mode), verdict)
}

/** Forget every cached verdict (or those of one URL): the next `connect` probes again. */
export function forgetVerdicts (url?: string): void {
  if (url === undefined) verdicts.clear()
  else for (const key of [...verdicts.keys()]) if (key.endsWith(` ${url}`)) verdicts.delete(key)
}

/**
 * Classify the answer to the `server/discover` probe by the fallback rules the official
 * client uses: a usable DiscoverResult → modern; a JSON-RPC error (any code but a -32022
 * naming modern versions we lack) or a 4xx without one → legacy; 401/403, 5xx and unusable
 * 2xx answers → an error, since they say nothing about the era.
 */
export async function classifyProbe (res: HttpAnswer, url: string, wanted: readonly string[], signal: AbortSignal): Promise<Verdict> {
  const fail = (why: string): Error => new errors.FST_MCP_ERA_NEGOTIATION(url, why)
  if (res.status === 401 || res.status === 403) {
    res.cancel()
    throw fail(`the server answered the server/discover probe with HTTP ${res.status}: pass credentials with the headers option (--header "Authorization: Bearer …")`)
  }
  if (res.status >= 500) {
    res.cancel()
    throw fail(`the server answered the server/discover probe with HTTP ${res.status}; a 4xx with a JSON-RPC error would let clients fall back to initialize`)
  }
  let message: RpcMessage | undefined
  if (res.ok) {
    try {
      message = await awaitAnswer(res, { id: PROBE_ID, what: 'server/discover', onMessage: () => {}, maxEventChars: 1 << 20, maxResumes: 0, signal })
    } catch (err) {
      throw fail(`unusable answer to the server/discover probe: ${(err as Error).message}`)
    }
  } else {
    const text = await res.text().catch(() => '')
    try { message = JSON.parse(text) as RpcMessage } catch { return { era: 'legacy' } }
  }
  if (message?.error !== undefined) {
    const supported = (message.error.data as { supported?: unknown } | undefined)?.supported
    if (message.error.code === -32022 && Array.isArray(supported)) {
      const modern = supported.filter((v) => typeof v === 'string' && v >= '2026-07-28')
      const mutual = wanted.find((v) => modern.includes(v))
      if (mutual !== undefined) return { era: 'modern', version: mutual }
      if (modern.length > 0) throw fail(`the server speaks only ${modern.join(', ')} of the stateless revisions; this client speaks ${wanted.join(', ')}`)
    }
    return { era: 'legacy' }
  }
  const result = message?.result
  const versions = result?.supportedVersions
  if (!Array.isArray(versions)) return { era: 'legacy' }
  const mutual = wanted.find((v) => versions.includes(v))
  return mutual === undefined ? { era: 'legacy' } : { era: 'modern', version: mutual, discover: result }
}
