// Requests in flight on a session: duplicate ids, the per-session bound, cancellation of
// unknown ids, and Accept media ranges.
import t from 'tap'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { buildApp, deferred, notification, openSession, post, postHeaders, rpc, type Deferred } from './helpers/index.js'

/** A tool that waits until the test releases it. */
function addGate (app: FastifyInstance): { gates: Array<Deferred<void>>, started: Deferred<void>[] } {
  const gates: Array<Deferred<void>> = []
  const started: Deferred<void>[] = []
  app.mcp.tool({ name: 'gate', description: 'waits for the test', inputSchema: Type.Object({ n: Type.Integer() }) }, async ({ n }) => {
    started[n]!.resolve()
    await gates[n]!.promise
    return `released ${n}`
  })
  for (let n = 0; n < 10; n++) { gates.push(deferred()); started.push(deferred()) }
  return { gates, started }
}

const call = (id: number | string, n: number) => rpc(id, 'tools/call', { name: 'gate', arguments: { n } })

t.test('a request id already in flight on the session is refused with -32600; the first still answers', async (t) => {
  const app = await buildApp(t, { demo: true })
  const { gates, started } = addGate(app)
  const session = await openSession(app)
  const first = post(app, call(7, 0), session.headers)
  await started[0]!.promise
  const second = await post(app, call(7, 1), session.headers)
  t.equal(second.statusCode, 200)
  t.same(second.json(), { jsonrpc: '2.0', id: 7, error: { code: -32600, message: 'Invalid Request: this id is already used by a request in flight' } })
  // The same id on another session is no conflict.
  const other = await openSession(app)
  const elsewhere = post(app, call(7, 2), other.headers)
  await started[2]!.promise
  gates[0]!.resolve()
  gates[2]!.resolve()
  t.same((await first).json().result.content, [{ type: 'text', text: 'released 0' }])
  t.same((await elsewhere).json().result.content, [{ type: 'text', text: 'released 2' }])
  // Once answered, the id may be used again.
  gates[3]!.resolve()
  const again = await post(app, call(7, 3), session.headers)
  t.same(again.json().result.content, [{ type: 'text', text: 'released 3' }])
})

t.test('maxInFlightRequests bounds concurrent requests per session', async (t) => {
  const app = await buildApp(t, { demo: true, options: { maxInFlightRequests: 2 } })
  const { gates, started } = addGate(app)
  const session = await openSession(app)
  const a = post(app, call(1, 0), session.headers)
  const b = post(app, call(2, 1), session.headers)
  await Promise.all([started[0]!.promise, started[1]!.promise])
  const refused = await post(app, call(3, 2), session.headers)
  t.equal(refused.statusCode, 200)
  t.same(refused.json(), { jsonrpc: '2.0', id: 3, error: { code: -32000, message: 'Too many requests in flight on this session' } })
  // Quick methods are not counted: ping still answers.
  t.same((await post(app, rpc(4, 'ping'), session.headers)).json(), { jsonrpc: '2.0', id: 4, result: {} })
  // Another session has its own budget.
  const other = await openSession(app)
  gates[5]!.resolve()
  t.same((await post(app, call(1, 5), other.headers)).json().result.content, [{ type: 'text', text: 'released 5' }])
  gates[0]!.resolve()
  gates[1]!.resolve()
  await Promise.all([a, b])
  gates[6]!.resolve()
  t.same((await post(app, call(5, 6), session.headers)).json().result.content, [{ type: 'text', text: 'released 6' }], 'a freed place is usable again')
})

t.test('cancelling an unknown or finished request is ignored', async (t) => {
  const app = await buildApp(t, { demo: true })
  const session = await openSession(app)
  const res = await post(app, notification('notifications/cancelled', { requestId: 'nope', reason: 'x' }), session.headers)
  t.equal(res.statusCode, 202)
  t.equal(res.payload, '')
  const malformed = await post(app, notification('notifications/cancelled', { requestId: null }), session.headers)
  t.equal(malformed.statusCode, 202, 'an invalid cancellation is ignored, as the spec asks')
  t.same((await post(app, rpc(1, 'ping'), session.headers)).json(), { jsonrpc: '2.0', id: 1, result: {} })
})

t.test('Accept media ranges: */* and type/* count, a missing type does not', async (t) => {
  const app = await buildApp(t, { demo: true })
  const session = await openSession(app)
  const cases: Array<[string, number]> = [
    ['*/*', 200],
    ['application/*, text/*', 200],
    ['application/json, text/*;q=0.5', 200],
    ['APPLICATION/JSON, TEXT/EVENT-STREAM', 200],
    ['application/json', 406],
    ['text/event-stream', 406],
    ['text/html', 406]
  ]
  for (const [accept, status] of cases) {
    const res = await post(app, rpc(1, 'ping'), { ...session.headers, accept })
    t.equal(res.statusCode, status, `Accept: ${accept}`)
  }
  const none = await app.inject({ method: 'POST', url: '/mcp', headers: postHeaders({ accept: undefined, 'mcp-session-id': session.id }), payload: rpc(1, 'ping') })
  t.equal(none.statusCode, 406, 'no Accept header')
  const get = await app.inject({ method: 'GET', url: '/mcp', headers: { accept: 'application/json', 'mcp-session-id': session.id } })
  t.equal(get.statusCode, 406, 'GET needs text/event-stream')
})
