// The fair ceiling for `tools/call echo`: a bare Fastify POST route that parses the same body
// as the plugin's echo and answers the same result shape, `{ content: [{ type: 'text', text }] }`
// with the text it was sent, serialised the same way. Beside bare.ts (which answers a fixed
// `{}`), it separates what the larger body and answer cost from what the plugin adds.
import Fastify from 'fastify'
import { serve } from './serve.js'

interface EchoBody { id: number | string, params: { arguments: { text: string } } }

const app = Fastify({ logger: false })
app.post('/mcp', async (request, reply) => {
  const { id, params } = request.body as EchoBody
  return reply.type('application/json').send(JSON.stringify({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: params.arguments.text }] } }))
})
await serve(app)
