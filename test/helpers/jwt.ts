// A local token issuer for the tests: real keys, real JWS, a JWKS served over HTTP whose
// keys can be rotated while a test runs.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { SignJWT, exportJWK, generateKeyPair, type JWK, type JWTPayload } from 'jose'

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey']

interface SigningKey { kid: string, alg: string, privateKey: PrivateKey, jwk: JWK }

export async function signingKey (kid: string, alg = 'RS256'): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  return { kid, alg, privateKey, jwk: { ...await exportJWK(publicKey), kid, alg, use: 'sig' } }
}

export interface SignOptions {
  /** Header overrides (`kid`, `alg`, `typ`). */
  header?: Record<string, unknown>
  /** Sign with this key instead of the issuer's current one. */
  key?: SigningKey
}

/** An issuer whose JWKS is served at `jwksUri`; `rotate()` swaps the published keys. */
export class TestIssuer {
  readonly issuer: string
  readonly jwksUri: string
  /** How many times the JWKS was fetched. */
  fetches = 0
  current: SigningKey
  #published: SigningKey[]
  readonly #server: http.Server

  private constructor (server: http.Server, key: SigningKey, issuer: string) {
    this.#server = server
    this.current = key
    this.#published = [key]
    const { port } = server.address() as AddressInfo
    this.jwksUri = `http://127.0.0.1:${port}/jwks`
    this.issuer = issuer === '' ? `http://127.0.0.1:${port}` : issuer
    server.on('request', (_request, response) => {
      this.fetches++
      response.setHeader('content-type', 'application/json')
      response.end(JSON.stringify({ keys: this.#published.map((k) => k.jwk) }))
    })
  }

  static async start (issuer = '', kid = 'key-1'): Promise<TestIssuer> {
    const server = http.createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return new TestIssuer(server, await signingKey(kid), issuer)
  }

  /** Publish only a new key, and sign with it from now on. */
  async rotate (kid: string): Promise<void> {
    this.current = await signingKey(kid)
    this.#published = [this.current]
  }

  /** A token with these claims (defaults: this issuer, `aud`, `sub: alice`, valid for 5 minutes). */
  async sign (claims: JWTPayload & Record<string, unknown>, options: SignOptions = {}): Promise<string> {
    const key = options.key ?? this.current
    const now = Math.floor(Date.now() / 1000)
    const payload: Record<string, unknown> = { iss: this.issuer, sub: 'alice', iat: now, exp: now + 300, ...claims }
    for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k]
    return new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt', ...options.header }).sign(key.privateKey)
  }

  async close (): Promise<void> {
    this.#server.closeAllConnections()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }
}
