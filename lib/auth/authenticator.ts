import type { FastifyRequest } from 'fastify'
import type { McpAuthInfo } from '../core/caller.js'
import { Introspector } from './introspection.js'
import { JwtVerifier, looksLikeJwt } from './jwt.js'
import type { NormalizedAuth } from './options.js'
import { bearerToken, presentedToken, type AuthVerdict } from './verdict.js'

/** Checks the credentials of one request. */
export type Authenticator = (request: FastifyRequest) => Promise<AuthVerdict>

/**
 * The credential check `auth` describes: the application's `authenticate` hook, or the
 * built-in bearer token verification (JWTs locally, anything else, or everything without
 * `jwt`, by introspection).
 */
export function createAuthenticator (auth: NormalizedAuth): Authenticator {
  const hook = auth.authenticate
  if (hook !== undefined) {
    return async (request) => {
      let info: McpAuthInfo | null | undefined
      try {
        info = await hook(request)
      } catch (err) {
        request.log.debug({ err }, 'mcp: authenticate threw; answering 401')
        info = undefined
      }
      if (info === null || info === undefined || typeof info.principal !== 'string') {
        // The hook says no more than "no": its challenge stays the plain one.
        return { kind: 'missing' }
      }
      return { kind: 'ok', info }
    }
  }
  const audience = auth.jwt?.audience ?? [auth.resource!]
  const jwt = auth.jwt === undefined ? undefined : new JwtVerifier(auth.jwt, auth.principal)
  const introspection = auth.introspection === undefined ? undefined : new Introspector(auth.introspection, audience, auth.principal)
  return async (request) => {
    const header = request.headers.authorization
    const token = bearerToken(header)
    if (token === undefined) {
      return presentedToken(header) ? { kind: 'invalid', description: 'Expected an Authorization: Bearer token' } : { kind: 'missing' }
    }
    if (jwt !== undefined && (introspection === undefined || looksLikeJwt(token))) return jwt.verify(token)
    return introspection!.verify(token)
  }
}
