import type { FastifyInstance } from 'fastify'
import type { McpRuntime } from './runtime.js'

/**
 * The health routes, for load balancers and Kubernetes probes:
 * - `<path>/live`: liveness, 200 as long as the process answers (also while it drains: a
 *   restart then would only cut the drain short);
 * - `<path>/ready`: readiness, 200 `{ready: true, checks}`, or 503 when the shared store or
 *   bus is unreachable or shutdown has begun, so traffic goes to other instances;
 * - `<path>`: both, with the counts of `app.mcp.stats()`; 503 when not ready.
 */
export function registerHealthRoutes (app: FastifyInstance, path: string, runtime: McpRuntime): void {
  const base = path === '/' ? '' : path
  app.get(path, async (_request, reply) => {
    const { ready, checks } = await runtime.readiness()
    // The counts come from the store, which may be the very thing that is away.
    const stats = checks.store ? await runtime.stats().catch(() => undefined) : undefined
    const status = ready ? 'ok' : checks.draining ? 'closing' : 'unavailable'
    return reply.code(ready ? 200 : 503).send({ status, live: true, ready, checks, ...stats })
  })
  app.get(`${base}/live`, async () => ({ status: 'ok', live: true }))
  app.get(`${base}/ready`, async (_request, reply) => {
    const readiness = await runtime.readiness()
    return reply.code(readiness.ready ? 200 : 503).send(readiness)
  })
}
