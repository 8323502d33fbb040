import type { Server } from 'node:http'
import Fastify, { type FastifyHttpOptions, type FastifyInstance } from 'fastify'
import type { FastifyCorsOptions } from '@fastify/cors'
import { Type } from '@sinclair/typebox'
import mcp, { mcpClientErrorHandler, type McpPluginOptions } from '../../lib/index.js'

const sleep = (ms: number, signal: AbortSignal) => new Promise<void>((resolve, reject) => {
  if (signal.aborted) return reject(signal.reason)
  const timer = setTimeout(() => { signal.removeEventListener('abort', onAbort); resolve() }, ms)
  const onAbort = () => { clearTimeout(timer); reject(signal.reason) }
  signal.addEventListener('abort', onAbort, { once: true })
})

/** The demo tools, on any Fastify instance with the plugin registered. */
export function registerDemoTools (app: FastifyInstance): void {
  app.mcp.tool({
    name: 'echo',
    description: 'Echo the given text back',
    inputSchema: Type.Object({ text: Type.String() }),
    annotations: { readOnlyHint: true }
  }, async ({ text }) => text)

  app.mcp.tool({
    name: 'add',
    description: 'Add two numbers',
    inputSchema: Type.Object({ a: Type.Number(), b: Type.Number() }),
    outputSchema: Type.Object({ sum: Type.Number() }),
    annotations: { readOnlyHint: true }
  }, async ({ a, b }) => ({
    content: [{ type: 'text', text: String(a + b) }],
    structuredContent: { sum: a + b }
  }))

  app.mcp.tool({
    name: 'countdown',
    description: 'Count down from `from` to 1, one progress notification and one log message per step, then say liftoff',
    inputSchema: Type.Object({
      from: Type.Integer({ minimum: 1, maximum: 1000 }),
      intervalMs: Type.Integer({ minimum: 0, maximum: 1000 })
    })
  }, async ({ from, intervalMs }, ctx) => {
    for (let n = from; n >= 1; n--) {
      if (ctx.signal.aborted) throw ctx.signal.reason
      await ctx.progress(from - n + 1, from, `T-${n}`)
      await ctx.log('info', { countdown: n })
      if (intervalMs > 0) await sleep(intervalMs, ctx.signal)
    }
    return 'liftoff'
  })
}

/** `http://localhost`, `http://127.0.0.1` or `http://[::1]`, on any port. */
const LOCALHOST_ORIGIN = /^http:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?$/

/**
 * CORS for browser clients served from another localhost port, such as the MCP Inspector's
 * web UI (http://localhost:6274) or a dev server. Any other origin gets no CORS headers: the
 * request (or preflight) goes on to the plugin's Origin guard, which answers 403. That guard
 * keeps its default policy, which on a loopback listener (the demo's default HOST) lets
 * localhost origins on any port through; on a non-loopback HOST it only allows same-origin
 * requests, and `allowedOrigins` would have to list the browser origins one by one.
 */
export const DEMO_CORS: FastifyCorsOptions = {
  origin: (origin, callback) => callback(null, origin !== undefined && LOCALHOST_ORIGIN.test(origin) ? origin : false),
  exposedHeaders: ['Mcp-Session-Id']
}

/** The plugin options `npm start` runs the demo with: CORS as above, sessions in Redis when `REDIS_URL` is set. */
export function demoServerOptions (env: NodeJS.ProcessEnv = process.env): McpPluginOptions {
  const redis = env.REDIS_URL
  return redis === undefined || redis === '' ? { cors: DEMO_CORS } : { cors: DEMO_CORS, redis }
}

/**
 * How long a client may take to send a request: its headers (Node's default is 60 s) and
 * the whole request (Fastify's default is no limit, so a client dripping its body holds a
 * connection for ever). Both are measured up to the end of the request, never over the
 * answer, so SSE streams and long streaming answers are not affected.
 */
export const DEMO_TIMEOUTS = { requestTimeout: 10_000, http: { headersTimeout: 10_000 } } as const satisfies FastifyHttpOptions<Server>

/** Build the demo server: Fastify, the plugin on `/mcp`, and the demo tools. */
export async function buildDemo (options: McpPluginOptions = {}, fastifyOptions: FastifyHttpOptions<Server> = {}): Promise<FastifyInstance> {
  // Errors Node raises before any route (431, a malformed header, 408) get JSON-RPC bodies too.
  const app = Fastify({ ...DEMO_TIMEOUTS, clientErrorHandler: mcpClientErrorHandler, ...fastifyOptions })
  await app.register(mcp, {
    serverInfo: { name: 'fastify-mcp-streamable-demo', version: '1.0.0' },
    instructions: 'Demo server: echo, add and countdown.',
    ...options
  })
  registerDemoTools(app)
  return app
}
