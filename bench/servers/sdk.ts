// Baseline: the official @modelcontextprotocol/sdk 1.x stateful server, as its documentation
// and examples/server/jsonResponseStreamableHttp.js build it: Express (createMcpExpressApp),
// one McpServer + StreamableHTTPServerTransport per session in JSON response mode, kept in a
// Map by session id. It serves the same `echo` tool. Started by bench/harness.ts.
//
// Note (SDK issue #2559): in JSON response mode the 1.x transport keeps an internal entry per
// request until its session closes; measured as shipped.
import { randomUUID } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import { createMcpExpressApp } from '@modelcontextprotocol/sdk/server/express.js'
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js'
import * as z from 'zod/v4'
import { announce } from './serve.js'

function newServer (): McpServer {
  const server = new McpServer({ name: 'sdk-baseline', version: '1.0.0' })
  server.registerTool('echo', { description: 'Echo the given text back', inputSchema: { text: z.string() } }, async ({ text }) => ({
    content: [{ type: 'text', text }]
  }))
  return server
}

const app = createMcpExpressApp()
const transports = new Map<string, StreamableHTTPServerTransport>()

// Express's request/response are Node's, with `body` parsed and `status().json()` added.
type Request = IncomingMessage & { body: unknown }
type Response = ServerResponse & { status (code: number): { json (body: unknown): void } }

app.post('/mcp', async (req: Request, res: Response) => {
  const sessionId = req.headers['mcp-session-id'] as string | undefined
  const existing = sessionId === undefined ? undefined : transports.get(sessionId)
  if (existing !== undefined) {
    await existing.handleRequest(req, res, req.body)
    return
  }
  if (sessionId === undefined && isInitializeRequest(req.body)) {
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      enableJsonResponse: true,
      onsessioninitialized: (id) => { transports.set(id, transport) }
    })
    transport.onclose = () => { if (transport.sessionId !== undefined) transports.delete(transport.sessionId) }
    await newServer().connect(transport)
    await transport.handleRequest(req, res, req.body)
    return
  }
  res.status(sessionId === undefined ? 400 : 404).json({ jsonrpc: '2.0', error: { code: sessionId === undefined ? -32000 : -32001, message: sessionId === undefined ? 'Bad Request: No valid session ID provided' : 'Session not found' }, id: null })
})

const server: Server = app.listen(0, '127.0.0.1', () => {
  announce((server.address() as AddressInfo).port, () => new Promise((resolve) => {
    for (const transport of transports.values()) transport.close()
    server.close(() => resolve(undefined))
    server.closeAllConnections()
  }))
})
