// A real OAuth 2.1 / OpenID authorization server for the tests: oidc-provider on a free
// loopback port, with dynamic client registration, PKCE, resource indicators (RFC 8707),
// introspection and client credentials, and its development login/consent pages driven
// over HTTP as a browser would.
import { generateKeyPairSync } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import Provider, { errors, type ResourceServer } from 'oidc-provider'

/** The resource server's own client at the provider (introspection, client credentials). */
export const RS_CLIENT = { id: 'mcp-resource-server', secret: 'mcp-resource-server-secret-0123456789' }

export interface OidcOptions {
  /** Resource indicators the provider knows, with the scopes it may grant for each. */
  resources: Record<string, { scopes: string[], format?: 'jwt' | 'opaque', ttlSec?: number }>
}

export interface Oidc {
  readonly issuer: string
  /** Follow an authorization URL through login (as `user`) and consent; the `code` on the redirect back. */
  authorize (url: URL | string, user: string): Promise<string>
  /** Every request path the provider served, in order. */
  readonly requests: string[]
  /** A client-credentials access token for `resource` with `scope`. */
  clientCredentials (resource: string, scope: string): Promise<string>
  close (): Promise<void>
}

function signingKey (): Record<string, unknown> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  return { ...privateKey.export({ format: 'jwk' }), kid: 'oidc-test-key', alg: 'RS256', use: 'sig' }
}

/** A minimal cookie jar: every cookie set is sent back everywhere (the provider scopes them by path; more is harmless). */
class Jar {
  readonly #cookies = new Map<string, string>()
  take (response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';')
      const eq = pair!.indexOf('=')
      this.#cookies.set(pair!.slice(0, eq), pair!.slice(eq + 1))
    }
  }

  header (): string {
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ')
  }
}

export async function startOidc (options: OidcOptions): Promise<Oidc> {
  const server = http.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const provider = new Provider(issuer, {
    clients: [{
      client_id: RS_CLIENT.id,
      client_secret: RS_CLIENT.secret,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: []
    }],
    jwks: { keys: [signingKey()] },
    // Resource scopes are listed too: registration checks a client's `scope` against this list.
    scopes: ['openid', 'offline_access', ...new Set(Object.values(options.resources).flatMap((r) => r.scopes))],
    cookies: { keys: ['oidc-test-cookie-key-0123456789abcdef'] },
    findAccount: async (_ctx: unknown, id: string) => ({ accountId: id, claims: async () => ({ sub: id }) }),
    pkce: { required: () => true },
    ttl: { Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 600, ClientCredentials: 600, AuthorizationCode: 60 },
    features: {
      devInteractions: { enabled: true },
      registration: { enabled: true },
      introspection: { enabled: true, allowedPolicy: () => true },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => undefined,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: unknown, indicator: string): ResourceServer => {
          const known = options.resources[indicator]
          if (known === undefined) throw new errors.InvalidTarget()
          return { scope: known.scopes.join(' '), audience: indicator, accessTokenFormat: known.format ?? 'jwt', accessTokenTTL: known.ttlSec ?? 600, jwt: { sign: { alg: 'RS256' } } }
        }
      }
    }
  })
  // Quiet in the tests unless a test looks.
  provider.on('server_error', () => {})
  const callback = provider.callback()
  const requests: string[] = []
  server.on('request', (req, res) => {
    requests.push(`${req.method} ${req.url?.split('?')[0]}`)
    if (req.method !== 'POST' || req.url !== '/reg') return callback(req, res)
    // The SDK registers with the scope of the first challenge; oidc-provider would then refuse
    // any wider scope for good, and no step-up could ever succeed. Many authorization servers
    // ignore a registered scope (RFC 7591 lets them): this one is made to as well.
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const metadata = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>
      delete metadata.scope
      ;(req as typeof req & { body: string }).body = JSON.stringify(metadata)
      callback(req, res)
    })
  })

  return {
    issuer,
    requests,
    async authorize (url, user) {
      const jar = new Jar()
      let next = new URL(url.toString())
      for (let hop = 0; hop < 20; hop++) {
        if (next.origin !== issuer) {
          const code = next.searchParams.get('code')
          if (code === null) throw new Error(`authorization failed: ${next.searchParams.get('error') ?? '?'} ${next.searchParams.get('error_description') ?? ''}`)
          return code
        }
        const response = await fetch(next, { redirect: 'manual', headers: { cookie: jar.header() } })
        jar.take(response)
        if (response.status >= 300 && response.status < 400) {
          next = new URL(response.headers.get('location')!, next)
          continue
        }
        const page = await response.text()
        const prompt = /name="prompt" value="([a-z]+)"/.exec(page)?.[1]
        if (response.status !== 200 || prompt === undefined) throw new Error(`unexpected page at ${next.pathname}: HTTP ${response.status}\n${page.slice(0, 500)}`)
        const form = new URLSearchParams({ prompt, login: user, password: 'any' })
        const submitted = await fetch(next, { method: 'POST', redirect: 'manual', headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() })
        jar.take(submitted)
        await submitted.body?.cancel()
        next = new URL(submitted.headers.get('location')!, next)
      }
      throw new Error('too many redirects while authorizing')
    },
    async clientCredentials (resource, scope) {
      const response = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${RS_CLIENT.id}:${RS_CLIENT.secret}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded'
        },
        body: new URLSearchParams({ grant_type: 'client_credentials', resource, scope }).toString()
      })
      const body = await response.json() as Record<string, unknown>
      if (!response.ok) throw new Error(`client_credentials failed: ${JSON.stringify(body)}`)
      return body.access_token as string
    },
    async close () {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}
