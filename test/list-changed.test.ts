// Every feature announces its list changes the same way: changes made in one tick (a loop of
// registrations) are announced once, a removal of nothing announces nothing, and only sessions
// that were told the list can change (their initialize result said listChanged) hear of it.
import Fastify, { type FastifyInstance } from 'fastify'
import { Type } from '@sinclair/typebox'
import t from 'tap'
import mcp from '../lib/index.js'
import { listen, openSessionHttp, request, streamHeaders, type StreamReader } from './helpers/index.js'

const NO_ARGS = Type.Object({})

interface Kind {
  readonly name: 'tools' | 'prompts' | 'resources'
  add (app: FastifyInstance, n: string): void
  remove (app: FastifyInstance, n: string): boolean
}

const KINDS: Kind[] = [
  {
    name: 'tools',
    add: (app, n) => app.mcp.tool({ name: n, description: 'd', inputSchema: NO_ARGS }, () => 'ok'),
    remove: (app, n) => app.mcp.removeTool(n)
  },
  {
    name: 'prompts',
    add: (app, n) => app.mcp.prompt({ name: n, description: 'd' }, () => 'hello'),
    remove: (app, n) => app.mcp.removePrompt(n)
  },
  {
    name: 'resources',
    add: (app, n) => app.mcp.resource({ uri: `test://${n}`, name: n }, () => 'text'),
    remove: (app, n) => app.mcp.removeResource(`test://${n}`)
  }
]

const methodsOf = (reader: StreamReader, method: string): unknown[] => reader.messages().filter((m) => m.method === method)

for (const kind of KINDS) {
  t.test(`${kind.name}: changes in one tick are announced once, each later change again, a failed removal not at all`, async (t) => {
    const method = `notifications/${kind.name}/list_changed`
    // One of each kind before the session starts: its initialize result says every list can change.
    const app = Fastify()
    t.teardown(() => app.close())
    await app.register(mcp)
    for (const each of KINDS) each.add(app, 'seed')
    const url = await listen(app)
    const session = await openSessionHttp(url)
    const stream = await request(url, 'GET', streamHeaders(session))
    t.teardown(() => stream.destroy())
    t.equal(stream.status, 200)

    kind.add(app, 'a')
    kind.add(app, 'b')
    t.equal(kind.remove(app, 'seed'), true)
    await stream.until((r) => methodsOf(r, method).length >= 1, 3000)
    t.equal(kind.remove(app, 'a'), true)
    await stream.until((r) => methodsOf(r, method).length >= 2, 3000)
    t.equal(kind.remove(app, 'a'), false, 'already gone')
    // A change of another list marks the end: anything queued before it has arrived.
    const marker = KINDS.find((other) => other !== kind)!
    marker.add(app, 'marker')
    await stream.until((r) => methodsOf(r, `notifications/${marker.name}/list_changed`).length >= 1, 3000)
    t.strictSame(methodsOf(stream, method), [{ jsonrpc: '2.0', method }, { jsonrpc: '2.0', method }], 'three changes in one tick: one; one later; none for the failed removal')
  })
}
