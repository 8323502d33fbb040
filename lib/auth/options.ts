import type { FastifyRequest } from 'fastify'
import type { KeyObject } from 'node:crypto'
import type { JWK } from 'jose'
import type { McpAuthInfo } from '../core/caller.js'
import { errors } from '../errors.js'
import { canonicalResource, resourceMetadataUrl } from './resource.js'
import { isScopeToken } from './scopes.js'

/** The algorithms accepted by default: asymmetric only, so a public key can never verify an HMAC forgery. */
export const DEFAULT_ALGORITHMS: readonly string[] = ['RS256', 'PS256', 'ES256', 'EdDSA']

/** Verification of JWT access tokens (RFC 9068) with `jose`. */
export interface McpJwtOptions {
  /** The accepted issuer(s): `iss` must equal one of them. */
  issuer: string | string[]
  /** The authorization server's JWKS URL, cached and refetched when a token names an unknown `kid` (at most every `jwksCooldownMs`). */
  jwksUri?: string
  /** Static verification keys instead of (or besides, tried first) `jwksUri`: public JWKs or `KeyObject`s. */
  keys?: Array<JWK | KeyObject>
  /** Accepted `alg` values. Default `['RS256', 'PS256', 'ES256', 'EdDSA']`. */
  algorithms?: string[]
  /** The `aud` value required. Default: the canonical `resource`. */
  audience?: string | string[]
  /** Leeway for `exp`/`nbf`/`iat`, in seconds. Default 30. */
  clockToleranceSec?: number
  /** Least time between two JWKS fetches. Default 30 s. */
  jwksCooldownMs?: number
  /**
   * How long a verified token is remembered (by its SHA-256, never past its `exp`), so a
   * client's next requests skip the signature check. Default 60 s; 0 disables.
   */
  cacheTtlMs?: number
  /** Most verified tokens remembered. Default 10,000. */
  cacheMax?: number
}

/** Opaque tokens through RFC 7662 introspection. */
export interface McpIntrospectionOptions {
  /** The introspection endpoint. */
  url: string
  /** Client credentials of this resource server (HTTP Basic, RFC 7662 §2.1). */
  clientId: string
  clientSecret: string
  /** The `iss` an answer must carry when it carries one. Default: the `jwt.issuer` values, if any. */
  issuer?: string | string[]
  /** How long an active answer is reused (never past the token's `exp`). Default 60 s; 0 disables the cache. */
  cacheTtlMs?: number
  /** Most answers kept. Default 10,000. */
  cacheMax?: number
  /** Timeout of one introspection request. Default 5 s. */
  timeoutMs?: number
}

/** Authentication and authorization of the endpoint. */
export interface McpAuthOptions {
  /**
   * A custom check, called for every request before the body is read: return the principal,
   * or `null`/`undefined` to answer 401. A thrown error counts as an invalid token. Use it
   * instead of `jwt`/`introspection`.
   */
  authenticate?: (request: FastifyRequest) => McpAuthInfo | null | undefined | Promise<McpAuthInfo | null | undefined>
  /** Built-in verification of JWT access tokens. */
  jwt?: McpJwtOptions
  /** Built-in RFC 7662 introspection of tokens that are not JWTs (or of all tokens, without `jwt`). */
  introspection?: McpIntrospectionOptions
  /**
   * The public URL of the endpoint, its canonical resource URI (RFC 8707): published as
   * `resource` in the RFC 9728 metadata, required in `aud`. Required with `jwt`/`introspection`.
   */
  resource?: string
  /** Authorization servers published in the metadata. Default: the `jwt.issuer` values. */
  authorizationServers?: string[]
  /** Scopes every request needs (403 `insufficient_scope` without them). */
  scopes?: string[]
  /** `scopes_supported` of the metadata. Default: `scopes` and every scope a tool, prompt or resource names. */
  scopesSupported?: string[]
  /** A documentation URL for the metadata (`resource_documentation`). */
  documentation?: string
  /** List results show only what the caller's scopes let it use (2026-07-28 lists then carry `cacheScope: "private"`). */
  listOnlyPermitted?: boolean
  /**
   * Scope hierarchies (2026-07-28: servers MUST account for them): each scope grants the ones
   * listed under it, transitively, e.g. `{ 'files:admin': ['files:write'], 'files:write': ['files:read'] }`.
   */
  scopeHierarchy?: Record<string, string[]>
  /** The principal of verified claims. Default: `<iss>#<sub>`, so two issuers' subjects never collide. */
  principal?: (claims: Readonly<Record<string, unknown>>) => string
  /** The `resource_metadata` URL sent on 401. Default: derived from `resource`. */
  resourceMetadataUrl?: string
  /** Scopes named in the 401 challenge. Default: `scopes`, space-joined. */
  scope?: string
}

