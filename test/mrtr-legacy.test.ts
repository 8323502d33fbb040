// Multi round-trip handlers on 2025 sessions: the plugin turns each input request into a real
// elicitation/create, sampling/createMessage or roots/list on the session and runs the handler
// again with the answers, so one handler serves both eras. The official SDK 1.x client answers.
import t, { type Test } from 'tap'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { CreateMessageRequestSchema, ElicitRequestSchema, ListRootsRequestSchema } from '@modelcontextprotocol/sdk/types.js'
import { registerMrtrFixtures } from '../examples/conformance-server/app.js'
import { acceptedContent, inputRequired, type McpPluginOptions } from '../lib/index.js'
import { openSessionHttp, request, rpc, serve, within, type Session, type Setup, type StreamReader } from './helpers/index.js'

interface Seen { elicit: string[], sample: string[], roots: number }

interface ClientOptions {
  capabilities?: Record<string, unknown>
  /** What the user answers an elicitation with, by its message. */
  elicit?: (message: string) => Record<string, unknown>
}

const defaultElicit = (message: string): Record<string, unknown> => {
  if (/color/.test(message)) return { action: 'accept', content: { color: 'blue' } }
  if (/context/.test(message)) return { action: 'accept', content: { context: 'tests' } }
  if (/confirm/i.test(message)) return { action: 'accept', content: { ok: true } }
  return { action: 'accept', content: { name: 'Ada' } }
}

/** An app with the MRTR fixtures (plus `setup`), listening, and an SDK 1.x client on a 2025 session answering everything. */
async function connect (t: Test, { capabilities = { elicitation: {}, sampling: {}, roots: { listChanged: true } }, elicit = defaultElicit }: ClientOptions = {}, setup?: Setup, options: McpPluginOptions = {}) {
  const { url } = await serve(t, { options, setup: (app) => { registerMrtrFixtures(app); setup?.(app) } })
  const client = new Client({ name: 'sdk-mrtr', version: '1.0.0' }, { capabilities })
  const seen: Seen = { elicit: [], sample: [], roots: 0 }
  if ('elicitation' in capabilities) {
    client.setRequestHandler(ElicitRequestSchema, async (req) => {
      seen.elicit.push(req.params.message)
      return elicit(req.params.message) as never
    })
  }
  if ('sampling' in capabilities) {
    client.setRequestHandler(CreateMessageRequestSchema, async (req) => {
      const first = req.params.messages[0]!.content as { text: string }
      seen.sample.push(first.text)
      return { role: 'assistant', content: { type: 'text', text: `Re: ${first.text}` }, model: 'test-model', stopReason: 'endTurn' }
    })
  }
  if ('roots' in capabilities) {
    client.setRequestHandler(ListRootsRequestSchema, async () => {
      seen.roots++
      return { roots: [{ uri: 'file:///work', name: 'work' }] }
    })
  }
  const transport = new StreamableHTTPClientTransport(url)
  t.teardown(() => client.close().catch(() => {}))
  await client.connect(transport)
  return { client, seen, transport }
}

const text = (result: unknown) => ((result as { content: Array<{ text: string }> }).content)[0]!.text

t.test('one round: elicitation, sampling and roots asked at once, the handler re-entered with the answers and its state', async (t) => {
  const { client, seen, transport } = await connect(t)
  t.equal(transport.protocolVersion, '2025-11-25', 'a 2025 session')
  const result = await client.callTool({ name: 'test_input_required_result_multiple_inputs', arguments: {} })
  t.notOk(result.isError)
  t.equal(text(result), 'Name: Ada; Greeting: Re: Generate a greeting; Roots: 1', 'built from all three answers, the state seen')
  t.same(seen, { elicit: ['What is your name?'], sample: ['Generate a greeting'], roots: 1 }, 'each asked once')
})

t.test('each basic kind, and a prompt', async (t) => {
  const { client } = await connect(t)
  t.equal(text(await client.callTool({ name: 'test_input_required_result_elicitation', arguments: {} })), 'Hello, Ada!')
  t.equal(text(await client.callTool({ name: 'test_input_required_result_sampling', arguments: {} })), 'Sampling result: Re: What is the capital of France?')
  t.equal(text(await client.callTool({ name: 'test_input_required_result_list_roots', arguments: {} })), 'Found 1 root(s): file:///work')
  t.equal(text(await client.callTool({ name: 'test_input_required_result_request_state', arguments: {} })), 'state-ok: requestState validated')
  const prompt = await client.getPrompt({ name: 'test_input_required_result_prompt' })
  t.same(prompt.messages, [{ role: 'user', content: { type: 'text', text: 'Prompt with context: tests' } }])
})

