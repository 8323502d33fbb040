import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify'
import { createAuthenticator } from '../auth/authenticator.js'
import { bearerChallenge } from '../auth/challenge.js'
import type { NormalizedAuth } from '../auth/options.js'
import { refuseInsufficientScope } from '../auth/scope-gate.js'
import { withImpliedScopes } from '../auth/scopes.js'
import type { McpAuthInfo } from '../core/caller.js'
import { ErrorCode } from '../core/jsonrpc.js'
import { hostnameOf, normaliseOrigin } from './origin.js'
import { quote, sendHttpError } from './wire.js'

/** Hosts or origins let through: the loopback rules (`default`), a set, or `false` for no check. */
export type AllowList = ReadonlySet<string> | 'default' | false

/** What the guards read of the plugin's options. */
export interface GuardOptions {
  readonly allowedHosts: AllowList
  readonly allowedOrigins: AllowList
  readonly auth: NormalizedAuth | undefined
}

const LOOPBACK_HOSTNAMES: ReadonlySet<string> = new Set(['localhost', '127.0.0.1', '[::1]'])

function isLoopbackAddress (address: string): boolean {
  return address === '::1' || address === 'localhost' || address.startsWith('127.') || address.startsWith('::ffff:127.')
}

/**
 * Decides the Host/Origin policy. "Loopback" is read from where the server listens, once it
 * listens; before that (tests using `inject`, serverless adapters) the strict loopback
 * policy applies, the safe side.
 */
export class OriginPolicy {
  readonly #app: FastifyInstance
  readonly #hosts: AllowList
  readonly #origins: AllowList
  #loopback: boolean | undefined
  readonly #hostVerdicts = new Map<string, boolean>()

  constructor (app: FastifyInstance, options: GuardOptions) {
    this.#app = app
    this.#hosts = options.allowedHosts
    this.#origins = options.allowedOrigins
  }

  get loopback (): boolean {
    if (this.#loopback !== undefined) return this.#loopback
    if (!this.#app.server.listening) return true
    const addresses = this.#app.addresses()
    this.#loopback = addresses.length > 0 && addresses.every((a) => isLoopbackAddress(typeof a === 'string' ? a : a.address))
    return this.#loopback
  }

  hostAllowed (host: string | undefined): boolean {
    const hosts = this.#hosts
    if (hosts === false) return true
    if (host === undefined) return false
    // Every request carries the same few Host values: remember verdicts, in a bounded map
    // (a flood of made-up hosts only ever resets it).
    let allowed = this.#hostVerdicts.get(host)
    if (allowed === undefined) {
      allowed = hosts === 'default'
        ? !this.loopback || LOOPBACK_HOSTNAMES.has(hostnameOf(host))
        : hosts.has(hostnameOf(host))
      // Before listening, "loopback" is provisional: only cache once it is settled.
      if (this.#loopback !== undefined || hosts !== 'default') {
        if (this.#hostVerdicts.size >= 256) this.#hostVerdicts.clear()
        this.#hostVerdicts.set(host, allowed)
      }
    }
    return allowed
  }

  /** A request without Origin (any non-browser client) is allowed. */
  originAllowed (origin: string | undefined, host: string | undefined): boolean {
    const origins = this.#origins
    if (origins === false || origin === undefined) return true
    if (origins !== 'default') return origins.has(normaliseOrigin(origin))
    let url: URL
    try {
      url = new URL(origin)
    } catch {
      return false
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return false
    if (this.loopback) return LOOPBACK_HOSTNAMES.has(url.hostname)
    return host !== undefined && url.host === host.toLowerCase()
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The principal the `auth.authenticate` hook returned for this request (MCP routes only). */
    mcpAuth: McpAuthInfo | null
  }
}

/**
 * The Host/Origin check of every MCP request, before its body is read: answers 403 and
 * returns true when the request is refused. A plain function, so the POST route can run it
 * in the same hook as its Accept check (one hook call per request on the hot path).
 */
export function refuseHostOrOrigin (policy: OriginPolicy, request: FastifyRequest, reply: FastifyReply): boolean {
  const host = request.headers.host
  if (!policy.hostAllowed(host)) {
    sendHttpError(reply, 403, ErrorCode.TransportError, host === undefined ? 'Forbidden: missing Host header' : `Forbidden: Host not allowed: ${quote(host)}`)
    return true
  }
  const origin = request.headers.origin
  if (!policy.originAllowed(origin, host)) {
    sendHttpError(reply, 403, ErrorCode.TransportError, `Forbidden: Origin not allowed: ${quote(origin!)}`)
    return true
  }
  return false
}

/**
 * The authentication hook, when `auth` is configured: it runs after the Host/Origin check and
 * before the body is read, on every method. No credentials → 401 with the plain challenge;
 * refused ones → 401 `invalid_token`; a token without the endpoint's `scopes` → 403
 * `insufficient_scope`; a verifier that cannot be reached → 503. The token itself is never
 * logged nor kept: handlers see the principal, scopes and claims.
 */
export function createAuthGuard (options: GuardOptions): onRequestAsyncHookHandler | undefined {
  const auth = options.auth
  if (auth === undefined) return undefined
  const authenticate = createAuthenticator(auth)
  const plain = bearerChallenge(auth)
  return async function mcpAuthGuard (request: FastifyRequest, reply: FastifyReply) {
    const verdict = await authenticate(request)
    switch (verdict.kind) {
      case 'ok':
        request.mcpAuth = withImpliedScopes(verdict.info, auth.impliedScopes)
        // Endpoint-wide scopes; an operation's own are checked by the front door once the body is read.
        if (refuseInsufficientScope(auth, request, reply, null, [])) return reply
        return
      case 'missing':
        reply.header('www-authenticate', plain)
        return sendHttpError(reply, 401, ErrorCode.TransportError, 'Unauthorized')
      case 'invalid':
        reply.header('www-authenticate', bearerChallenge(auth, { error: 'invalid_token', description: verdict.description }))
        return sendHttpError(reply, 401, ErrorCode.TransportError, `Unauthorized: ${verdict.description}`)
      case 'unavailable':
        request.log.warn({ err: verdict.cause }, 'mcp: the token could not be checked (authorization server unreachable)')
        reply.header('retry-after', '5')
        return sendHttpError(reply, 503, ErrorCode.TransportError, 'Service Unavailable: the token could not be checked')
    }
  }
}
