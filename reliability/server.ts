// The server under test, in a process of its own (the scenarios reach it over HTTP, so a
// crash shows as an exit and heap figures are the server's alone): the demo app, with its
// request timeouts and client-error handler, plus a `slow` tool for calls in flight.
//
//   MCP_RELIABILITY_DIST  the dist/ directory to load the demo from (default: this build);
//                         another build's gives the "before" figures
//   REDIS_URL, REDIS_PREFIX, REDIS_TIMEOUT_MS   sessions in Redis
//   SESSION_TTL_MS, DRAIN_TIMEOUT_MS
//
// IPC: sends { type: 'ready', port }; answers 'memory' (heap after a full GC) and 'close'
// (the time app.close() took, then exits).
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'

type BuildDemo = (options: Record<string, unknown>, fastify: Record<string, unknown>) => Promise<FastifyInstance>

const dist = process.env.MCP_RELIABILITY_DIST ?? fileURLToPath(new URL('..', import.meta.url))
const { buildDemo } = await import(pathToFileURL(join(dist, 'examples/demo/app.js')).href) as { buildDemo: BuildDemo }

const env = process.env
const options: Record<string, unknown> = { maxSessions: 1_000_000 }
if (env.REDIS_URL !== undefined) {
  options.redis = env.REDIS_URL
  options.redisPrefix = env.REDIS_PREFIX ?? 'rel:'
}
if (env.REDIS_TIMEOUT_MS !== undefined) options.redisTimeoutMs = Number(env.REDIS_TIMEOUT_MS)
if (env.SESSION_TTL_MS !== undefined) options.sessionTtlMs = Number(env.SESSION_TTL_MS)
if (env.DRAIN_TIMEOUT_MS !== undefined) options.drainTimeoutMs = Number(env.DRAIN_TIMEOUT_MS)

const app = await buildDemo(options, { logger: false })
app.mcp.tool({
  name: 'slow',
  description: 'Answers after `ms` milliseconds (at most 5 s)',
  inputSchema: { type: 'object', properties: { ms: { type: 'integer', minimum: 0, maximum: 5000 } }, required: ['ms'] }
}, async (args) => {
  await new Promise((resolve) => setTimeout(resolve, Number(args.ms)))
  return 'slept'
})
await app.listen({ port: 0, host: '127.0.0.1' })

process.on('message', (message: { type: string }) => {
  if (message.type === 'memory') {
    global.gc?.()
    global.gc?.()
    process.send!({ type: 'memory', heapUsed: process.memoryUsage().heapUsed })
  } else if (message.type === 'close') {
    const started = performance.now()
    app.close().then(() => {
      process.send!({ type: 'closed', ms: performance.now() - started }, () => process.exit(0))
    }, () => process.exit(1))
  }
})
process.send!({ type: 'ready', port: (app.server.address() as AddressInfo).port })