t.test('several rounds with an evolving state', async (t) => {
  const { client, seen } = await connect(t)
  const result = await client.callTool({ name: 'test_input_required_result_multi_round', arguments: {} })
  t.equal(text(result), 'Multi-round complete for Ada who likes blue')
  t.same(seen.elicit, ['Step 1: What is your name?', 'Step 2: What is your favorite color?'])
})

t.test('a handler that never has enough is stopped after maxInputRounds', async (t) => {
  let runs = 0
  const { client, seen } = await connect(t, {}, (app) => {
    app.mcp.tool({ name: 'insatiable', description: 'always asks again' }, () => {
      runs++
      return inputRequired({ inputRequests: { again: inputRequired.elicit('Again?', { type: 'object', properties: {} }) } })
    })
    app.mcp.prompt({ name: 'insatiable_prompt', description: 'always asks again' }, () => inputRequired({ inputRequests: { again: inputRequired.listRoots() } }))
  }, { maxInputRounds: 3 })
  const result = await client.callTool({ name: 'insatiable', arguments: {} })
  t.equal(result.isError, true, 'a tool error result')
  t.match(text(result), /still needed input after 3 rounds/)
  t.equal(seen.elicit.length, 3, 'three rounds asked')
  t.equal(runs, 4, 'the handler ran for each round, and once more')
  await t.rejects(client.getPrompt({ name: 'insatiable_prompt' }), { code: -32603 }, 'a prompt: -32603')
  t.equal(seen.roots, 3)
})

t.test('a client without the capability: no request is sent, the tool reports why, a prompt gets -32603', async (t) => {
  const { client, seen } = await connect(t, { capabilities: { sampling: {} } })
  const result = await client.callTool({ name: 'test_input_required_result_multiple_inputs', arguments: {} })
  t.equal(result.isError, true)
  t.match(text(result), /did not declare elicitation.form, roots/)
  t.same(seen, { elicit: [], sample: [], roots: 0 }, 'nothing asked: the round is refused as a whole')
  await t.rejects(client.getPrompt({ name: 'test_input_required_result_prompt' }), { code: -32603, message: /elicitation/ })
  t.equal(text(await client.callTool({ name: 'test_input_required_result_sampling', arguments: {} })), 'Sampling result: Re: What is the capital of France?', 'what it declared works')
})

t.test('a declined answer is the handler\'s to handle; a state-only result re-enters with the state', async (t) => {
  let declines = 0
  const { client } = await connect(t, {
    elicit: () => declines++ < 2 ? { action: 'decline' } : { action: 'accept', content: { name: 'Ada' } }
  }, (app) => {
    app.mcp.tool({ name: 'later', description: 'state only' }, (_args, ctx) => {
      if (ctx.requestState === undefined) return inputRequired({ requestState: { step: 'second' } })
      return `state: ${JSON.stringify(ctx.requestState)}, responses: ${JSON.stringify(ctx.inputResponses)}`
    })
  })
  t.equal(text(await client.callTool({ name: 'test_input_required_result_elicitation', arguments: {} })), 'Hello, Ada!', 'asked again after two declines')
  t.equal(declines, 3)
  t.equal(text(await client.callTool({ name: 'later', arguments: {} })), 'state: {"step":"second"}, responses: undefined')
})

t.test('ctx.elicit() keeps working beside MRTR handlers', async (t) => {
  const { client, seen } = await connect(t, {}, (app) => {
    app.mcp.tool({ name: 'classic', description: 'push style' }, async (_args, ctx) => {
      const form = await ctx.elicit('Classic name?', { type: 'object', properties: { name: { type: 'string' } } })
      return `classic ${String(acceptedContent({ form }, 'form')?.name)}`
    })
  })
  t.equal(text(await client.callTool({ name: 'classic', arguments: {} })), 'classic Ada')
  t.same(seen.elicit, ['Classic name?'])
})

