import { createHash } from 'node:crypto'
import type { NormalizedAuth } from './options.js'
import { audienceMatches } from './audience.js'
import { verifiedClaims } from './jwt.js'
import { TtlCache } from './ttl-cache.js'
import type { AuthVerdict, TokenVerifier } from './verdict.js'

type IntrospectionSettings = NonNullable<NormalizedAuth['introspection']>

/**
 * RFC 7662 token introspection with this server's client credentials. An active answer must
 * name this resource in `aud` and, when issuers are configured, carry one of them in `iss`;
 * it must not be past its `exp`. Active answers are cached by the token's hash, never longer
 * than `cacheTtlMs` nor past `exp`, and at most `cacheMax` of them.
 */
export class Introspector implements TokenVerifier {
  readonly #settings: IntrospectionSettings
  readonly #audience: readonly string[]
  readonly #principal: NormalizedAuth['principal']
  readonly #cache: TtlCache<Record<string, unknown>>
  readonly #authorization: string
  readonly #now: () => number

  constructor (settings: IntrospectionSettings, audience: readonly string[], principal: NormalizedAuth['principal'], now: () => number = Date.now) {
    this.#settings = settings
    this.#audience = audience
    this.#principal = principal
    this.#now = now
    this.#cache = new TtlCache(settings.cacheMax, now)
    // RFC 6749 §2.3.1: each part form-urlencoded before the Basic encoding.
    const basic = `${encodeURIComponent(settings.clientId)}:${encodeURIComponent(settings.clientSecret)}`
    this.#authorization = `Basic ${Buffer.from(basic).toString('base64')}`
  }

  async verify (token: string): Promise<AuthVerdict> {
    // The cache holds a hash, never the token itself.
    const key = createHash('sha256').update(token).digest('base64url')
    let claims = this.#cache.get(key)
    if (claims === undefined) {
      let answer: Record<string, unknown>
      try {
        answer = await this.#introspect(token)
      } catch (err) {
        return { kind: 'unavailable', cause: err }
      }
      const refused = this.#check(answer)
      if (refused !== undefined) return { kind: 'invalid', description: refused }
      // RFC 9068's convention: a token a client holds for itself has the client as subject.
      claims = { ...answer, sub: answer.sub ?? answer.client_id, iss: answer.iss ?? this.#settings.url }
      const exp = typeof answer.exp === 'number' ? answer.exp * 1000 : Infinity
      this.#cache.set(key, claims, Math.min(exp, this.#now() + this.#settings.cacheTtlMs))
    } else if (typeof claims.exp === 'number' && claims.exp * 1000 <= this.#now()) {
      return { kind: 'invalid', description: 'The token has expired' }
    }
    return verifiedClaims(claims, this.#principal)
  }

  #check (answer: Record<string, unknown>): string | undefined {
    if (answer.active !== true) return 'The token is not active'
    if (typeof answer.exp === 'number' && answer.exp * 1000 <= this.#now()) return 'The token has expired'
    if (typeof answer.nbf === 'number' && answer.nbf * 1000 > this.#now()) return 'The token is not valid yet'
    const issuers = this.#settings.issuer
    if (issuers.length > 0 && !(typeof answer.iss === 'string' && issuers.includes(answer.iss))) return 'The token was issued by an untrusted issuer'
    if (!audienceMatches(answer.aud, this.#audience)) return 'The token was not issued for this resource'
    const subject = answer.sub ?? answer.client_id
    if (typeof subject !== 'string' || subject === '') return 'The token names no subject'
    return undefined
  }

  async #introspect (token: string): Promise<Record<string, unknown>> {
    const response = await fetch(this.#settings.url, {
      method: 'POST',
      headers: { authorization: this.#authorization, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
      signal: AbortSignal.timeout(this.#settings.timeoutMs),
      redirect: 'error'
    })
    if (!response.ok) {
      await response.body?.cancel()
      throw new Error(`introspection answered HTTP ${response.status}`)
    }
    const body: unknown = await response.json()
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new Error('introspection answered something other than a JSON object')
    return body as Record<string, unknown>
  }
}
