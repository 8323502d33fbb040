import { setTimeout as sleep } from 'node:timers/promises'
import Fastify from 'fastify'
import { Type } from '@sinclair/typebox'
import t, { type Test } from 'tap'
import mcp, { MemorySessionStore, type SessionRecord } from '../lib/index.js'
import {
  buildApp, listen, notification, openSession, openSessionHttp, post, postHeaders, request, rpc, initializeParams,
  serve, streamHeaders, type Session
} from './helpers/index.js'

/** Counts the calls the plugin makes on its store. */
class CountingStore extends MemorySessionStore {
  touches = 0
  closes = 0
  override async touch (id: string, now: number): Promise<boolean> {
    this.touches++
    return super.touch(id, now)
  }

  listeners = 0
  override onExpired (listener: (id: string) => void): () => void {
    this.listeners++
    const unsubscribe = super.onExpired(listener)
    let done = false
    return () => {
      if (!done) { done = true; this.listeners-- }
      unsubscribe()
    }
  }

  override async close (): Promise<void> {
    this.closes++
    return super.close()
  }
}

function ping (app: Parameters<typeof post>[0], session: Session, id: number | string = 1) {
  return post(app, rpc(id, 'ping'), session.headers)
}

function initialize (app: Parameters<typeof post>[0]) {
  return post(app, rpc(0, 'initialize', initializeParams()), postHeaders())
}

function healthUrl (mcpUrl: URL, path = '/health'): URL {
  return new URL(path, mcpUrl)
}

