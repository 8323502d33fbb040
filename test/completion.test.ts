import type { FastifyInstance } from 'fastify'
import { Type } from '@sinclair/typebox'
import t from 'tap'
import { McpError } from '../lib/index.js'
import { buildApp, openSession, post, postHeaders, rpc, type Session } from './helpers/index.js'

async function complete (app: FastifyInstance, session: Session, params: Record<string, unknown>, id: string | number = 1) {
  return (await post(app, rpc(id, 'completion/complete', params), session.headers)).json()
}

const promptRef = (name: unknown) => ({ type: 'ref/prompt', name })

async function capabilities (app: FastifyInstance): Promise<Record<string, unknown>> {
  const res = await post(app, rpc(0, 'initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'c', version: '1' } }), postHeaders())
  return res.json().result.capabilities
}

const ARGS = Type.Object({ arg1: Type.String(), arg2: Type.String(), plain: Type.Optional(Type.String()) })
const LANGUAGES = ['go', 'javascript', 'java', 'python', 'typescript']

t.test('without any completion callback: -32601 and no completions capability', async (t) => {
  t.test('no prompts at all', async (t) => {
    const app = await buildApp(t)
    t.notOk('completions' in await capabilities(app))
    const session = await openSession(app)
    const body = await complete(app, session, { ref: promptRef('p'), argument: { name: 'a', value: '' } }, 'c1')
    t.equal(body.id, 'c1')
    t.equal(body.error?.code, -32601)
    t.notOk(body.result)
  })

  t.test('prompts without complete callbacks', async (t) => {
    const app = await buildApp(t, {
      setup: (app) => {
        app.mcp.prompt({ name: 'p', description: 'd', arguments: ARGS }, () => 'x')
        app.mcp.prompt({ name: 'q', description: 'd', arguments: ARGS, complete: {} }, () => 'x')
      }
    })
    t.strictSame(await capabilities(app), { logging: {}, prompts: { listChanged: true } })
    const session = await openSession(app)
    t.equal((await complete(app, session, { ref: promptRef('p'), argument: { name: 'arg1', value: '' } })).error?.code, -32601)
  })
})

t.test('the completions capability follows prompts with callbacks', async (t) => {
  const app = await buildApp(t, {
    setup: (app) => {
      app.mcp.prompt({ name: 'plain', description: 'd', arguments: ARGS }, () => 'x')
    }
  })
  const session = await openSession(app)
  const ask = () => complete(app, session, { ref: promptRef('lang'), argument: { name: 'arg1', value: 'j' } })
  t.equal((await ask()).error?.code, -32601)
  app.mcp.prompt({ name: 'lang', description: 'd', arguments: ARGS, complete: { arg1: (value) => LANGUAGES.filter((l) => l.startsWith(value)) } }, () => 'x')
  t.strictSame(await capabilities(app), { logging: {}, completions: {}, prompts: { listChanged: true } })
  t.strictSame((await ask()).result, { completion: { values: ['javascript', 'java'] } })
  app.mcp.removePrompt('lang')
  t.strictSame(await capabilities(app), { logging: {}, prompts: { listChanged: true } }, 'gone with the last callback')
  t.equal((await ask()).error?.code, -32601)
})

t.test('completion/complete on prompts', async (t) => {
  const received: unknown[] = []
  const app = await buildApp(t, {
    setup: (app) => {
      app.mcp.prompt({
        name: 'p',
        description: 'd',
        arguments: ARGS,
        complete: {
          arg1: (value, context, ctx) => {
            received.push({ value, context, sessionId: ctx.sessionId })
            return LANGUAGES.filter((l) => l.startsWith(value))
          },
          arg2: async (value, { arguments: filled }) => ({ values: [`${filled.arg1 ?? '?'}:${value}`], total: 7, hasMore: true })
        }
      }, () => 'x')
      app.mcp.prompt({
        name: 'many',
        description: 'd',
        arguments: Type.Object({ n: Type.String(), exact: Type.String(), counted: Type.String() }),
        complete: {
          n: () => Array.from({ length: 150 }, (_, i) => `v${i}`),
          exact: () => Array.from({ length: 100 }, (_, i) => `e${i}`),
          counted: () => ({ values: Array.from({ length: 250 }, (_, i) => `c${i}`), total: 1000, hasMore: false })
        }
      }, () => 'x')
      app.mcp.prompt({
        name: 'broken',
        description: 'd',
        arguments: Type.Object({ throws: Type.String(), mcp: Type.String(), nonstring: Type.String(), novalues: Type.String(), badtotal: Type.String(), nullish: Type.String() }),
        complete: {
          throws: () => { throw new Error('completion backend down') },
          mcp: async () => { throw new McpError(-32602, 'Not allowed to complete this', { why: 'policy' }) },
          nonstring: () => ['ok', 3] as never,
          novalues: () => ({ total: 3 }) as never,
          badtotal: () => ({ values: [], total: -1 }),
          nullish: () => null as never
        }
      }, () => 'x')
    }
  })
  const session = await openSession(app, '2025-06-18')

  t.test('values from the callback, with context.arguments and the handler context', async (t) => {
    received.length = 0
    const body = await complete(app, session, { ref: promptRef('p'), argument: { name: 'arg1', value: 'ja' }, context: { arguments: { arg2: 'x', plain: 'y' } } }, 'k1')
    t.strictSame(body, { jsonrpc: '2.0', id: 'k1', result: { completion: { values: ['javascript', 'java'] } } })
    const none = await complete(app, session, { ref: promptRef('p'), argument: { name: 'arg1', value: 'zz' } })
    t.strictSame(none.result, { completion: { values: [] } }, 'no match: an empty list')
    t.strictSame(received, [
      { value: 'ja', context: { arguments: { arg2: 'x', plain: 'y' } }, sessionId: session.id },
      { value: 'zz', context: { arguments: {} }, sessionId: session.id }
    ], 'context.arguments is passed, and is {} when the client sent no context')
  })

  t.test('an async callback returning a full CompletionResult', async (t) => {
    const body = await complete(app, session, { ref: promptRef('p'), argument: { name: 'arg2', value: 'v' }, context: { arguments: { arg1: 'go' } } })
    t.strictSame(body.result, { completion: { values: ['go:v'], total: 7, hasMore: true } })
  })

  t.test('an argument without a callback → empty values', async (t) => {
    t.strictSame((await complete(app, session, { ref: promptRef('p'), argument: { name: 'plain', value: 'x' } })).result, { completion: { values: [] } })
  })

  t.test('at most 100 values, with hasMore and total', async (t) => {
    const capped = (await complete(app, session, { ref: promptRef('many'), argument: { name: 'n', value: '' } })).result.completion
    t.equal(capped.values.length, 100)
    t.strictSame(capped.values.slice(0, 2), ['v0', 'v1'], 'the first ones, in order')
    t.equal(capped.values[99], 'v99')
    t.equal(capped.total, 150)
    t.equal(capped.hasMore, true)
    const exact = (await complete(app, session, { ref: promptRef('many'), argument: { name: 'exact', value: '' } })).result.completion
    t.equal(exact.values.length, 100)
    t.notOk('hasMore' in exact, 'exactly 100: nothing is cut')
    t.notOk('total' in exact)
    const counted = (await complete(app, session, { ref: promptRef('many'), argument: { name: 'counted', value: '' } })).result.completion
    t.equal(counted.values.length, 100)
    t.equal(counted.total, 1000, 'a larger total given by the callback is kept')
    t.equal(counted.hasMore, true, 'hasMore is forced when values were cut')
  })

  t.test('unknown prompts, arguments and ref types → -32602', async (t) => {
    const cases: Array<[string, Record<string, unknown>]> = [
      ['an unknown prompt', { ref: promptRef('nope'), argument: { name: 'arg1', value: '' } }],
      ['a ref/prompt without a name', { ref: { type: 'ref/prompt' }, argument: { name: 'arg1', value: '' } }],
      ['a non-string prompt name', { ref: promptRef(5), argument: { name: 'arg1', value: '' } }],
      ['an unknown argument', { ref: promptRef('p'), argument: { name: 'arg9', value: '' } }],
      ['an unknown ref type', { ref: { type: 'ref/unknown', name: 'p' }, argument: { name: 'arg1', value: '' } }],
      ['no ref', { argument: { name: 'arg1', value: '' } }],
      ['no argument', { ref: promptRef('p') }],
      ['a non-string value', { ref: promptRef('p'), argument: { name: 'arg1', value: 1 } }],
      ['non-string context arguments', { ref: promptRef('p'), argument: { name: 'arg1', value: '' }, context: { arguments: { arg2: 2 } } }]
    ]
    for (const [label, params] of cases) {
      const body = await complete(app, session, params, label)
      t.equal(body.id, label)
      t.equal(body.error?.code, -32602, label)
      t.notOk(body.result)
    }
    const argument = await complete(app, session, { ref: promptRef('p'), argument: { name: 'arg9', value: '' } })
    t.match(argument.error.message, /no argument "arg9"/)
  })

  t.test('failing or malformed callbacks', async (t) => {
    const ask = (name: string) => complete(app, session, { ref: promptRef('broken'), argument: { name, value: '' } }, name)
    t.equal((await ask('throws')).error?.code, -32603, 'a throwing callback → -32603')
    t.notMatch((await ask('throws')).error?.message, /backend down/, 'its message is not sent')
    t.strictSame((await ask('mcp')).error, { code: -32602, message: 'Not allowed to complete this', data: { why: 'policy' } }, 'a thrown McpError is sent as is')
    for (const name of ['nonstring', 'novalues', 'badtotal', 'nullish']) {
      const body = await ask(name)
      t.equal(body.error?.code, -32603, `${name} → -32603`)
      t.match(body.error?.message, /invalid completion result/)
    }
  })
})
