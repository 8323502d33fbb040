// The session log: one info line when a session starts and one when it ends (reason,
// duration, hashed principal, protocol version), the session's request logs bound to the
// abbreviated id, and at info level never a full session id, a token or a principal in clear.
import { createHash } from 'node:crypto'
import { Type } from '@sinclair/typebox'
import Fastify, { type FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import mcp, { type McpPluginOptions } from '../lib/index.js'
import { callTool, initializeParams, logCapture, notification, post, postHeaders, rpc } from './helpers/index.js'
import { TestIssuer } from './helpers/jwt.js'
import { withRedis } from './helpers/redis-server.js'

const RESOURCE = 'http://localhost/mcp'
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const short = (id: string) => id.slice(0, 8) + '…'
const hash = (principal: string) => createHash('sha256').update(principal).digest('hex').slice(0, 12)

let issuer: TestIssuer
t.before(async () => { issuer = await TestIssuer.start() })
t.teardown(() => issuer.close())

async function build (t: Test, options: McpPluginOptions): Promise<{ app: FastifyInstance, records: any[], lines: string[] }> {
  const { stream, records, lines } = logCapture()
  const app = Fastify({ logger: { level: 'info', stream } })
  t.teardown(() => app.close())
  await app.register(mcp, { auth: { jwt: { issuer: issuer.issuer, jwksUri: issuer.jwksUri }, resource: RESOURCE }, ...options })
  app.mcp.tool({ name: 'whoami', description: 'the principal', inputSchema: Type.Object({}) }, async (_args, ctx) => {
    ctx.logger.info({ marker: 'in-tool' }, 'a log line of the handler')
    return ctx.auth?.principal ?? ''
  })
  await app.ready()
  return { app, records, lines }
}

async function open (app: FastifyInstance, token: string): Promise<{ id: string, headers: Record<string, string> }> {
  const init = await post(app, rpc(0, 'initialize', initializeParams()), postHeaders({ authorization: `Bearer ${token}` }))
  const id = String(init.headers['mcp-session-id'])
  const headers = postHeaders({ authorization: `Bearer ${token}`, 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' })
  const ack = await post(app, notification('notifications/initialized'), headers)
  if (init.statusCode !== 200 || ack.statusCode !== 202) throw new Error(`session not opened: ${init.statusCode}, ${ack.statusCode}`)
  return { id, headers }
}

async function until (what: string, done: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}

t.test('a full session: started, request logs bound to it, ended by DELETE or by expiry', async (t) => {
  const { app, records, lines } = await build(t, { sessionTtlMs: 400 })
  const token = await issuer.sign({ aud: RESOURCE })

  const a = await open(app, token)
  const call = await post(app, callTool(1, 'whoami', {}), a.headers)
  const principal = call.json().result.content[0].text as string
  t.match(principal, /alice/, 'the principal, as handlers see it')
  t.equal((await app.inject({ method: 'DELETE', url: '/mcp', headers: a.headers })).statusCode, 204)

  const b = await open(app, token)
  await until('the expiry of b', () => records.some((r) => r.msg === 'mcp: session ended' && r.mcpSession === short(b.id)))

  const started = records.filter((r) => r.msg === 'mcp: session started')
  t.equal(started.length, 2, 'one start line per session')
  for (const [line, session] of [[started[0], a], [started[1], b]] as const) {
    t.match(line, {
      level: 30,
      mcpSession: short(session.id),
      protocolVersion: '2025-11-25',
      principal: hash(principal),
      client: 'test-client/1.0.0'
    }, 'start: abbreviated id, version, hashed principal, client')
  }
  const ended = records.filter((r) => r.msg === 'mcp: session ended')
  t.equal(ended.length, 2, 'one end line per session')
  t.match(ended[0], { level: 30, mcpSession: short(a.id), reason: 'deleted', protocolVersion: '2025-11-25', principal: hash(principal), durationMs: Number })
  t.match(ended[1], { level: 30, mcpSession: short(b.id), reason: 'expired', protocolVersion: '2025-11-25', principal: hash(principal) })
  t.ok(ended[1].durationMs >= 400, `the expired session lived at least its TTL (${ended[1].durationMs} ms)`)

  const inTool = records.find((r) => r.marker === 'in-tool')
  t.equal(inTool?.mcpSession, short(a.id), 'a handler\'s log line carries the abbreviated session id')
  t.ok(inTool?.reqId, 'and the request id')

  t.ok(lines.length > 10, `the request logs were captured too (${lines.length} lines)`)
  for (const secret of [a.id, b.id, token, principal]) {
    t.notOk(lines.some((line) => line.includes(secret)), `never in the log: ${secret.slice(0, 12)}…`)
  }
})

t.test('a handler\'s log line in a batch (2025-03-26) carries the session once, like any other', async (t) => {
  const { app, lines } = await build(t, {})
  const token = await issuer.sign({ aud: RESOURCE })
  const init = await post(app, rpc(0, 'initialize', initializeParams('2025-03-26')), postHeaders({ authorization: `Bearer ${token}` }))
  const id = String(init.headers['mcp-session-id'])
  const headers = postHeaders({ authorization: `Bearer ${token}`, 'mcp-session-id': id, 'mcp-protocol-version': '2025-03-26' })
  t.equal((await post(app, notification('notifications/initialized'), headers)).statusCode, 202)
  const batch = await post(app, [callTool(1, 'whoami', {}), callTool(2, 'whoami', {})], headers)
  t.equal(batch.statusCode, 200)
  const inTool = lines.filter((line) => line.includes('"marker":"in-tool"'))
  t.equal(inTool.length, 2, 'one line per request of the batch')
  for (const line of inTool) t.equal(line.split('"mcpSession"').length - 1, 1, `mcpSession once: ${line.slice(0, 160)}`)
})

t.test('memory sessions left at shutdown: one line', async (t) => {
  const { app, records } = await build(t, {})
  const token = await issuer.sign({ aud: RESOURCE })
  await open(app, token)
  await open(app, token)
  await app.close()
  t.match(records.filter((r) => r.msg === 'mcp: sessions ended'), [{ level: 30, reason: 'shutdown', sessions: 2 }])
})

withRedis(t, 'with Redis, an expiry is logged once across instances', async (t, server) => {
  const options: McpPluginOptions = { redis: server.url, redisPrefix: 'logs:', sessionTtlMs: 500 }
  const one = await build(t, options)
  const two = await build(t, options)
  const token = await issuer.sign({ aud: RESOURCE })
  const session = await open(one.app, token)
  t.equal((await post(two.app, rpc(1, 'ping'), session.headers)).statusCode, 200, 'served by either')
  const endsOf = (records: any[]) => records.filter((r) => r.msg === 'mcp: session ended' && r.mcpSession === short(session.id))
  await until('the expiry', () => endsOf(one.records).length + endsOf(two.records).length > 0)
  // Both instances sweep every 500 ms: wait two more rounds for a duplicate that must not come.
  await sleep(1200)
  const ends = [...endsOf(one.records), ...endsOf(two.records)]
  t.equal(ends.length, 1, 'one end line for the deployment')
  t.match(ends[0], { reason: 'expired', mcpSession: short(session.id) })
  t.equal(one.records.filter((r) => r.msg === 'mcp: session started').length + two.records.filter((r) => r.msg === 'mcp: session started').length, 1, 'one start line')
  t.notOk([...one.lines, ...two.lines].some((line) => line.includes(session.id) || line.includes(token)), 'no full id, no token')
})
