// Baseline for the 2026-07-28 requests: the official v2 server (@modelcontextprotocol/server
// 2.4.0) as its docs mount it in Fastify (docs/serving/fastify.md): `createMcpHandler` with a
// factory that builds an `McpServer` per request, turned into a Node handler by
// `@modelcontextprotocol/node`'s `toNodeHandler`, given Fastify's raw request, response and
// parsed body. JSON response mode; the same `echo` tool as the plugin's demo. Two departures
// from the docs' one-liner, both in the SDK's favour or neutral: the handler is built once at
// start (the one-liner builds it on every request), and the reply is hijacked first (Fastify
// is told the response is written by someone else, as it should be when writing to
// `reply.raw`). With SDK_V2_MAX_SUBSCRIPTIONS, room for that many listen streams.
// Started by bench/harness.ts in its own process.
import Fastify from 'fastify'
import type { AddressInfo } from 'node:net'
import { createMcpHandler, McpServer } from '@modelcontextprotocol/server'
import { toNodeHandler } from '@modelcontextprotocol/node'
import * as z from 'zod/v4'
import { announce } from './serve.js'

function newServer (): McpServer {
  const server = new McpServer({ name: 'sdk-v2-baseline', version: '1.0.0' })
  server.registerTool('echo', { description: 'Echo the given text back', inputSchema: z.object({ text: z.string() }) }, async ({ text }) => ({
    content: [{ type: 'text', text }]
  }))
  return server
}

const maxSubscriptions = Number(process.env.SDK_V2_MAX_SUBSCRIPTIONS ?? 1024)
const handler = createMcpHandler(() => newServer(), { responseMode: 'json', maxSubscriptions })
const node = toNodeHandler(handler)

const app = Fastify({ logger: false })
app.all('/mcp', (request, reply) => {
  reply.hijack()
  return node(request.raw, reply.raw, request.body)
})
await app.listen({ port: 0, host: '127.0.0.1' })
let added = 0
announce((app.server.address() as AddressInfo).port, async () => {
  await handler.close()
  await app.close()
}, (message) => {
  // As serve.ts: a tool list change announced on every listen stream.
  if (message.type !== 'broadcast') return
  added++
  handler.notify.toolsChanged()
  process.send!({ type: 'broadcast', added })
})
