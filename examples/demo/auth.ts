import type { McpAuthOptions } from '../../lib/index.js'

/**
 * The issuer's `jwks_uri`, from its published metadata: RFC 8414 (path-inserted), then OpenID
 * Connect discovery (appended, as OIDC defines it, then path-inserted). The document must name
 * the same issuer (RFC 8414 §3.3), or it is not this issuer's.
 */
export async function discoverJwksUri (issuer: string, fetchFn: typeof fetch = fetch): Promise<string> {
  const url = new URL(issuer)
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '')
  const candidates = [
    `${url.origin}/.well-known/oauth-authorization-server${path}`,
    `${url.origin}${path}/.well-known/openid-configuration`,
    `${url.origin}/.well-known/openid-configuration${path}`
  ]
  for (const candidate of candidates) {
    const response = await fetchFn(candidate, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(5000) }).catch(() => undefined)
    if (response === undefined || !response.ok) {
      await response?.body?.cancel()
      continue
    }
    const metadata = await response.json().catch(() => undefined) as { issuer?: unknown, jwks_uri?: unknown } | undefined
    if (metadata?.issuer === issuer && typeof metadata.jwks_uri === 'string') return metadata.jwks_uri
  }
  throw new Error(`no authorization server metadata with a jwks_uri found for issuer ${issuer}`)
}

/**
 * `AUTH_ISSUER=<issuer> npm start`: the demo as a protected resource. Keys from the issuer's
 * metadata; the audience is the demo's own endpoint URL unless `AUTH_AUDIENCE` names another;
 * `AUTH_SCOPES` (space-separated) are required of every request. Undefined without AUTH_ISSUER.
 */
export async function demoAuthOptions (env: NodeJS.ProcessEnv, endpoint: string, fetchFn: typeof fetch = fetch): Promise<McpAuthOptions | undefined> {
  const issuer = env.AUTH_ISSUER
  if (issuer === undefined || issuer === '') return undefined
  const scopes = (env.AUTH_SCOPES ?? '').split(' ').filter((scope) => scope !== '')
  return {
    jwt: { issuer, jwksUri: await discoverJwksUri(issuer, fetchFn) },
    resource: env.AUTH_AUDIENCE !== undefined && env.AUTH_AUDIENCE !== '' ? env.AUTH_AUDIENCE : endpoint,
    scopes
  }
}
