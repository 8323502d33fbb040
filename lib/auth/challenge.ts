import type { NormalizedAuth } from './options.js'

/** The parts of a `WWW-Authenticate: Bearer` challenge (RFC 6750 §3, RFC 9728 §5.1). */
export interface ChallengeParts {
  readonly error?: 'invalid_token' | 'insufficient_scope'
  readonly description?: string
  /** Space-joined scopes. */
  readonly scope?: string
}

/** RFC 6750 allows %x20-21 / %x23-5B / %x5D-7E in error_description: anything else is dropped. */
function safeDescription (text: string): string {
  return text.replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, '')
}

/** A `Bearer` challenge naming the metadata and the scopes to ask for. */
export function bearerChallenge (auth: NormalizedAuth, parts: ChallengeParts = {}): string {
  const params: string[] = []
  if (auth.resourceMetadataUrl !== undefined) params.push(`resource_metadata="${auth.resourceMetadataUrl}"`)
  const scope = parts.scope ?? auth.scope
  if (scope !== undefined && scope !== '') params.push(`scope="${scope}"`)
  if (parts.error !== undefined) params.push(`error="${parts.error}"`)
  if (parts.description !== undefined) params.push(`error_description="${safeDescription(parts.description)}"`)
  return params.length === 0 ? 'Bearer' : `Bearer ${params.join(', ')}`
}