/** `auth` after validation, with every default filled in. */
export interface NormalizedAuth {
  readonly authenticate: McpAuthOptions['authenticate']
  readonly jwt: Required<Omit<McpJwtOptions, 'jwksUri' | 'keys' | 'audience'>> & { issuer: string[], jwksUri: string | undefined, keys: ReadonlyArray<JWK | KeyObject>, audience: string[] } | undefined
  readonly introspection: Required<Omit<McpIntrospectionOptions, 'issuer'>> & { issuer: string[] } | undefined
  readonly resource: string | undefined
  readonly authorizationServers: readonly string[]
  readonly scopes: readonly string[]
  readonly scopesSupported: readonly string[] | undefined
  readonly documentation: string | undefined
  readonly listOnlyPermitted: boolean
  /** Every scope a granted scope implies, the hierarchy's transitive closure (empty without one). */
  readonly impliedScopes: ReadonlyMap<string, readonly string[]>
  readonly principal: (claims: Readonly<Record<string, unknown>>) => string
  readonly resourceMetadataUrl: string | undefined
  readonly scope: string | undefined
}

function invalid (name: string, why: string): Error {
  return new errors.FST_MCP_INVALID_OPTION(`auth.${name}`, why)
}

function httpUrl (name: string, value: unknown): string {
  if (typeof value !== 'string') throw invalid(name, 'must be an http(s) URL')
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw invalid(name, 'must be an http(s) URL')
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid(name, 'must be an http(s) URL')
  return value
}

function stringList (name: string, value: unknown, check: (item: string) => boolean, why: string): string[] {
  const list = typeof value === 'string' ? [value] : value
  if (!Array.isArray(list) || list.length === 0 || !list.every((item) => typeof item === 'string' && check(item))) throw invalid(name, why)
  return [...list]
}

/** The hierarchy as each scope's full set of implied scopes (cycles are harmless). */
function scopeClosure (hierarchy: unknown): ReadonlyMap<string, readonly string[]> {
  const closure = new Map<string, readonly string[]>()
  if (hierarchy === undefined) return closure
  if (hierarchy === null || typeof hierarchy !== 'object' || Array.isArray(hierarchy)) throw invalid('scopeHierarchy', 'must be an object: scope → the scopes it grants')
  const direct = new Map<string, string[]>()
  for (const [scope, granted] of Object.entries(hierarchy)) {
    if (!isScopeToken(scope)) throw invalid('scopeHierarchy', `${JSON.stringify(scope)} is not a scope name`)
    direct.set(scope, scopeList(`scopeHierarchy.${scope}`, granted))
  }
  for (const scope of direct.keys()) {
    const seen = new Set<string>()
    const pending = [...direct.get(scope)!]
    while (pending.length > 0) {
      const next = pending.pop()!
      if (next === scope || seen.has(next)) continue
      seen.add(next)
      pending.push(...(direct.get(next) ?? []))
    }
    closure.set(scope, Object.freeze([...seen]))
  }
  return closure
}

function scopeList (name: string, value: unknown): string[] {
  if (value === undefined) return []
  if (Array.isArray(value) && value.length === 0) return []
  return stringList(name, value, isScopeToken, 'must be an array of scope names (printable ASCII, no space, quote or backslash)')
}

function nonNegative (name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw invalid(name, 'must be a non-negative number')
  return value
}

function integerAtLeast0 (name: string, value: unknown, fallback: number): number {
  const n = nonNegative(name, value, fallback)
  if (!Number.isInteger(n)) throw invalid(name, 'must be an integer')
  return n
}

/** Issuers (RFC 8414 §2): URLs without fragment; '#' also separates the parts of the default principal. */
function issuerList (name: string, value: unknown): string[] {
  return stringList(name, value, (item) => item !== '' && !item.includes('#'), 'must be an issuer identifier (a URL without fragment) or an array of them')
}

/** The default principal: issuer and subject, which never collide across issuers. */
export function defaultPrincipal (claims: Readonly<Record<string, unknown>>): string {
  return `${String(claims.iss)}#${String(claims.sub)}`
}

