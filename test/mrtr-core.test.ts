// Multi round-trip requests in the core, for a stateless 2026-07-28 caller (inputMode 'return'):
// capabilities checked against the request's declaration, requestState signed and verified.
// The HTTP side of the modern era builds the same RequestScope from `_meta`.
import Fastify, { type FastifyInstance } from 'fastify'
import t from 'tap'
import { Type } from '@sinclair/typebox'
import { registerMrtrFixtures } from '../examples/conformance-server/app.js'
import { createCore, type McpCore } from '../lib/core/index.js'
import type { InputMode, RequestScope } from '../lib/core/caller.js'
import { ErrorCode, RequestStateCodec, acceptedContent, inputRequired, isInputRequired } from '../lib/index.js'

const logger = Fastify({ logger: false }).log
const FULL_CAPS = { elicitation: {}, sampling: {}, roots: { listChanged: true } }
const KEYS = ['k'.repeat(32)]

interface ScopeOptions {
  capabilities?: Record<string, unknown>
  principal?: string
  inputMode?: InputMode
}

/** A caller as a stateless front door describes it: capabilities and principal from the request. */
function scopeOf ({ capabilities = FULL_CAPS, principal, inputMode = 'return' }: ScopeOptions = {}): RequestScope {
  return {
    protocolVersion: '2026-07-28',
    clientCapabilities: capabilities,
    logLevel: undefined,
    auth: principal === undefined ? undefined : { principal },
    logger,
    session: undefined,
    signal: new AbortController().signal,
    cancelled: false,
    inputMode,
    begin: () => undefined,
    end: () => {},
    sendRelated: async () => {},
    closeConnection: () => false,
    client: () => { throw new Error('a stateless caller cannot be asked') }
  }
}

function coreWith (setup: (app: FastifyInstance) => void, options: { ttlMs?: number } = {}): McpCore {
  const core = createCore({ serverInfo: { name: 'core-test', version: '1' }, instructions: undefined, pageSize: 100, requestState: { keys: KEYS, ttlMs: options.ttlMs } }, logger)
  setup({ mcp: core.features } as unknown as FastifyInstance)
  return core
}

let nextId = 1
async function send (core: McpCore, method: string, params: Record<string, unknown>, scope = scopeOf()): Promise<any> {
  return await core.dispatcher.handleRequest({ jsonrpc: '2.0', id: nextId++, method, params }, scope)
}
const call = (core: McpCore, name: string, extra: Record<string, unknown> = {}, scope?: RequestScope) =>
  send(core, 'tools/call', { name, arguments: {}, ...extra }, scope)

const fixtures = (): McpCore => coreWith(registerMrtrFixtures)

t.test('round 1 answers input_required with the handler\'s requests, as the client gets them', async (t) => {
  const res = await call(fixtures(), 'test_input_required_result_elicitation')
  t.strictSame(res.result, {
    resultType: 'input_required',
    inputRequests: {
      user_name: {
        method: 'elicitation/create',
        params: { message: 'What is your name?', requestedSchema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] } }
      }
    }
  }, 'no requestState when the handler keeps none, no cache hints')
  const retry = await call(fixtures(), 'test_input_required_result_elicitation', { inputResponses: { user_name: { action: 'accept', content: { name: 'Alice' } }, extra: { action: 'accept' } } })
  t.strictSame(retry.result, { content: [{ type: 'text', text: 'Hello, Alice!' }] }, 'the retry completes; extra keys ignored')
})

t.test('a missing or wrong answer is a new input_required, a malformed one -32602', async (t) => {
  const core = fixtures()
  const wrong = await call(core, 'test_input_required_result_elicitation', { inputResponses: { wrong_key: { action: 'accept', content: { data: 'x' } } } })
  t.equal(wrong.result.resultType, 'input_required')
  const declined = await call(core, 'test_input_required_result_elicitation', { inputResponses: { user_name: { action: 'decline' } } })
  t.equal(declined.result.resultType, 'input_required', 'declined: asked again')
  const number = await call(core, 'test_input_required_result_elicitation', { inputResponses: { user_name: 12345 } })
  t.equal(number.error?.code, ErrorCode.InvalidParams, 'a number for an answer')
  const nul = await call(core, 'test_input_required_result_elicitation', { inputResponses: null })
  t.equal(nul.error?.code, ErrorCode.InvalidParams, 'null inputResponses')
})

