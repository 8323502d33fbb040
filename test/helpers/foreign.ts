// Foreign MCP servers for the client and the doctor: the official SDKs' (v1 transport,
// stateful or stateless; v2 createMcpHandler) and bare node:http servers for broken ones.
import { randomUUID } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Test } from 'tap'
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { StreamableHTTPServerTransport, type EventStore } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import { isInitializeRequest, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js'
import { createMcpHandler, McpServer as McpServerV2 } from '@modelcontextprotocol/server'
import * as z from 'zod/v4'

/**
 * An event store for the SDK v1 transport that replays in the order events were stored. Not
 * the SDK's example `InMemoryEventStore`: it orders events by `${streamId}_${Date.now()}_${random}`,
 * so two events of one millisecond (a POST stream's priming event and its answer) replay in a
 * random order and a resumed stream misses its answer about half the time; the doctor reports
 * that server correctly as ✘, intermittently, which is no fixture for a test of the ✔.
 */
class OrderedEventStore implements EventStore {
  #sequence = 0
  readonly #events: Array<{ id: string, streamId: string, message: JSONRPCMessage }> = []

  async storeEvent (streamId: string, message: JSONRPCMessage): Promise<string> {
    const id = `${streamId}_${++this.#sequence}`
    this.#events.push({ id, streamId, message })
    return id
  }

  async getStreamIdForEventId (eventId: string): Promise<string | undefined> {
    return this.#events.find((e) => e.id === eventId)?.streamId
  }

  async replayEventsAfter (lastEventId: string, { send }: { send: (eventId: string, message: JSONRPCMessage) => Promise<void> }): Promise<string> {
    const at = this.#events.findIndex((e) => e.id === lastEventId)
    if (at === -1) return ''
    const streamId = this.#events[at]!.streamId
    for (const event of this.#events.slice(at + 1)) if (event.streamId === streamId) await send(event.id, event.message)
    return streamId
  }
}

/** A node:http server on a free loopback port, closed at teardown; returns its `/mcp` URL. */
export async function nodeServer (t: Test, handler: http.RequestListener): Promise<URL> {
  const server = http.createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }))
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`)
}

export async function readBody (req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

function v1Server (): McpServer {
  const server = new McpServer({ name: 'sdk-v1', version: '1.0.0' })
  server.registerTool('echo', { description: 'Echo', inputSchema: { text: z.string() } }, async ({ text }) => ({ content: [{ type: 'text', text }] }))
  return server
}

/**
 * `@modelcontextprotocol/sdk` 1.x: one transport per session (stateful), or one per request
 * (stateless); `resumable`: with an event store (stateful only; see OrderedEventStore).
 */
export async function sdkV1 (t: Test, stateful: boolean, resumable = false): Promise<URL> {
  const transports = new Map<string, StreamableHTTPServerTransport>()
  t.teardown(async () => { for (const transport of transports.values()) await transport.close() })
  return nodeServer(t, async (req, res) => {
    const text = req.method === 'POST' ? await readBody(req) : ''
    let body: unknown
    try { body = text === '' ? undefined : JSON.parse(text) } catch { body = text }
    if (!stateful) {
      if (req.method !== 'POST') { res.writeHead(405, { allow: 'POST' }).end(); return }
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined })
      res.on('close', () => { void transport.close() })
      await v1Server().connect(transport)
      await transport.handleRequest(req, res, body)
      return
    }
    const sessionId = req.headers['mcp-session-id'] as string | undefined
    const existing = sessionId === undefined ? undefined : transports.get(sessionId)
    if (existing !== undefined) { await existing.handleRequest(req, res, body); return }
    if (sessionId === undefined && req.method === 'POST' && isInitializeRequest(body)) {
      const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        ...(resumable ? { eventStore: new OrderedEventStore() } : {}),
        onsessioninitialized: (id) => { transports.set(id, transport) }
      })
      transport.onclose = () => { if (transport.sessionId !== undefined) transports.delete(transport.sessionId) }
      await v1Server().connect(transport)
      await transport.handleRequest(req, res, body)
      return
    }
    const status = sessionId === undefined ? 400 : 404
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: sessionId === undefined ? -32000 : -32001, message: sessionId === undefined ? 'Bad Request: No valid session ID provided' : 'Session not found' } }))
  })
}

/** `@modelcontextprotocol/server` 2.x `createMcpHandler` (both eras, stateless), behind node:http. */
export async function sdkV2 (t: Test): Promise<URL> {
  const handler = createMcpHandler(() => {
    const server = new McpServerV2({ name: 'sdk-v2', version: '2.0.0' })
    server.registerTool('echo', { description: 'Echo', inputSchema: z.object({ text: z.string() }) }, async ({ text }) => ({ content: [{ type: 'text', text }] }))
    return server
  })
  t.teardown(() => handler.close())
  return nodeServer(t, async (req, res) => {
    const body = req.method === 'POST' ? await readBody(req) : undefined
    const headers = new Headers()
    for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers.set(name, value)
    const request = new Request(`http://${req.headers.host}${req.url}`, { method: req.method, headers, body })
    const response = await handler.fetch(request)
    res.writeHead(response.status, Object.fromEntries(response.headers))
    if (response.body === null) { res.end(); return }
    for await (const chunk of response.body) res.write(chunk)
    res.end()
  })
}