/** Validates `auth` (throws `FST_MCP_INVALID_OPTION`) and fills in its defaults. */
export function normalizeAuth (auth: McpAuthOptions | undefined): NormalizedAuth | undefined {
  if (auth === undefined) return undefined
  if (auth === null || typeof auth !== 'object') throw new errors.FST_MCP_INVALID_OPTION('auth', 'must be an object with an authenticate(request) function, or jwt/introspection settings')
  const builtIn = auth.jwt !== undefined || auth.introspection !== undefined
  if (auth.authenticate !== undefined && typeof auth.authenticate !== 'function') throw new errors.FST_MCP_INVALID_OPTION('auth', 'authenticate must be a function of the request')
  if (auth.authenticate === undefined && !builtIn) throw new errors.FST_MCP_INVALID_OPTION('auth', 'must be an object with an authenticate(request) function, or jwt/introspection settings')
  if (auth.authenticate !== undefined && builtIn) throw new errors.FST_MCP_INVALID_OPTION('auth', 'takes either authenticate or jwt/introspection, not both')

  let resource: string | undefined
  if (auth.resource !== undefined) {
    resource = typeof auth.resource === 'string' ? canonicalResource(auth.resource) : undefined
    if (resource === undefined) throw invalid('resource', 'must be the absolute http(s) URL of the endpoint, without fragment or credentials')
  } else if (builtIn) {
    throw invalid('resource', 'is required with jwt or introspection: the public URL of the endpoint, required in the tokens\' audience')
  }

  let jwt: NormalizedAuth['jwt']
  if (auth.jwt !== undefined) {
    const o = auth.jwt
    if (o === null || typeof o !== 'object') throw invalid('jwt', 'must be an object')
    const issuer = issuerList('jwt.issuer', o.issuer)
    const jwksUri = o.jwksUri === undefined ? undefined : httpUrl('jwt.jwksUri', o.jwksUri)
    const keys = o.keys ?? []
    if (!Array.isArray(keys) || keys.some((key) => key === null || typeof key !== 'object')) throw invalid('jwt.keys', 'must be an array of public JWKs or KeyObjects')
    if (jwksUri === undefined && keys.length === 0) throw invalid('jwt', 'needs jwksUri or keys')
    const algorithms = o.algorithms === undefined ? [...DEFAULT_ALGORITHMS] : stringList('jwt.algorithms', o.algorithms, (a) => a !== 'none' && a !== '', 'must be a non-empty array of JWS algorithm names (never "none")')
    const audience = o.audience === undefined ? [resource!] : stringList('jwt.audience', o.audience, (a) => a !== '', 'must be a string or an array of strings')
    jwt = {
      issuer,
      jwksUri,
      keys,
      algorithms,
      audience,
      clockToleranceSec: nonNegative('jwt.clockToleranceSec', o.clockToleranceSec, 30),
      jwksCooldownMs: nonNegative('jwt.jwksCooldownMs', o.jwksCooldownMs, 30_000),
      cacheTtlMs: nonNegative('jwt.cacheTtlMs', o.cacheTtlMs, 60_000),
      cacheMax: integerAtLeast0('jwt.cacheMax', o.cacheMax, 10_000)
    }
  }

  let introspection: NormalizedAuth['introspection']
  if (auth.introspection !== undefined) {
    const o = auth.introspection
    if (o === null || typeof o !== 'object') throw invalid('introspection', 'must be an object')
    if (typeof o.clientId !== 'string' || o.clientId === '') throw invalid('introspection.clientId', 'must be a non-empty string')
    if (typeof o.clientSecret !== 'string') throw invalid('introspection.clientSecret', 'must be a string')
    const cacheMax = integerAtLeast0('introspection.cacheMax', o.cacheMax, 10_000)
    introspection = {
      url: httpUrl('introspection.url', o.url),
      clientId: o.clientId,
      clientSecret: o.clientSecret,
      issuer: o.issuer === undefined ? jwt?.issuer ?? [] : issuerList('introspection.issuer', o.issuer),
      cacheTtlMs: nonNegative('introspection.cacheTtlMs', o.cacheTtlMs, 60_000),
      cacheMax,
      timeoutMs: nonNegative('introspection.timeoutMs', o.timeoutMs, 5000)
    }
  }

  const authorizationServers = auth.authorizationServers === undefined
    ? jwt?.issuer ?? introspection?.issuer ?? []
    : stringList('authorizationServers', auth.authorizationServers, (s) => { try { httpUrl('authorizationServers', s); return true } catch { return false } }, 'must be an array of authorization server issuer URLs')
  if (resource !== undefined && authorizationServers.length === 0) {
    // RFC 9728 metadata without an authorization server tells a client nothing (MCP: MUST name one).
    throw invalid('authorizationServers', 'must name at least one authorization server (or set jwt.issuer)')
  }
  const scopes = scopeList('scopes', auth.scopes)
  const scopesSupported = auth.scopesSupported === undefined ? undefined : scopeList('scopesSupported', auth.scopesSupported)
  if (auth.documentation !== undefined) httpUrl('documentation', auth.documentation)
  if (auth.listOnlyPermitted !== undefined && typeof auth.listOnlyPermitted !== 'boolean') throw invalid('listOnlyPermitted', 'must be a boolean')
  const impliedScopes = scopeClosure(auth.scopeHierarchy)
  if (auth.principal !== undefined && typeof auth.principal !== 'function') throw invalid('principal', 'must be a function of the claims')
  if (auth.resourceMetadataUrl !== undefined) httpUrl('resourceMetadataUrl', auth.resourceMetadataUrl)
  if (auth.scope !== undefined && (typeof auth.scope !== 'string' || !auth.scope.split(' ').every(isScopeToken))) throw invalid('scope', 'must be space-separated scope names')

  return {
    authenticate: auth.authenticate,
    jwt,
    introspection,
    resource,
    authorizationServers,
    scopes,
    scopesSupported,
    documentation: auth.documentation,
    listOnlyPermitted: auth.listOnlyPermitted ?? false,
    impliedScopes,
    principal: auth.principal ?? defaultPrincipal,
    resourceMetadataUrl: auth.resourceMetadataUrl ?? (resource === undefined ? undefined : resourceMetadataUrl(resource)),
    scope: auth.scope ?? (scopes.length === 0 ? undefined : scopes.join(' '))
  }
}