t.test('requestState: signed on the way out, verified and handed back on the retry; three rounds', async (t) => {
  const core = fixtures()
  const r1 = await call(core, 'test_input_required_result_multi_round')
  t.equal(r1.result.resultType, 'input_required')
  t.match(r1.result.requestState, /^v1\./, 'the wire state is the signed string')
  t.notMatch(Buffer.from(r1.result.requestState.split('.')[1], 'base64url').toString(), /nonce/)
  t.same(new RequestStateCodec({ keys: KEYS }).verify(r1.result.requestState, { principal: undefined, method: 'tools/call', target: 'test_input_required_result_multi_round' }), { ok: true, value: { round: 1 } }, 'it carries the handler\'s value')

  const r2 = await call(core, 'test_input_required_result_multi_round', { inputResponses: { step1: { action: 'accept', content: { name: 'Alice' } } }, requestState: r1.result.requestState })
  t.equal(r2.result.resultType, 'input_required', 'round 2 asks again')
  t.ok(r2.result.inputRequests.step2, 'for step2')
  t.not(r2.result.requestState, r1.result.requestState, 'with an evolved state')

  const r3 = await call(core, 'test_input_required_result_multi_round', { inputResponses: { step2: { action: 'accept', content: { color: 'blue' } } }, requestState: r2.result.requestState })
  t.strictSame(r3.result, { content: [{ type: 'text', text: 'Multi-round complete for Alice who likes blue' }] })
})

t.test('a tampered, foreign or expired requestState is -32602 invalid_request_state, in-band', async (t) => {
  const core = fixtures()
  const answers = { confirm: { action: 'accept', content: { ok: true } } }
  const r1 = await call(core, 'test_input_required_result_tampered_state')
  const state = r1.result.requestState as string
  const good = await call(core, 'test_input_required_result_tampered_state', { inputResponses: answers, requestState: state })
  t.strictSame(good.result, { content: [{ type: 'text', text: 'integrity-ok: state verified' }] }, 'the genuine state verifies')

  const invalid = { code: -32602, message: 'Invalid or expired requestState', data: { reason: 'invalid_request_state' } }
  t.strictSame((await call(core, 'test_input_required_result_tampered_state', { inputResponses: answers, requestState: state + '-TAMPERED' })).error, invalid, 'tampered')
  t.strictSame((await call(core, 'test_input_required_result_request_state', { inputResponses: answers, requestState: state })).error, invalid, 'minted for another tool')
  t.strictSame((await call(core, 'test_input_required_result_tampered_state', { inputResponses: answers, requestState: state }, scopeOf({ principal: 'mallory' }))).error, invalid, 'for another principal')
  t.strictSame((await call(core, 'test_input_required_result_tampered_state', { requestState: 42 })).error?.code, -32602, 'not a string')

  const otherServer = coreWith(registerMrtrFixtures)
  const foreign = new RequestStateCodec({ keys: ['z'.repeat(32)] }).sign({ kind: 'tamper-test' }, { principal: undefined, method: 'tools/call', target: 'test_input_required_result_tampered_state' })
  t.strictSame((await call(otherServer, 'test_input_required_result_tampered_state', { inputResponses: answers, requestState: foreign })).error, invalid, 'signed with another key')

  const shortLived = coreWith(registerMrtrFixtures, { ttlMs: 1 })
  const early = await call(shortLived, 'test_input_required_result_tampered_state')
  await new Promise((resolve) => setTimeout(resolve, 5))
  t.strictSame((await call(shortLived, 'test_input_required_result_tampered_state', { inputResponses: answers, requestState: early.result.requestState })).error, invalid, 'expired')
})

