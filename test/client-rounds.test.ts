// Requests from the server: 2025 server→client requests answered by the handlers (posted
// back on the session), and 2026-07-28 input_required rounds run automatically, bounded.
import { Type } from '@sinclair/typebox'
import t from 'tap'
import { connect, forgetVerdicts } from '../lib/client/index.js'
import { acceptedContent, inputRequired } from '../lib/index.js'
import { serve } from './helpers/index.js'

t.beforeEach(() => forgetVerdicts())

const confirmSchema = { type: 'object', properties: { confirm: { type: 'boolean' } }, required: ['confirm'] } as const

async function deployServer (t: Parameters<typeof serve>[0]) {
  return serve(t, {
    setup: (app) => {
      app.mcp.tool({ name: 'deploy', description: 'Deploy', inputSchema: Type.Object({ env: Type.String() }) }, ({ env }, ctx) => {
        const answer = acceptedContent(ctx.inputResponses, 'confirm') as { confirm?: boolean } | undefined
        if (answer?.confirm !== true) return inputRequired({ inputRequests: { confirm: inputRequired.elicit(`Deploy to ${env}?`, confirmSchema) }, requestState: { env } })
        return `deployed to ${env}`
      })
      app.mcp.tool({ name: 'nag', description: 'Never satisfied', inputSchema: Type.Object({}) }, () =>
        inputRequired({ inputRequests: { again: inputRequired.elicit('Again?', confirmSchema) } }))
    }
  })
}

for (const mode of ['legacy', 'auto'] as const) {
  t.test(`${mode}: the elicitation handler answers what the tool asks`, async (t) => {
    const { url } = await deployServer(t)
    const asked: string[] = []
    const client = await connect(url, {
      mode,
      openStream: false,
      handlers: { elicitation: (params) => { asked.push(params.message); return { action: 'accept', content: { confirm: true } } } }
    })
    t.teardown(() => client.close())
    t.equal(client.era, mode === 'legacy' ? 'legacy' : 'modern')
    const result = await client.callTool('deploy', { env: 'prod' })
    t.equal(result.content[0].text, 'deployed to prod')
    t.same(asked, ['Deploy to prod?'])
  })
}

t.test('2026-07-28: the rounds are bounded', async (t) => {
  const { url } = await deployServer(t)
  let asked = 0
  const client = await connect(url, { maxInputRounds: 3, handlers: { elicitation: () => { asked++; return { action: 'accept', content: { confirm: true } } } } })
  t.teardown(() => client.close())
  await t.rejects(client.callTool('nag', {}), { code: 'FST_MCP_RPC_ERROR', message: /after 3 rounds/ })
  t.equal(asked, 2, 'answered twice; the third input_required ends it')
})

t.test('2026-07-28: no handler, no capability declared: the server refuses with -32021', async (t) => {
  const { url } = await deployServer(t)
  const client = await connect(url)
  t.teardown(() => client.close())
  await t.rejects(client.callTool('deploy', { env: 'prod' }), { code: 'FST_MCP_HTTP_STATUS', status: 400, rpcError: { code: -32021 } })
})

t.test('2025: sampling and roots requests on the call\'s stream are answered by the handlers', async (t) => {
  const { url } = await serve(t, {
    setup: (app) => {
      app.mcp.tool({ name: 'plan', description: 'Ask the client', inputSchema: Type.Object({}) }, async (_args, ctx) => {
        const roots = await ctx.listRoots()
        const reply = await ctx.sample({ messages: [{ role: 'user', content: { type: 'text', text: 'Name a root' } }], maxTokens: 10 })
        return `${roots.roots.map((r) => r.uri).join(',')} ${(reply.content as { text: string }).text}`
      })
    }
  })
  const client = await connect(url, {
    mode: 'legacy',
    openStream: false,
    handlers: {
      roots: () => ({ roots: [{ uri: 'file:///work', name: 'work' }] }),
      sampling: (params) => ({ role: 'assistant', content: { type: 'text', text: `sampled ${params.maxTokens}` }, model: 'test' })
    }
  })
  t.teardown(() => client.close())
  t.equal((await client.callTool('plan', {})).content[0].text, 'file:///work sampled 10')
})