t.test('idle TTL', async (t) => {
  t.test('a session unused for longer than sessionTtlMs answers 404 on POST, GET and DELETE', async (t) => {
    const app = await buildApp(t, { demo: true, options: { sessionTtlMs: 100 } })
    const s1 = await openSession(app)
    t.equal((await ping(app, s1)).statusCode, 200, 'alive at first')
    const s2 = await openSession(app)
    const s3 = await openSession(app)
    await sleep(350)

    const res = await ping(app, s1)
    t.equal(res.statusCode, 404, 'POST on an expired session')
    t.same(res.json(), { jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Session not found' } })

    const get = await app.inject({ method: 'GET', url: '/mcp', headers: streamHeaders(s2) })
    t.equal(get.statusCode, 404, 'GET on an expired session')
    t.equal(get.json().error.code, -32001)

    const del = await app.inject({ method: 'DELETE', url: '/mcp', headers: { 'mcp-session-id': s3.id, 'mcp-protocol-version': s3.protocolVersion } })
    t.equal(del.statusCode, 404, 'DELETE on an expired session')
    t.equal(del.json().error.code, -32001)
    t.equal((await app.mcp.stats()).sessions, 0, 'the store no longer holds them')
  })

  t.test('a session used regularly does not expire', async (t) => {
    // Pings every 50 ms against a 500 ms TTL: a ten-fold margin for a loaded machine.
    const app = await buildApp(t, { demo: true, options: { sessionTtlMs: 500 } })
    const used = await openSession(app)
    const idle = await openSession(app)
    const until = Date.now() + 1500
    let n = 0
    while (Date.now() < until) {
      const res = await ping(app, used, ++n)
      t.equal(res.statusCode, 200, `ping ${n} at +${1500 - (until - Date.now())} ms`)
      await sleep(50)
    }
    t.ok(n >= 5, 'several pings were sent')
    t.equal((await ping(app, used, 'last')).statusCode, 200, 'still alive long after its first TTL')
    t.equal((await ping(app, idle)).statusCode, 404, 'while an idle session of the same app expired')
  })

  /** How many times 50 pings on one session touch the store, with `touchIntervalMs`. */
  async function touchesFor50Pings (t: Test, touchIntervalMs: number): Promise<number> {
    const store = new CountingStore({ ttlMs: 600_000 })
    t.teardown(() => store.close())
    const app = await buildApp(t, { demo: true, options: { sessionStore: store, touchIntervalMs } })
    const session = await openSession(app)
    store.touches = 0
    for (let i = 1; i <= 50; i++) t.equal((await ping(app, session, i)).statusCode, 200)
    return store.touches
  }

  t.test('the TTL refresh is throttled: no store write per request', async (t) => {
    const touches = await touchesFor50Pings(t, 60_000)
    t.ok(touches <= 1, `touch() called ${touches} times for 50 requests`)
  })

  t.test('touchIntervalMs: 0 refreshes on every request', async (t) => {
    t.equal(await touchesFor50Pings(t, 0), 50)
  })

  t.test('a touch is done once the interval has passed', async (t) => {
    const store = new CountingStore({ ttlMs: 600_000 })
    t.teardown(() => store.close())
    const app = await buildApp(t, { demo: true, options: { sessionStore: store, touchIntervalMs: 60_000 } })
    const session = await openSession(app)
    // Age the record past the interval instead of sleeping: two requests a few ms apart
    // on a loaded machine must not both count as "after the interval".
    await store.update(session.id, { lastActiveAt: Date.now() - 61_000 })
    store.touches = 0
    t.equal((await ping(app, session, 1)).statusCode, 200)
    t.equal((await ping(app, session, 2)).statusCode, 200)
    t.equal(store.touches, 1, 'one touch for two requests after the interval')
    const record = await store.get(session.id)
    t.ok(record !== undefined && Date.now() - record.lastActiveAt < 10_000, 'lastActiveAt moved forward')
  })
})

t.test('an open GET stream keeps its session alive without any POST', async (t) => {
  const ttl = 600
  const { url } = await serve(t, { demo: true, options: { sessionTtlMs: ttl } })
  const streaming = await openSessionHttp(url)
  const idle = await openSessionHttp(url)
  const stream = await request(url, 'GET', streamHeaders(streaming))
  t.teardown(() => stream.destroy())
  t.equal(stream.status, 200)
  // Three TTLs with no request on either session: only the connected one survives.
  await sleep(3 * ttl)
  t.notOk(stream.ended, 'the GET stream is still open')
  const alive = await request(url, 'POST', streaming.headers, rpc(1, 'ping'))
  await alive.waitEnd()
  t.equal(alive.status, 200, 'the streaming session is alive')
  const gone = await request(url, 'POST', idle.headers, rpc(2, 'ping'))
  await gone.waitEnd()
  t.equal(gone.status, 404, 'the idle session expired')
})

t.test('session cap', async (t) => {
  const app = await buildApp(t, { demo: true, options: { maxSessions: 2 } })
  const a = await openSession(app)
  await openSession(app)
  const res = await initialize(app)
  t.equal(res.statusCode, 503, 'third initialize refused')
  t.ok(res.headers['retry-after'], 'with Retry-After')
  t.match(String(res.headers['retry-after']), /^[1-9][0-9]*$/, 'Retry-After is delay-seconds')
  t.match(res.headers['content-type'], /application\/json/)
  const body = res.json()
  t.equal(body.jsonrpc, '2.0')
  t.equal(body.id, null)
  t.equal(body.error.code, -32000)
  t.type(body.error.message, 'string')
  t.notOk(res.headers['mcp-session-id'], 'no session id handed out')
  t.equal((await app.mcp.stats()).sessions, 2, 'nothing was stored')

  const del = await app.inject({ method: 'DELETE', url: '/mcp', headers: { 'mcp-session-id': a.id, 'mcp-protocol-version': a.protocolVersion } })
  t.equal(del.statusCode, 204)
  const again = await initialize(app)
  t.equal(again.statusCode, 200, 'a freed place can be used')
  t.ok(again.headers['mcp-session-id'])
})

t.test('expiry closes live things', async (t) => {
  t.test('an open GET stream ends when its session expires', async (t) => {
    const ttl = 60_000
    const { app, url } = await serve(t, { demo: true, options: { sessionTtlMs: ttl } })
    const session = await openSessionHttp(url)
    const other = await openSessionHttp(url)
    const stream = await request(url, 'GET', streamHeaders(session))
    t.equal(stream.status, 200)
    const otherStream = await request(url, 'GET', streamHeaders(other))
    t.equal(otherStream.status, 200)
    t.teardown(() => { stream.destroy(); otherStream.destroy() })
    t.equal((await app.mcp.stats()).streams, 2)

    // Keep `other` fresh while `session` is pushed past its TTL.
    const store = app.mcp.sessions as MemorySessionStore
    const future = Date.now() + 10 * ttl
    await store.touch(other.id, future)
    t.equal(store.sweep(future), 1, 'exactly one session expired')

    await stream.waitEnd(3000)
    t.ok(stream.ended, 'the expired session\'s stream was ended by the server')
    t.notOk(otherStream.ended, 'the other session\'s stream stays open')
    const after = await request(url, 'POST', session.headers, rpc(1, 'ping'))
    await after.waitEnd()
    t.equal(after.status, 404, 'the expired session answers 404')
  })

  t.test('an in-flight POST of an expiring session is answered 404 and its handler aborted', async (t) => {
    const app = await buildApp(t, { demo: true, options: { sessionTtlMs: 60_000 } })
    let started!: () => void
    const running = new Promise<void>((resolve) => { started = resolve })
    let abortedWith: unknown
    app.mcp.tool({ name: 'hang', description: 'Wait until aborted', inputSchema: Type.Object({}) }, async (_args, ctx) => {
      started()
      await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }))
      abortedWith = ctx.signal.reason
      return 'too late'
    })
    const session = await openSession(app)
    const pending = post(app, rpc(9, 'tools/call', { name: 'hang', arguments: {} }), session.headers)
    await running
    ;(app.mcp.sessions as MemorySessionStore).sweep(Date.now() + 600_000)
    const res = await pending
    t.equal(res.statusCode, 404)
    t.same(res.json(), { jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Session not found' } })
    await sleep(10)
    t.ok(abortedWith instanceof Error, 'the handler\'s signal was aborted')
  })
})

t.test('shutdown', async (t) => {
  t.test('app.close() resolves while a GET stream is open, and ends it', async (t) => {
    const { app, url } = await serve(t, { demo: true })
    const session = await openSessionHttp(url)
    const stream = await request(url, 'GET', streamHeaders(session))
    t.equal(stream.status, 200)
    t.teardown(() => stream.destroy())
    const closed = app.close().then(() => 'closed')
    const outcome = await Promise.race([closed, sleep(5000).then(() => 'timeout')])
    t.equal(outcome, 'closed', 'close did not wait on the open stream')
    await stream.waitEnd(2000)
    t.ok(stream.ended, 'the stream was ended by the server')
  })

  t.test('while closing, initialize and GET answer 503 and /health reports closing', async (t) => {
    // Filled in once listening; the hook below runs only at close.
    const live = {} as { url: URL, session: Session }
    const seen: { init?: { status: number, headers: Record<string, unknown>, body: string }, get?: { status: number, body: string }, health?: { status: number, body: string } } = {}
    // return503OnClosing: false lets requests reach the plugin during preClose, so what is
    // checked is the plugin's own answer, not Fastify's generic 503.
    const app = await buildApp(t, {
      demo: true,
      fastify: { return503OnClosing: false },
      setup: (app) => {
        // Registered after the plugin, so it runs after the plugin's preClose hook.
        app.addHook('preClose', async () => {
          const { url, session } = live
          const init = await request(url, 'POST', postHeaders(), rpc(0, 'initialize', initializeParams()))
          await init.waitEnd()
          seen.init = { status: init.status, headers: init.headers, body: init.raw }
          const get = await request(url, 'GET', streamHeaders(session))
          await get.waitEnd()
          seen.get = { status: get.status, body: get.raw }
          const health = await request(healthUrl(url), 'GET', {})
          await health.waitEnd()
          seen.health = { status: health.status, body: health.raw }
        })
      }
    })
    live.url = await listen(app)
    live.session = await openSessionHttp(live.url)
    await app.close()
    t.equal(seen.init?.status, 503, 'initialize refused while closing')
    t.ok(seen.init?.headers['retry-after'], 'with Retry-After')
    t.notOk(seen.init?.headers['mcp-session-id'], 'and no session')
    const initBody = JSON.parse(seen.init?.body ?? '{}')
    t.equal(initBody.jsonrpc, '2.0', 'a JSON-RPC body (the plugin\'s, not Fastify\'s)')
    t.equal(initBody.error?.code, -32000)
    t.equal(seen.get?.status, 503, 'a new GET stream refused while closing')
    t.equal(seen.health?.status, 503)
    t.match(JSON.parse(seen.health?.body ?? '{}'), { status: 'closing' })
  })

  t.test('the plugin closes the memory store it created', async (t) => {
    const app = await buildApp(t, { demo: true })
    await app.ready()
    const store = app.mcp.sessions as MemorySessionStore
    t.ok(store instanceof MemorySessionStore, 'the default store is a MemorySessionStore')
    let closes = 0
    const original = store.close.bind(store)
    store.close = async () => { closes++; return original() }
    await openSession(app)
    t.equal(await store.size(), 1)
    await app.close()
    t.equal(closes, 1, 'store.close() called once')
    t.equal(await store.size(), 0, 'and it dropped its sessions')
  })

  t.test('a session gets the id its store mints, when the store mints them', async (t) => {
    // The memory store's ids name the slot their record is kept in (found without a hash lookup).
    const plain = await buildApp(t, { demo: true })
    const minted = await openSession(plain)
    t.match(minted.id, /^[A-Za-z0-9_-]{37}$/, 'the default store\'s id: 5 characters of slot, 32 of secret')
    t.equal((await ping(plain, minted)).statusCode, 200)

    class MintingStore extends MemorySessionStore {
      readonly minted: string[] = []
      override newSessionId (): string {
        const id = 'own-' + super.newSessionId()
        this.minted.push(id)
        return id
      }
    }
    const store = new MintingStore()
    t.teardown(() => store.close())
    const app = await buildApp(t, { demo: true, options: { sessionStore: store } })
    const session = await openSession(app)
    t.same(store.minted, [session.id], 'the plugin asked the store for the id and used it')
    t.equal((await store.get(session.id))?.id, session.id, 'created under that id')
    t.equal((await ping(app, session)).statusCode, 200)
  })

  t.test('a user-provided sessionStore is not closed by the plugin', async (t) => {
    const store = new CountingStore({ ttlMs: 600_000 })
    t.teardown(() => store.close())
    const app = await buildApp(t, { demo: true, options: { sessionStore: store } })
    const session = await openSession(app)
    t.equal(app.mcp.sessions, store, 'the given store is used')
    await app.close()
    t.equal(store.closes, 0, 'close() not called')
    t.ok(await store.get(session.id), 'its sessions are still there')
  })

  t.test('the plugin unsubscribes from a user store\'s expiry events at close', async (t) => {
    const store = new CountingStore({ ttlMs: 600_000 })
    t.teardown(() => store.close())
    const app = await buildApp(t, { demo: true, options: { sessionStore: store } })
    await app.ready()
    t.equal(store.listeners, 1, 'the plugin listens for expiries')
    await openSession(app)
    await app.close()
    t.equal(store.listeners, 0, 'and stops listening once closed')
  })
})

t.test('health route', async (t) => {
  t.test('/health → 200 {status, sessions, streams} with correct counts', async (t) => {
    const { app, url } = await serve(t, { demo: true })
    const empty = await request(healthUrl(url), 'GET', {})
    await empty.waitEnd()
    t.equal(empty.status, 200)
    t.strictSame(JSON.parse(empty.raw), { status: 'ok', live: true, ready: true, checks: { store: true, bus: true, draining: false }, sessions: 0, streams: 0, subscriptions: 0 })

    const a = await openSessionHttp(url)
    await openSessionHttp(url)
    const stream = await request(url, 'GET', streamHeaders(a))
    t.equal(stream.status, 200)
    const busy = await request(healthUrl(url), 'GET', {})
    await busy.waitEnd()
    t.strictSame(JSON.parse(busy.raw), { status: 'ok', live: true, ready: true, checks: { store: true, bus: true, draining: false }, sessions: 2, streams: 1, subscriptions: 0 })

    stream.destroy()
    const del = await request(url, 'DELETE', { 'mcp-session-id': a.id, 'mcp-protocol-version': a.protocolVersion })
    await del.waitEnd()
    t.equal(del.status, 204)
    // The stream's close event is asynchronous: wait until it is counted out.
    let last: unknown
    for (let i = 0; i < 100; i++) {
      const res = await app.inject({ method: 'GET', url: '/health' })
      last = res.json()
      if (res.json().streams === 0) break
      await sleep(10)
    }
    t.strictSame(last, { status: 'ok', live: true, ready: true, checks: { store: true, bus: true, draining: false }, sessions: 1, streams: 0, subscriptions: 0 })
  })

  t.test('health: "/healthz" moves it', async (t) => {
    const app = await buildApp(t, { demo: true, options: { health: '/healthz' } })
    const moved = await app.inject({ method: 'GET', url: '/healthz' })
    t.equal(moved.statusCode, 200)
    t.equal(moved.json().status, 'ok')
    t.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 404)
  })

  t.test('health: false removes it', async (t) => {
    const app = await buildApp(t, { demo: true, options: { health: false } })
    t.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 404)
    t.equal((await initialize(app)).statusCode, 200, 'MCP itself still works')
  })
})

t.test('registering the plugin twice on one instance throws FST_MCP_ALREADY_REGISTERED', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(mcp)
  await t.rejects(async () => { await app.register(mcp, { path: '/other' }) }, { code: 'FST_MCP_ALREADY_REGISTERED' })
})

t.test('notifications/initialized marks the stored record', async (t) => {
  const app = await buildApp(t, { demo: true })
  const res = await initialize(app)
  const id = res.headers['mcp-session-id'] as string
  const before = await app.mcp.sessions.get(id) as SessionRecord
  t.equal(before.initialized, false)
  t.equal(before.clientInfo.name, 'test-client')
  const headers = postHeaders({ 'mcp-session-id': id, 'mcp-protocol-version': res.json().result.protocolVersion })
  t.equal((await post(app, notification('notifications/initialized'), headers)).statusCode, 202)
  t.equal((await app.mcp.sessions.get(id))?.initialized, true)
})
