// Streams and the other requests: a POST stream cut mid-way is resumed with Last-Event-ID
// after the server's retry: delay (every event once); resources and prompts in both eras.
import http from 'node:http'
import { Type } from '@sinclair/typebox'
import t from 'tap'
import { connect, forgetVerdicts } from '../lib/client/index.js'
import { serve } from './helpers/index.js'
import { nodeServer, readBody } from './helpers/foreign.js'

t.beforeEach(() => forgetVerdicts())

t.test('a POST stream cut after three events: resumed after retry:, nothing lost or repeated', async (t) => {
  const { url: demo } = await serve(t, { demo: true })
  const resumes: Array<{ at: number, lastEventId: string }> = []
  let cutAt = 0
  const url = await nodeServer(t, async (req, res) => {
    const body = await readBody(req)
    const cut = req.method === 'POST' && body.includes('"countdown"')
    if (req.method === 'GET' && req.headers['last-event-id'] !== undefined) resumes.push({ at: Date.now(), lastEventId: String(req.headers['last-event-id']) })
    const upstream = http.request(demo, { method: req.method, headers: { ...req.headers, host: demo.host }, agent: false }, (answer) => {
      res.writeHead(answer.statusCode!, answer.headers)
      res.flushHeaders()
      let events = 0
      let dropped = false
      answer.on('data', (chunk: Buffer) => {
        if (res.destroyed || dropped) return
        events += chunk.toString().split('\n\n').length - 1
        // The priming event and two messages, then the connection drops (once they left).
        if (cut && events >= 3) {
          cutAt = Date.now()
          dropped = true
          answer.destroy()
          res.write(chunk, () => res.destroy())
        } else res.write(chunk)
      })
      answer.on('end', () => res.end())
    })
    res.on('close', () => upstream.destroy())
    upstream.end(body === '' ? undefined : body)
  })
  const client = await connect(url, { mode: 'legacy', openStream: false })
  t.teardown(() => client.close())
  const progress: number[] = []
  const result = await client.callTool('countdown', { from: 4, intervalMs: 50 }, { onProgress: (p) => progress.push(p.progress) })
  t.equal(result.content[0].text, 'liftoff')
  t.same(progress, [1, 2, 3, 4], 'every progress notification exactly once')
  t.equal(resumes.length, 1, 'one resume')
  t.ok(resumes[0]!.at - cutAt >= 900, `the client waited the server's retry: 1000 ms (${resumes[0]!.at - cutAt} ms)`)
})

for (const mode of ['legacy', 'auto'] as const) {
  t.test(`${mode}: readResource and getPrompt return the spec's result objects`, async (t) => {
    const { url } = await serve(t, {
      setup: (app) => {
        app.mcp.resource({ uri: 'docs://readme', name: 'readme', mimeType: 'text/markdown' }, async () => '# hello')
        app.mcp.prompt({ name: 'greet', description: 'Greet', arguments: Type.Object({ who: Type.String() }) }, async ({ who }) => `Say hello to ${who}`)
      }
    })
    const client = await connect(url, { mode, openStream: false })
    t.teardown(() => client.close())
    const read = await client.readResource('docs://readme')
    t.match(read.contents, [{ uri: 'docs://readme', mimeType: 'text/markdown', text: '# hello' }])
    const prompt = await client.getPrompt('greet', { who: 'Ada' })
    t.match(prompt.messages, [{ role: 'user', content: { type: 'text', text: 'Say hello to Ada' } }])
    t.same((await client.listResources()).resources.map((r: { uri: string }) => r.uri), ['docs://readme'])
    t.same((await client.listPrompts()).prompts.map((p: { name: string }) => p.name), ['greet'])
    await t.rejects(client.readResource('docs://nope'), { code: 'FST_MCP_RPC_ERROR' })
  })
}