t.test('principal binding: the same principal retries, another cannot', async (t) => {
  const core = fixtures()
  const alice = scopeOf({ principal: 'alice' })
  const r1 = await call(core, 'test_input_required_result_request_state', {}, alice)
  const retry = { inputResponses: { confirm: { action: 'accept', content: { ok: true } } }, requestState: r1.result.requestState }
  t.strictSame((await call(core, 'test_input_required_result_request_state', retry, alice)).result, { content: [{ type: 'text', text: 'state-ok: requestState validated' }] })
  t.equal((await call(core, 'test_input_required_result_request_state', retry, scopeOf())).error?.code, -32602, 'anonymous')
})

t.test('an input request the client did not declare is -32021 with requiredCapabilities', async (t) => {
  const cases: Array<[string, Record<string, unknown>, unknown]> = [
    ['sampling, nothing declared', {}, { sampling: {} }],
    ['sampling, only elicitation declared', { elicitation: {} }, { sampling: {} }]
  ]
  for (const [label, capabilities, required] of cases) {
    const res = await call(fixtures(), 'test_missing_capability', {}, scopeOf({ capabilities }))
    t.strictSame(res.error, { code: ErrorCode.MissingRequiredClientCapability, message: 'Missing required client capability', data: { requiredCapabilities: required } }, label)
  }
  t.equal(ErrorCode.MissingRequiredClientCapability, -32021)
  const ok = await call(fixtures(), 'test_missing_capability', {}, scopeOf({ capabilities: { sampling: {} } }))
  t.equal(ok.result.resultType, 'input_required', 'declared: asked')

  const core = coreWith((app) => {
    const kinds: Record<string, ReturnType<typeof inputRequired.elicit> | ReturnType<typeof inputRequired.elicitUrl> | ReturnType<typeof inputRequired.createMessage> | ReturnType<typeof inputRequired.listRoots>> = {
      form: inputRequired.elicit('Name?', { type: 'object', properties: {} }),
      url: inputRequired.elicitUrl('Sign in', 'https://example.com/login', 'el-1'),
      tools: inputRequired.createMessage({ messages: [], maxTokens: 5, tools: [{ name: 't' }] }),
      roots: inputRequired.listRoots()
    }
    app.mcp.tool({ name: 'ask', description: 'ask', inputSchema: Type.Object({ kinds: Type.Array(Type.String()) }) }, ({ kinds: wanted }) =>
      inputRequired({ inputRequests: Object.fromEntries(wanted.map((kind) => [kind, kinds[kind]!])) }))
  })
  const ask = (kinds: string[], capabilities: Record<string, unknown>) => send(core, 'tools/call', { name: 'ask', arguments: { kinds } }, scopeOf({ capabilities }))
  t.strictSame((await ask(['form'], { elicitation: {} })).result?.resultType, 'input_required', 'a bare elicitation declares form')
  t.strictSame((await ask(['form'], { elicitation: { url: {} } })).error?.data, { requiredCapabilities: { elicitation: { form: {} } } }, 'url only: form is missing')
  t.strictSame((await ask(['url'], { elicitation: {} })).error?.data, { requiredCapabilities: { elicitation: { url: {} } } }, 'URL mode needs elicitation.url')
  t.strictSame((await ask(['url'], { elicitation: { url: {} } })).result?.resultType, 'input_required')
  t.strictSame((await ask(['tools'], { sampling: {} })).error?.data, { requiredCapabilities: { sampling: { tools: {} } } }, 'sampling with tools needs sampling.tools')
  t.strictSame((await ask(['roots', 'form'], {})).error?.data, { requiredCapabilities: { roots: {}, elicitation: { form: {} } } }, 'everything missing, in one object')
})

t.test('the capabilities fixture asks only for what was declared', async (t) => {
  const res = await call(fixtures(), 'test_input_required_result_capabilities', {}, scopeOf({ capabilities: { sampling: {} } }))
  t.same(Object.keys(res.result.inputRequests), ['sample_input'])
})

