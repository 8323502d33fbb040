// One API for list changes and resource updates in both eras: `client.listen()` opens a
// 2026-07-28 `subscriptions/listen` stream, or on a 2025 session hears the GET stream (and
// subscribes to resources). A change made through another client's request arrives;
// close() ends the stream; the buffer for a slow reader is bounded.
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { connect, forgetVerdicts, type McpClient } from '../lib/client/index.js'
import type { RpcMessage } from '../lib/client/types.js'
import { serve } from './helpers/index.js'

t.beforeEach(() => forgetVerdicts())

const NO_ARGS = Type.Object({})

/** The demo, a resource, and tools that change the tool list or touch the resource when called. */
async function demo (t: Test): Promise<{ app: FastifyInstance, url: URL }> {
  let n = 0
  return serve(t, {
    demo: true,
    setup: (app) => {
      app.mcp.resource({ uri: 'docs://readme', name: 'readme' }, async () => '# hello')
      app.mcp.tool({ name: 'grow', description: 'Add a tool', inputSchema: NO_ARGS }, async () => {
        app.mcp.tool({ name: `extra-${++n}`, description: 'added', inputSchema: NO_ARGS }, () => 'ok')
        return 'grown'
      })
      app.mcp.tool({ name: 'touch', description: 'Update the readme', inputSchema: NO_ARGS }, async () => {
        await app.mcp.notifyResourceUpdated('docs://readme')
        return 'touched'
      })
    }
  })
}

async function open (t: Test, url: URL, mode: 'legacy' | 'auto'): Promise<McpClient> {
  const client = await connect(url, { mode, openStream: false })
  t.teardown(() => client.close())
  return client
}

async function first (iterator: AsyncIterator<RpcMessage>, ms = 5000): Promise<RpcMessage> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`nothing within ${ms} ms`)), ms) })
  try {
    const next = await Promise.race([iterator.next(), late])
    if (next.done === true) throw new Error('the subscription ended')
    return next.value
  } finally {
    clearTimeout(timer)
  }
}

