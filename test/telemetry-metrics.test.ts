// Metrics through @opentelemetry/api, read with the SDK's in-memory exporter after a scripted
// session on both eras: the conventions' mcp.server.operation.duration and
// mcp.server.session.duration (seconds, the conventions' buckets and attributes), and the
// plugin's own: sessions started and ended by reason, live sessions, open streams, replays,
// refused requests, Redis command time. No session id or argument is ever an attribute value.
import t, { type Test } from 'tap'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { MemorySessionStore, type McpPluginOptions } from '../lib/index.js'
import { buildApp, callTool, openSession, openSessionHttp, parseSse, post, postHeaders, request, serve, streamHeaders, type Setup } from './helpers/index.js'
import { modernRpc, postModern } from './helpers/modern.js'
import { withRedis } from './helpers/redis-server.js'
import { recorder, total, type Recorder } from './helpers/telemetry.js'

const BUCKETS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300]

const tools: Setup = (app) => {
  app.mcp.tool({ name: 'echo', description: 'Echo', inputSchema: Type.Object({ text: Type.String() }) }, async ({ text }) => text)
}

function build (t: Test, rec: Recorder, options: McpPluginOptions = {}): Promise<FastifyInstance> {
  return buildApp(t, { options: { responseMode: 'sse', ...options, telemetry: { tracer: rec.tracer, meter: rec.meter } }, setup: tools })
}

/** initialize, two calls, an error, a replay, a refused request, DELETE; returns the session id. */
async function script (t: Test, app: FastifyInstance): Promise<string> {
  const session = await openSession(app)
  await post(app, callTool(2, 'echo', { text: 'one' }), session.headers)
  const answered = await post(app, callTool(3, 'echo', { text: 'two' }), session.headers)
  const error = await post(app, callTool(4, 'secret-argument-free-name', {}), session.headers)
  t.match(error.payload, /-32602/)
  const [first] = parseSse(answered.payload).filter((e) => e.id !== undefined)
  const replay = await app.inject({ method: 'GET', url: '/mcp', headers: { ...session.headers, accept: 'text/event-stream', 'last-event-id': first!.id! } })
  t.match(replay.payload, /two/, 'replayed')
  t.equal((await post(app, callTool(5, 'echo', { text: 'x' }), postHeaders({ 'mcp-session-id': 'no-such-session' }))).statusCode, 404)
  t.equal((await app.inject({ method: 'POST', url: '/mcp', headers: { ...session.headers, 'content-type': 'text/plain' }, payload: 'x' })).statusCode, 415)
  t.equal((await app.inject({ method: 'DELETE', url: '/mcp', headers: session.headers })).statusCode, 204)
  return session.id
}

/** No data point of any metric carries the session id. */
async function noSessionIds (t: Test, rec: Recorder, ...ids: string[]): Promise<void> {
  const names = ['mcp.server.operation.duration', 'mcp.server.session.duration', 'mcp.server.session.started', 'mcp.server.session.ended', 'mcp.server.request.refused', 'mcp.server.stream.replays']
  for (const name of names) {
    for (const point of await rec.points(name)) {
      const values = Object.values(point.attributes).map(String)
      t.notOk(values.some((v) => ids.includes(v) || v.includes('secret-argument')), `${name}: bounded attribute values only`)
    }
  }
}

t.test('a scripted session on both eras, in memory', async (t) => {
  const rec = recorder(t)
  const app = await build(t, rec)
  const first = await script(t, app)
  t.equal((await postModern(app, modernRpc(1, 'tools/call', { name: 'echo', arguments: { text: 'modern' } }))).statusCode, 200)
  const second = await openSession(app)
  t.equal(await (app.mcp.sessions as MemorySessionStore).sweep(Date.now() + 60 * 60_000), 1, 'the idle session expired')

  const operation = await rec.metric('mcp.server.operation.duration')
  t.equal(operation?.descriptor.unit, 's')
  const ops = operation!.dataPoints
  t.same((ops[0]!.value as any).buckets.boundaries, BUCKETS, 'the conventions\' bucket boundaries')
  const legacyEcho = { 'mcp.method.name': 'tools/call', 'gen_ai.tool.name': 'echo', 'gen_ai.operation.name': 'execute_tool', 'mcp.protocol.version': '2025-11-25', 'network.transport': 'tcp', 'network.protocol.name': 'http' }
  t.equal(total(ops, legacyEcho), 2, 'two echo calls on the session')
  t.equal(total(ops, { 'mcp.method.name': 'tools/call', 'mcp.protocol.version': '2026-07-28', 'gen_ai.tool.name': 'echo' }), 1, 'one modern call')
  t.equal(total(ops, { 'mcp.method.name': 'tools/call', 'error.type': '-32602', 'rpc.response.status_code': '-32602' }), 1, 'the error')
  t.notOk(ops.some((p) => p.attributes['error.type'] === '-32602' && 'gen_ai.tool.name' in p.attributes), 'an unknown tool name is not a metric attribute')
  t.equal(total(ops, { 'mcp.method.name': 'initialize' }), 2)
  t.equal(total(ops, { 'mcp.method.name': 'notifications/initialized' }), 2)
  t.ok(ops.every((p) => (p.value as any).sum >= 0 && (p.value as any).sum < 60), 'durations in seconds')

  t.equal(total(await rec.points('mcp.server.session.started'), { 'mcp.protocol.version': '2025-11-25' }), 2)
  const ended = await rec.points('mcp.server.session.ended')
  t.equal(total(ended, { 'mcp.session.end_reason': 'deleted' }), 1, 'DELETE')
  t.equal(total(ended, { 'mcp.session.end_reason': 'expired' }), 1, 'expiry')
  const sessions = await rec.metric('mcp.server.session.duration')
  t.equal(sessions?.descriptor.unit, 's')
  t.equal(total(sessions!.dataPoints, { 'mcp.protocol.version': '2025-11-25', 'network.transport': 'tcp' }), 2, 'both sessions\' durations')

  t.equal(total(await rec.points('mcp.server.stream.replays')), 1)
  t.equal(total(await rec.points('mcp.server.stream.replayed_events')), 1, 'the answer after the priming event')
  const refused = await rec.points('mcp.server.request.refused')
  t.equal(total(refused, { 'http.response.status_code': 404 }), 1)
  t.equal(total(refused, { 'http.response.status_code': 415 }), 1)
  t.equal(total(await rec.points('mcp.server.session.active')), 0, 'no live session left')
  t.ok(total(await rec.points('mcp.server.event_store.size')) >= 0, 'the memory event store reports its bytes')
  await noSessionIds(t, rec, first, second.id)
})