t.test('prompts/get and resources/read may answer input_required too; other methods may not', async (t) => {
  const core = coreWith((app) => {
    registerMrtrFixtures(app)
    app.mcp.resource({ uri: 'test://secret', name: 'secret' }, (_uri, ctx) => {
      const pin = acceptedContent(ctx.inputResponses, 'pin')
      return pin === undefined ? inputRequired({ inputRequests: { pin: inputRequired.elicit('PIN?', { type: 'object', properties: { pin: { type: 'string' } } }) }, requestState: 'read' }) : `unlocked by ${String(pin.pin)} (${String(ctx.requestState)})`
    })
  })
  const p1 = await send(core, 'prompts/get', { name: 'test_input_required_result_prompt' })
  t.equal(p1.result.resultType, 'input_required')
  t.ok(p1.result.inputRequests.user_context)
  const p2 = await send(core, 'prompts/get', { name: 'test_input_required_result_prompt', inputResponses: { user_context: { action: 'accept', content: { context: 'tests' } } } })
  t.strictSame(p2.result, { messages: [{ role: 'user', content: { type: 'text', text: 'Prompt with context: tests' } }] })

  const r1 = await send(core, 'resources/read', { uri: 'test://secret' })
  t.equal(r1.result.resultType, 'input_required')
  const r2 = await send(core, 'resources/read', { uri: 'test://secret', inputResponses: { pin: { action: 'accept', content: { pin: '1234' } } }, requestState: r1.result.requestState })
  t.equal(r2.result.contents[0].text, 'unlocked by 1234 (read)')
  const foreign = await send(core, 'resources/read', { uri: 'test://other', requestState: r1.result.requestState })
  t.equal(foreign.error?.code, -32602, 'a state is bound to its URI')
})

t.test('input_required is refused where it makes no sense', async (t) => {
  const core = coreWith((app) => {
    app.mcp.tool({ name: 'empty', description: 'empty' }, () => ({ resultType: 'input_required' }) as never)
    app.mcp.tool({ name: 'unknown_kind', description: 'unknown kind' }, () => inputRequired({ inputRequests: { x: { method: 'ping', params: {} } as never } }))
    app.mcp.prompt({ name: 'needs', description: 'needs input' }, () => inputRequired({ inputRequests: { x: inputRequired.listRoots() } }))
  })
  t.equal((await call(core, 'empty')).error?.code, ErrorCode.InternalError, 'neither inputRequests nor requestState')
  t.equal((await call(core, 'unknown_kind')).error?.code, ErrorCode.InternalError, 'a kind the spec does not define')
  t.throws(() => inputRequired({}), TypeError, 'the builder refuses an empty result')

  const none = scopeOf({ inputMode: 'none' })
  const tool = await call(fixtures(), 'test_input_required_result_elicitation', {}, none)
  t.equal(tool.result.isError, true, 'no way to ask (2025 without a session): a tool error')
  t.match(tool.result.content[0].text, /cannot be asked for without a session/)
  t.equal((await send(core, 'prompts/get', { name: 'needs' }, none)).error?.code, ErrorCode.InternalError, 'a prompt: -32603')
})

t.test('helpers: the type guard and acceptedContent', async (t) => {
  t.ok(isInputRequired(inputRequired({ requestState: 1 })))
  t.notOk(isInputRequired({ content: [] }))
  t.notOk(isInputRequired(null))
  t.same(acceptedContent({ k: { action: 'accept', content: { a: 1 } } }, 'k'), { a: 1 })
  t.equal(acceptedContent({ k: { action: 'cancel' } }, 'k'), undefined)
  t.equal(acceptedContent({ k: { action: 'accept', content: [1] } }, 'k'), undefined)
  t.equal(acceptedContent(undefined, 'k'), undefined)
  t.equal(acceptedContent(Object.create({ k: { action: 'accept', content: {} } }), 'k'), undefined, 'own keys only')
  t.strictSame(inputRequired.elicit('m', Type.Object({ a: Type.String() })).params.requestedSchema, { type: 'object', properties: { a: { type: 'string' } }, required: ['a'] }, 'TypeBox schemas reach the wire as plain JSON')
  t.strictSame(inputRequired.elicitUrl('m', 'https://x.test'), { method: 'elicitation/create', params: { mode: 'url', message: 'm', url: 'https://x.test' } })
  t.strictSame(inputRequired.listRoots(), { method: 'roots/list', params: {} })
})