for (const mode of ['legacy', 'auto'] as const) {
  const era = mode === 'legacy' ? '2025 session' : '2026-07-28'
  t.test(`${era}: a change made by another client's request arrives; close() ends the subscription`, async (t) => {
    const { app, url } = await demo(t)
    const listener = await open(t, url, mode)
    const other = await open(t, url, mode)
    t.equal(listener.era, mode === 'legacy' ? 'legacy' : 'modern')
    const heard: RpcMessage[] = []
    const subscription = await listener.listen({ toolsListChanged: true, resourceSubscriptions: ['docs://readme'] }, { onNotification: (n) => heard.push(n) })
    t.same(subscription.notifications, { toolsListChanged: true, resourceSubscriptions: ['docs://readme'] }, 'what the server agreed to send')
    if (mode === 'auto') t.equal((await app.mcp.stats()).subscriptions, 1, 'a listen stream is open')
    const iterator = subscription[Symbol.asyncIterator]()

    t.equal((await other.callTool('grow')).content[0].text, 'grown')
    t.match(await first(iterator), { method: 'notifications/tools/list_changed' })
    t.equal((await other.callTool('touch')).content[0].text, 'touched')
    t.match(await first(iterator), { method: 'notifications/resources/updated', params: { uri: 'docs://readme' } })
    t.same(heard.map((m) => m.method), ['notifications/tools/list_changed', 'notifications/resources/updated'], 'onNotification saw each once')

    await subscription.close()
    t.equal(await subscription.ended, 'closed')
    t.same(await iterator.next(), { done: true, value: undefined }, 'the iterator ends')
    if (mode === 'auto') {
      for (let i = 0; i < 200 && (await app.mcp.stats()).subscriptions > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
      t.equal((await app.mcp.stats()).subscriptions, 0, 'the server saw the stream close')
    } else {
      t.equal(await app.mcp.notifyResourceUpdated('docs://readme'), 0, 'the session unsubscribed from the resource')
    }
    await other.callTool('grow')
    // A fresh subscription hears the next change; the closed one heard nothing more.
    const again = await listener.listen({ toolsListChanged: true })
    await other.callTool('grow')
    t.match(await first(again[Symbol.asyncIterator]()), { method: 'notifications/tools/list_changed' })
    t.equal(heard.length, 2, 'nothing more reached the closed subscription')
    await again.close()
  })

  t.test(`${era}: only what the server advertises is honoured; an aborted signal closes`, async (t) => {
    const { url } = await serve(t, { demo: true })
    const client = await open(t, url, mode)
    const controller = new AbortController()
    const subscription = await client.listen({ toolsListChanged: true, promptsListChanged: true, resourceSubscriptions: ['docs://none'] }, { signal: controller.signal })
    t.same(subscription.notifications, { toolsListChanged: true }, 'no prompts or resources here: not honoured')
    controller.abort()
    t.equal(await subscription.ended, 'closed')
    const last = await client.listen({ toolsListChanged: true })
    await client.close()
    t.equal(await last.ended, 'closed', 'closing the client closes its subscriptions')
  })

  t.test(`${era}: a slow reader holds a bounded buffer; repeats of an unread change are one`, async (t) => {
    const { url } = await demo(t)
    const client = await open(t, url, mode)
    const other = await open(t, url, mode)
    const heard: RpcMessage[] = []
    const subscription = await client.listen({ toolsListChanged: true, resourceSubscriptions: ['docs://readme'] }, { maxBuffered: 1, onNotification: (n) => heard.push(n) })
    await other.callTool('grow')
    await other.callTool('touch')
    await other.callTool('grow')
    await other.callTool('touch')
    for (let i = 0; i < 300 && heard.length < 4; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    t.equal(heard.length, 4, 'every notification reached onNotification')
    t.equal(subscription.dropped, 3, 'beyond one unread, the oldest were dropped')
    await subscription.close()
    const left: RpcMessage[] = []
    for await (const n of subscription) left.push(n)
    t.match(left, [{ method: 'notifications/resources/updated' }], 'only the newest was kept')
  })
}

t.test('2026-07-28: the server ends the stream with its completion result', async (t) => {
  const { app, url } = await serve(t, { demo: true })
  const client = await open(t, url, 'auto')
  const subscription = await client.listen({ toolsListChanged: true })
  app.mcp.tool({ name: 'late', description: 'added', inputSchema: NO_ARGS }, () => 'ok')
  await first(subscription[Symbol.asyncIterator]())
  await app.close()
  t.equal(await subscription.ended, 'completed')
})

t.test('2025 session: after a session reset the resource subscription is renewed on the new session', async (t) => {
  const { app, url } = await demo(t)
  const client = await open(t, url, 'legacy')
  const subscription = await client.listen({ resourceSubscriptions: ['docs://readme'] })
  const before = client.sessionId!
  // The server forgets the session (as a restart or an expiry would): the next call meets a 404.
  const gone = await fetch(url, { method: 'DELETE', headers: { 'mcp-session-id': before, 'mcp-protocol-version': client.protocolVersion } })
  t.equal(gone.status, 204)
  t.equal((await client.callTool('echo', { text: 'x' })).content[0].text, 'x')
  t.not(client.sessionId, before, 'a new session')
  let told = 0
  for (let i = 0; i < 300 && told === 0; i++) {
    told = await app.mcp.notifyResourceUpdated('docs://readme')
    if (told === 0) await new Promise((resolve) => setTimeout(resolve, 10))
  }
  t.equal(told, 1, 'the new session is subscribed')
  t.match(await first(subscription[Symbol.asyncIterator]()), { method: 'notifications/resources/updated', params: { uri: 'docs://readme' } }, 'and its GET stream delivers')
  await subscription.close()
})

t.test('2026-07-28: a listen the server refuses (its subscription limit) rejects with the JSON-RPC error', async (t) => {
  const { url } = await serve(t, { demo: true, options: { maxSubscriptions: 1 } })
  const client = await open(t, url, 'auto')
  const held = await client.listen({ toolsListChanged: true })
  await t.rejects(client.listen({ toolsListChanged: true }), { code: 'FST_MCP_RPC_ERROR', rpcCode: -32603, message: /Subscription limit reached/ })
  t.equal(held.done, false, 'the first subscription is untouched')
  await held.close()
})
