import { createHash, createPublicKey, type KeyObject } from 'node:crypto'
import { createLocalJWKSet, createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWK, type JWTVerifyGetKey, type JWSHeaderParameters, type FlattenedJWSInput } from 'jose'
import type { NormalizedAuth } from './options.js'
import { audienceMatches } from './audience.js'
import { scopesOfClaims } from './scopes.js'
import { TtlCache } from './ttl-cache.js'
import type { AuthVerdict, TokenVerifier } from './verdict.js'

type JwtSettings = NonNullable<NormalizedAuth['jwt']>

/** Whether a token looks like a JWS compact serialisation (three base64url parts). */
export function looksLikeJwt (token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token)
}

function toJwk (key: JWK | KeyObject): JWK {
  if (typeof (key as KeyObject).export !== 'function') return key as JWK
  const object = key as KeyObject
  // A private key is accepted for convenience; only its public half is kept.
  const pub = object.type === 'private' ? createPublicKey(object) : object
  return pub.export({ format: 'jwk' }) as JWK
}

/** Errors that say the keys could not be fetched, not that the token is bad. */
function isUnavailable (err: unknown): boolean {
  return err instanceof joseErrors.JWKSTimeout ||
    (err instanceof joseErrors.JOSEError && err.code === 'ERR_JOSE_GENERIC' && /fetch|JSON Web Key Set/i.test(err.message) && !(err instanceof joseErrors.JWKSNoMatchingKey)) ||
    (err instanceof TypeError && /fetch/i.test(err.message))
}

/**
 * Verifies JWT access tokens: signature (static keys first, then the JWKS, which `jose`
 * refetches when a token names an unknown `kid`, at most once per cooldown, so a rotated key
 * is picked up without a restart), algorithm allowlist, `iss`, `aud` (canonical resource),
 * `exp`/`nbf` with leeway, and a `sub`.
 */
export class JwtVerifier implements TokenVerifier {
  readonly #settings: JwtSettings
  readonly #getKey: JWTVerifyGetKey
  readonly #principal: NormalizedAuth['principal']
  readonly #verified: TtlCache<AuthVerdict>

  constructor (settings: JwtSettings, principal: NormalizedAuth['principal']) {
    this.#settings = settings
    this.#principal = principal
    this.#verified = new TtlCache(settings.cacheTtlMs === 0 ? 0 : settings.cacheMax)
    const local = settings.keys.length > 0 ? createLocalJWKSet({ keys: settings.keys.map(toJwk) }) : undefined
    const remote = settings.jwksUri === undefined
      ? undefined
      : createRemoteJWKSet(new URL(settings.jwksUri), { cooldownDuration: settings.jwksCooldownMs, timeoutDuration: 5000 })
    this.#getKey = async (header: JWSHeaderParameters, token: FlattenedJWSInput) => {
      if (local !== undefined) {
        try {
          return await local(header, token)
        } catch (err) {
          if (remote === undefined || !(err instanceof joseErrors.JWKSNoMatchingKey)) throw err
        }
      }
      return await remote!(header, token)
    }
  }

  async verify (token: string): Promise<AuthVerdict> {
    // A client sends the same token with every request: its verdict is remembered, by hash.
    const key = this.#settings.cacheTtlMs === 0 ? '' : createHash('sha256').update(token).digest('base64url')
    const known = key === '' ? undefined : this.#verified.get(key)
    if (known !== undefined) return known
    const verdict = await this.#verify(token)
    if (verdict.kind === 'ok' && key !== '') {
      const exp = (verdict.info.extra!.claims as { exp: number }).exp
      this.#verified.set(key, verdict, Math.min((exp + this.#settings.clockToleranceSec) * 1000, Date.now() + this.#settings.cacheTtlMs))
    }
    return verdict
  }

  async #verify (token: string): Promise<AuthVerdict> {
    const s = this.#settings
    let payload: Record<string, unknown>
    try {
      ({ payload } = await jwtVerify(token, this.#getKey, {
        issuer: s.issuer,
        algorithms: s.algorithms,
        clockTolerance: s.clockToleranceSec,
        requiredClaims: ['exp', 'sub']
      }))
    } catch (err) {
      if (isUnavailable(err)) return { kind: 'unavailable', cause: err }
      return { kind: 'invalid', description: describe(err) }
    }
    if (!audienceMatches(payload.aud, s.audience)) return { kind: 'invalid', description: 'The token was not issued for this resource' }
    return verifiedClaims(payload, this.#principal)
  }
}

/** The principal of claims that passed every check. */
export function verifiedClaims (claims: Record<string, unknown>, principal: NormalizedAuth['principal']): AuthVerdict {
  let id: unknown
  try {
    id = principal(claims)
  } catch {
    id = undefined
  }
  if (typeof id !== 'string' || id === '') return { kind: 'invalid', description: 'The token names no principal' }
  // Frozen: a remembered verdict is shared by every request that presents the token.
  return {
    kind: 'ok',
    info: Object.freeze({
      principal: id,
      scopes: Object.freeze(scopesOfClaims(claims)) as string[],
      extra: Object.freeze({ claims: Object.freeze(claims), issuer: claims.iss, subject: claims.sub, clientId: claims.client_id ?? claims.azp })
    })
  }
}

/** A description safe to send: what failed, never the token or key material. */
function describe (err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return 'The token has expired'
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'iss') return 'The token was issued by an untrusted issuer'
    if (err.claim === 'nbf') return 'The token is not valid yet'
    return `The token's "${err.claim}" claim is invalid`
  }
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return 'The token is signed with an algorithm that is not accepted'
  if (err instanceof joseErrors.JWKSNoMatchingKey || err instanceof joseErrors.JWSSignatureVerificationFailed) return 'The token signature does not verify'
  return 'The token is malformed'
}
