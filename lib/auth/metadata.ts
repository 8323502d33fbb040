import type { FastifyInstance } from 'fastify'
import type { NormalizedAuth } from './options.js'
import { WELL_KNOWN } from './resource.js'

/** The RFC 9728 Protected Resource Metadata document of the endpoint. */
export function protectedResourceMetadata (auth: NormalizedAuth, featureScopes: () => readonly string[]): Record<string, unknown> {
  const scopes = auth.scopesSupported ?? [...new Set([...auth.scopes, ...featureScopes()])]
  const document: Record<string, unknown> = {
    resource: auth.resource,
    authorization_servers: auth.authorizationServers,
    // Minimal, as MCP asks: never offline_access (a client asks for it on its own account).
    scopes_supported: scopes.filter((scope) => scope !== 'offline_access'),
    bearer_methods_supported: ['header']
  }
  if (auth.jwt !== undefined) document.resource_signing_alg_values_supported = auth.jwt.algorithms
  if (auth.documentation !== undefined) document.resource_documentation = auth.documentation
  return document
}

/**
 * Serves the metadata at the path-inserted well-known URI of the resource
 * (`/.well-known/oauth-protected-resource/mcp` for `https://host/mcp`) and at the root one,
 * unless the application routes that itself. Readable cross-origin: browser clients discover
 * it before they hold any credential.
 */
export function registerMetadataRoutes (app: FastifyInstance, auth: NormalizedAuth, featureScopes: () => readonly string[]): void {
  if (auth.resource === undefined) return
  const path = new URL(auth.resource).pathname
  const urls = new Set([path === '/' ? WELL_KNOWN : WELL_KNOWN + path, WELL_KNOWN])
  for (const url of urls) {
    if (app.hasRoute({ method: 'GET', url })) continue
    app.route({
      method: 'GET',
      url,
      handler: async (_request, reply) => {
        reply.header('access-control-allow-origin', '*')
        reply.header('cache-control', 'public, max-age=300')
        return reply.type('application/json').send(JSON.stringify(protectedResourceMetadata(auth, featureScopes)))
      }
    })
    app.route({
      method: 'OPTIONS',
      url,
      handler: async (_request, reply) => {
        reply.header('access-control-allow-origin', '*')
        reply.header('access-control-allow-methods', 'GET')
        reply.header('access-control-allow-headers', 'MCP-Protocol-Version')
        return reply.code(204).send()
      }
    })
  }
}