t.test('live sessions and open streams per kind are observed at collection', async (t) => {
  const rec = recorder(t)
  const { url } = await serve(t, { options: { telemetry: { tracer: rec.tracer, meter: rec.meter } }, setup: tools })
  const session = await openSessionHttp(url)
  const stream = await request(url, 'GET', streamHeaders(session))
  t.teardown(() => stream.destroy())
  await stream.until((r) => r.events.length >= 1)
  t.equal(total(await rec.points('mcp.server.session.active')), 1)
  const open = await rec.points('mcp.server.stream.open')
  t.equal(total(open, { 'mcp.stream.kind': 'get' }), 1, 'the GET stream')
  t.equal(total(open, { 'mcp.stream.kind': 'post' }), 0)
  t.equal(total(open, { 'mcp.stream.kind': 'modern' }), 0)
  t.equal(total(await rec.points('mcp.server.listen.subscriptions')), 0)
})

withRedis(t, 'with Redis: the same counts, an expiry found by the sweep, and Redis command time', async (t, server) => {
  const rec = recorder(t)
  const app = await build(t, rec, { redis: server.url, sessionTtlMs: 1000 })
  const first = await script(t, app)
  t.equal((await postModern(app, modernRpc(1, 'tools/call', { name: 'echo', arguments: { text: 'modern' } }))).statusCode, 200)
  const idle = await openSession(app)
  // The record lapses in Redis after the TTL; the store's sweep (every TTL) announces it.
  const deadline = Date.now() + 10_000
  while (total(await rec.points('mcp.server.session.ended'), { 'mcp.session.end_reason': 'expired' }) === 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  const ops = await rec.points('mcp.server.operation.duration')
  t.equal(total(ops, { 'mcp.method.name': 'tools/call', 'gen_ai.tool.name': 'echo', 'mcp.protocol.version': '2025-11-25' }), 2)
  t.equal(total(ops, { 'mcp.method.name': 'tools/call', 'mcp.protocol.version': '2026-07-28' }), 1)
  t.equal(total(ops, { 'error.type': '-32602' }), 1)
  t.equal(total(await rec.points('mcp.server.session.started')), 2)
  const ended = await rec.points('mcp.server.session.ended')
  t.equal(total(ended, { 'mcp.session.end_reason': 'deleted' }), 1)
  t.equal(total(ended, { 'mcp.session.end_reason': 'expired' }), 1, 'reported once, by the instance that found it')
  t.equal(total(await rec.points('mcp.server.session.duration')), 1, 'the deleted session\'s duration (an expired record is gone from Redis)')
  t.equal(total(await rec.points('mcp.server.stream.replays')), 1)
  t.equal(total(await rec.points('mcp.server.request.refused'), { 'http.response.status_code': 404 }), 1)
  const redis = await rec.metric('mcp.server.redis.command.duration')
  t.equal(redis?.descriptor.unit, 's')
  const commands = new Set(redis!.dataPoints.map((p) => p.attributes['db.operation.name']))
  t.ok(commands.size >= 3, `several commands timed: ${[...commands].join(', ')}`)
  t.ok(redis!.dataPoints.every((p) => typeof p.attributes['db.operation.name'] === 'string' && p.attributes['db.operation.name'] !== ''), 'by command name')
  await noSessionIds(t, rec, first, idle.id)
})

t.test('app.mcp.onSession hears sessions start and end with the reason; a throwing observer is skipped', async (t) => {
  const rec = recorder(t)
  const app = await build(t, rec)
  const seen: string[] = []
  app.mcp.onSession({ started: () => { throw new Error('observer bug') } })
  const stop = app.mcp.onSession({
    started: (session) => seen.push(`started ${session.protocolVersion}`),
    ended: (id, reason, session) => seen.push(`ended ${reason} ${session?.id === id}`)
  })
  const deleted = await openSession(app)
  await app.inject({ method: 'DELETE', url: '/mcp', headers: deleted.headers })
  await openSession(app)
  await (app.mcp.sessions as MemorySessionStore).sweep(Date.now() + 60 * 60_000)
  t.same(seen, ['started 2025-11-25', 'ended deleted true', 'started 2025-11-25', 'ended expired true'])
  stop()
  await openSession(app)
  t.equal(seen.length, 4, 'stopped')
  t.equal(total(await rec.points('mcp.server.session.started')), 3, 'the metrics observer is unaffected')
})
