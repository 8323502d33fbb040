// The ceiling: a bare Fastify POST route that parses the JSON body and answers a fixed
// JSON-RPC result, serialised the same way the plugin does.
import Fastify from 'fastify'
import { serve } from './serve.js'

const app = Fastify({ logger: false })
app.post('/mcp', async (request, reply) => {
  const { id } = request.body as { id: number | string }
  return reply.type('application/json').send(JSON.stringify({ jsonrpc: '2.0', id, result: {} }))
})
await serve(app)