t.test('stateless 2025 serving cannot ask: a tool error result', async (t) => {
  const { url } = await serve(t, { options: { stateless: true }, setup: registerMrtrFixtures })
  const client = new Client({ name: 'sdk-mrtr', version: '1.0.0' }, { capabilities: { elicitation: {} } })
  client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: { name: 'Ada' } }))
  t.teardown(() => client.close().catch(() => {}))
  await client.connect(new StreamableHTTPClientTransport(url))
  const result = await client.callTool({ name: 'test_input_required_result_elicitation', arguments: {} })
  t.equal(result.isError, true)
  t.match(text(result), /cannot be asked for without a session/)
})

/** The server → client requests seen so far on a stream, once there are at least `count`. */
async function serverRequests (reader: StreamReader, count: number): Promise<any[]> {
  const asked = () => reader.messages().filter((m) => m.method !== undefined && m.id !== undefined && !String(m.method).startsWith('notifications/'))
  await reader.until(() => asked().length >= count, 10_000)
  return asked()
}

async function answer (url: URL, session: Session, message: unknown): Promise<number> {
  const res = await request(url, 'POST', session.headers, message)
  await res.waitEnd()
  return res.status
}

t.test('over the wire: a round\'s requests go out together; one failing cancels the others and ends the tool', async (t) => {
  let runs = 0
  const { url } = await serve(t, {
    setup: (app) => {
      app.mcp.tool({ name: 'two', description: 'two inputs' }, () => {
        runs++
        return inputRequired({
          inputRequests: {
            name: inputRequired.elicit('Name?', { type: 'object', properties: { name: { type: 'string' } } }),
            login: inputRequired.elicitUrl('Sign in', 'https://example.com/login'),
            model: inputRequired.createMessage({ messages: [{ role: 'user', content: { type: 'text', text: 'hi' } }], maxTokens: 5 })
          }
        })
      })
    }
  })
  const session = await openSessionHttp(url, '2025-11-25', { elicitation: { form: {}, url: {} }, sampling: {} })
  const stream = await request(url, 'POST', session.headers, rpc(1, 'tools/call', { name: 'two', arguments: {} }))
  const asked = await serverRequests(stream, 3)
  t.same(asked.map((m) => m.method).sort(), ['elicitation/create', 'elicitation/create', 'sampling/createMessage'], 'all three before any answer')
  const url2 = asked.find((m) => m.params.mode === 'url')
  t.match(url2.params, { mode: 'url', message: 'Sign in', url: 'https://example.com/login', elicitationId: /^[0-9a-f-]{36}$/ }, 'URL mode on a 2025 session gets an elicitationId')
  const sampling = asked.find((m) => m.method === 'sampling/createMessage')
  t.equal(await answer(url, session, { jsonrpc: '2.0', id: sampling.id, error: { code: -1, message: 'User rejected sampling' } }), 202)
  await stream.waitEnd()
  const cancelled = stream.messages().filter((m) => m.method === 'notifications/cancelled').map((m) => m.params.requestId).sort()
  t.same(cancelled, asked.filter((m) => m.method === 'elicitation/create').map((m) => m.id).sort(), 'the two elicitations still waiting are cancelled')
  const result = stream.messages().find((m) => m.id === 1).result
  t.equal(result.isError, true)
  t.match(result.content[0].text, /could not get its input from the client: User rejected sampling/)
  t.equal(runs, 1, 'the handler is not run again')
})

t.test('over the wire: cancelling the call ends its rounds; nothing answers it', async (t) => {
  let runs = 0
  const { url } = await serve(t, {
    setup: (app) => {
      app.mcp.tool({ name: 'slow', description: 'asks for roots' }, () => {
        runs++
        return inputRequired({ inputRequests: { roots: inputRequired.listRoots() } })
      })
    }
  })
  const session = await openSessionHttp(url, '2025-11-25', { roots: {} })
  const stream = await request(url, 'POST', session.headers, rpc(7, 'tools/call', { name: 'slow', arguments: {} }))
  const [roots] = await serverRequests(stream, 1)
  t.equal(await answer(url, session, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 7 } }), 202)
  await within(stream.waitEnd(), 'the stream to end')
  t.ok(stream.messages().some((m) => m.method === 'notifications/cancelled' && m.params.requestId === roots.id), 'the roots request is cancelled')
  t.notOk(stream.messages().some((m) => m.id === 7), 'no answer for the cancelled call')
  t.equal(runs, 1)
})
