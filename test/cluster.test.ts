// Several instances sharing sessions, event histories and messages through one real
// redis-server, with no sticky sessions: two Fastify instances (A and B) in this process,
// each on its own port, each test on its own key prefix. A session created on one is served
// by the other; DELETE and expiry reach every instance; the standalone GET stream held by one
// carries what the other produces (list changes, resource updates, server → client
// requests); answers, cancellations and resumes cross instances; the official SDK client
// works through a round-robin balancer; the near-cache is invalidated across instances.
import http from 'node:http'
import t, { type Test } from 'tap'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js'
import { ElicitRequestSchema, LoggingMessageNotificationSchema, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js'
import type { McpPluginOptions } from '../lib/index.js'
import type { RedisSessionStore } from '../lib/stores/redis-session-store.js'
import { standaloneStreamId } from '../lib/legacy/local-streams.js'
import { withRedis } from './helpers/redis-server.js'
import { LATEST, StreamReader, buildApp, deferred, initializeParams, listen, notification, postHeaders, request, rpc, streamHeaders, within, type Deferred, type Session, type SseEvent } from './helpers/index.js'

type Name = 'A' | 'B'

interface Instance {
  name: Name
  app: FastifyInstance
  url: URL
}

interface Cluster {
  a: Instance
  b: Instance
  /** The test's own key prefix. */
  prefix: string
}

withRedis(t, 'cluster', async (t, server) => {
  let clusters = 0

  /**
   * Two instances of the demo app on one Redis, on a key prefix of their own, listening on
   * free ports. `setup` runs on both before they listen, as a real deployment registers the
   * same tools everywhere; it is told which instance it is setting up.
   */
  async function cluster (t: Test, options: McpPluginOptions = {}, setup: (app: FastifyInstance, name: Name) => void = () => {}, fastifyOptions: FastifyServerOptions = {}): Promise<Cluster> {
    const prefix = `cluster${++clusters}:`
    const instances: Instance[] = []
    for (const name of ['A', 'B'] as const) {
      // A short drain only so that a failing test does not hold the teardown for 10 s.
      const app = await buildApp(t, {
        demo: true,
        options: { redis: server.url, redisPrefix: prefix, drainTimeoutMs: 500, ...options },
        fastify: fastifyOptions,
        setup: (app) => setup(app, name)
      })
      instances.push({ name, app, url: await listen(app) })
    }
    return { a: instances[0]!, b: instances[1]!, prefix }
  }

  const sessionKey = (prefix: string, sessionId: string) => `${prefix}{${sessionId}}:s`

  // ---- requests ---------------------------------------------------------------------------

  /** Open a request and close it at teardown (a no-op once it has ended). */
  async function open (t: Test, node: Instance, method: string, headers: Record<string, string>, body?: unknown): Promise<StreamReader> {
    const reader = await request(node.url, method, headers, body)
    t.teardown(() => reader.destroy())
    return reader
  }

  /** A request whose answer is read to its end. */
  async function send (node: Instance, method: string, headers: Record<string, string>, body?: unknown): Promise<StreamReader> {
    const reader = await request(node.url, method, headers, body)
    await reader.waitEnd()
    return reader
  }

  /** The JSON-RPC messages of a finished answer, JSON body or SSE stream. */
  function answerOf (reader: StreamReader): any[] {
    if (String(reader.headers['content-type']).startsWith('application/json')) return [JSON.parse(reader.raw)]
    return reader.messages()
  }

  /** initialize on `first`, notifications/initialized on `second`: the session crosses at once. */
  async function openAcross (first: Instance, second: Instance, capabilities: Record<string, unknown> = {}): Promise<Session> {
    const init = await send(first, 'POST', postHeaders(), rpc(0, 'initialize', initializeParams(LATEST, capabilities)))
    if (init.status !== 200) throw new Error(`initialize failed: ${init.status} ${init.raw}`)
    const id = init.headers['mcp-session-id'] as string
    const protocolVersion = answerOf(init)[0].result.protocolVersion as string
    const headers = postHeaders({ 'mcp-session-id': id, 'mcp-protocol-version': protocolVersion })
    const ack = await send(second, 'POST', headers, notification('notifications/initialized'))
    if (ack.status !== 202) throw new Error(`initialized failed on ${second.name}: ${ack.status} ${ack.raw}`)
    return { id, protocolVersion, headers }
  }

  /** A GET on the session's standalone stream, once the server has primed it (2025-11-25). */
  async function openGet (t: Test, node: Instance, session: Session, extra: Record<string, string> = {}): Promise<StreamReader> {
    const get = await open(t, node, 'GET', streamHeaders(session, extra))
    if (get.status !== 200) throw new Error(`GET on ${node.name} failed: ${get.status} ${get.raw}`)
    // The priming event travels through the shared history like any message: once it is
    // here, the instance is subscribed and everything appended later reaches this connection.
    await get.until((r) => r.events.length >= 1)
    return get
  }

  async function ping (node: Instance, session: Session, id: number | string = 'ping'): Promise<number> {
    return (await send(node, 'POST', session.headers, rpc(id, 'ping'))).status
  }

  function callTool (id: number, name: string, args: Record<string, unknown>, progressToken?: string): Record<string, unknown> {
    const params: Record<string, unknown> = { name, arguments: args }
    if (progressToken !== undefined) params._meta = { progressToken }
    return rpc(id, 'tools/call', params)
  }

  function textResult (id: number | string, text: string): Record<string, unknown> {
    return { jsonrpc: '2.0', id, result: { content: [{ type: 'text', text }] } }
  }

  function log (data: unknown, level = 'info'): Record<string, unknown> {
    return { jsonrpc: '2.0', method: 'notifications/message', params: { level, data } }
  }

  /** Exactly what the demo countdown sends for `from` with a progress token, response last. */
  function countdownMessages (id: number, from: number, progressToken: string): any[] {
    const messages: any[] = []
    for (let n = from; n >= 1; n--) {
      messages.push({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken, progress: from - n + 1, total: from, message: `T-${n}` } })
      messages.push(log({ countdown: n }))
    }
    messages.push(textResult(id, 'liftoff'))
    return messages
  }

  const LIST_CHANGED = { jsonrpc: '2.0', method: 'notifications/tools/list_changed' }
  const SESSION_GONE = { jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Session not found' } }

  // ---- event ids (Redis stream ids: `<stream>.<ms>-<n>`) ------------------------------------

  const EVENT_ID = /^([A-Za-z0-9_-]+)\.(\d+)-(\d+)$/

  function streamOf (eventId: string | undefined): string {
    const match = EVENT_ID.exec(eventId ?? '')
    if (match === null) throw new Error(`not an event id: ${String(eventId)}`)
    return match[1]!
  }

  /** Whether the ids strictly increase (one stream's events, in order, none twice). */
  function increasing (events: readonly SseEvent[]): boolean {
    const seqs = events.map((e) => EVENT_ID.exec(e.id ?? '')!).map((m) => [Number(m[2]), Number(m[3])] as const)
    return seqs.every((s, i) => i === 0 || s[0] > seqs[i - 1]![0] || (s[0] === seqs[i - 1]![0] && s[1] > seqs[i - 1]![1]))
  }

  function lastIdOf (events: readonly SseEvent[]): string {
    const id = events.findLast((e) => e.id !== undefined)?.id
    if (id === undefined) throw new Error('no event with an id')
    return id
  }

  // ---- resources: `note://<n>`, so resource updates are distinct messages ------------------

  function registerNotes (app: FastifyInstance): void {
    app.mcp.resourceTemplate({ uriTemplate: 'note://{n}', name: 'note' }, async (uri) => uri)
  }

  async function subscribe (node: Instance, session: Session, ...uris: string[]): Promise<void> {
    for (const uri of uris) {
      const res = await send(node, 'POST', session.headers, rpc(`sub-${uri}`, 'resources/subscribe', { uri }))
      if (res.status !== 200 || JSON.parse(res.raw).result === undefined) throw new Error(`subscribe on ${node.name} failed: ${res.raw}`)
    }
  }

  function updated (uri: string): Record<string, unknown> {
    return { jsonrpc: '2.0', method: 'notifications/resources/updated', params: { uri } }
  }

  /** The note numbers among the messages, in arrival order (anything else is a failure). */
  function notes (messages: any[]): number[] {
    return messages.map((m) => {
      if (m.method !== 'notifications/resources/updated') throw new Error(`unexpected message ${JSON.stringify(m)}`)
      return Number(String(m.params.uri).slice('note://'.length))
    })
  }

  // ---- server-side probes -------------------------------------------------------------------

  /** Server side: resolves when the socket of the request carrying `x-probe: <probe>` is closed. */
  function serverSocketClosed (app: FastifyInstance, probe: string): Promise<void> {
    const closed = deferred()
    app.server.on('request', (incoming: http.IncomingMessage) => {
      if (incoming.headers['x-probe'] === probe) incoming.socket.once('close', () => closed.resolve())
    })
    return within(closed.promise, `the server to see the ${probe} connection close`)
  }

  /** Poll a condition no event reports (every 20 ms, up to `ms`). */
  async function eventually (predicate: () => boolean, what: string, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }

  /** Poll an asynchronous condition (every 20 ms, up to `ms`); resolves how many tries it took. */
  async function eventuallyAsync (predicate: () => Promise<boolean>, what: string, ms = 2000): Promise<number> {
    const deadline = Date.now() + ms
    for (let tries = 1; ; tries++) {
      if (await predicate()) return tries
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }

  /**
   * A session opened on `first` whose record `cached` holds in its near-cache (a long
   * maxAgeMs assumed), with no invalidation notice left in flight: `cached` reads the record
   * before `initialized`, and sees the change only once that update's notice has reached it.
   */
  async function openCached (first: Instance, cached: Instance): Promise<Session> {
    const init = await send(first, 'POST', postHeaders(), rpc(0, 'initialize', initializeParams()))
    const id = init.headers['mcp-session-id'] as string
    const session: Session = { id, protocolVersion: LATEST, headers: postHeaders({ 'mcp-session-id': id, 'mcp-protocol-version': LATEST }) }
    if ((await cached.app.mcp.sessions.get(id))?.initialized !== false) throw new Error('the record should not be initialized yet')
    const ack = await send(first, 'POST', session.headers, notification('notifications/initialized'))
    if (ack.status !== 202) throw new Error(`initialized failed: ${ack.status}`)
    await eventuallyAsync(async () => (await cached.app.mcp.sessions.get(id))?.initialized === true, `the update notice to reach ${cached.name}`)
    return session
  }

  // ---- handlers that wait -------------------------------------------------------------------

  interface Held {
    /** The instance running the handler. */
    node: Name
    /** Resolves with the abort reason's message once ctx.signal aborts. */
    aborted: Promise<string>
    /** Resolves once the handler has returned (after trying to log once more). */
    returned: Promise<void>
  }

  /**
   * A `hold` tool that waits for ctx.signal to abort, then tries to log and returns: neither
   * may reach the client. `stream: true` logs first, so its POST is an SSE stream; otherwise
   * the POST is still waiting for its JSON answer. Each call is found by its `tag`.
   */
  class Holds {
    readonly #slots = new Map<string, Deferred<Held>>()

    started (tag: string): Promise<Held> {
      return within(this.#slot(tag).promise, `the handler ${tag} to start`)
    }

    readonly register = (app: FastifyInstance, name: Name): void => {
      app.mcp.tool({ name: 'hold', description: 'waits until aborted', inputSchema: Type.Object({ tag: Type.String(), stream: Type.Boolean() }) }, async ({ tag, stream }, ctx) => {
        if (stream) await ctx.log('info', 'holding')
        const signal = ctx.signal
        const reason = (): string => (signal.reason as Error).message
        const aborted = signal.aborted ? Promise.resolve(reason()) : new Promise<string>((resolve) => signal.addEventListener('abort', () => resolve(reason()), { once: true }))
        const returned = deferred()
        this.#slot(tag).resolve({ node: name, aborted, returned: returned.promise })
        await aborted
        await ctx.log('info', 'after the abort')
        setImmediate(() => returned.resolve())
        return 'must not be sent'
      })
    }

    #slot (tag: string): Deferred<Held> {
      let slot = this.#slots.get(tag)
      if (slot === undefined) this.#slots.set(tag, slot = deferred<Held>())
      return slot
    }
  }

  /**
   * A session opened across A and B, its GET on B and a streaming `hold` call on `postOn` (its
   * first message received); then its record lapses in Redis.
   */
  async function holdThenLapse (t: Test, { a, b, prefix }: Cluster, holds: Holds, postOn: Instance) {
    const session = await openAcross(a, b)
    const get = await openGet(t, b, session)
    const post = await open(t, postOn, 'POST', session.headers, callTool(1, 'hold', { tag: 'h', stream: true }))
    const held = await holds.started('h')
    await post.until((r) => r.messages().length >= 1)
    server.cli('pexpire', sessionKey(prefix, session.id), '1')
    await eventually(() => server.cli('exists', sessionKey(prefix, session.id)) === '0', 'the record to lapse')
    return { session, get, post, held }
  }

  /**
   * The demo countdown's messages (same shape, same order), pausing after each step listed
   * in `stops` until its gate opens. Records which instance runs it.
   */
  function stagedCountdown (ran: Name[], stops: Map<number, { paused: Deferred<void>, gate: Deferred<void> }>) {
    return (app: FastifyInstance, name: Name) => app.mcp.tool({
      name: 'staged',
      description: 'countdown that pauses',
      inputSchema: Type.Object({ from: Type.Integer() })
    }, async ({ from }, ctx) => {
      ran.push(name)
      for (let n = from; n >= 1; n--) {
        const step = from - n + 1
        await ctx.progress(step, from, `T-${n}`)
        await ctx.log('info', { countdown: n })
        const stop = stops.get(step)
        if (stop !== undefined) {
          stop.paused.resolve()
          await stop.gate.promise
        }
      }
      return 'liftoff'
    })
  }

  function stop (): { paused: Deferred<void>, gate: Deferred<void> } {
    return { paused: deferred(), gate: deferred() }
  }

  /** A `staged` call (progress token 'tok') on `node`, read to its 4th message (paused after step 2); then its connection is cut. */
  async function stagedThenCut (t: Test, node: Instance, session: Session, id: number, from: number, paused: Deferred<void>): Promise<StreamReader> {
    const closed = serverSocketClosed(node.app, 'post')
    const post = await open(t, node, 'POST', { ...session.headers, 'x-probe': 'post' }, callTool(id, 'staged', { from }, 'tok'))
    await within(paused.promise, 'the handler to pause after step 2')
    await post.until((r) => r.messages().length >= 4)
    post.destroy()
    await closed
    return post
  }

  // =========================================================================================

  t.test('a session created on A is served by B: ping, tools/list, tools/call (JSON and streamed), GET', async (t) => {
    const { a, b } = await cluster(t)
    const session = await openAcross(a, a)

    const pong = await send(b, 'POST', session.headers, rpc(1, 'ping'))
    t.equal(pong.status, 200)
    t.equal(pong.headers['mcp-session-id'], session.id, 'B names the session')
    t.same(answerOf(pong), [{ jsonrpc: '2.0', id: 1, result: {} }])

    const list = await send(b, 'POST', session.headers, rpc(2, 'tools/list'))
    t.same(answerOf(list)[0].result.tools.map((tool: { name: string }) => tool.name).sort(), ['add', 'countdown', 'echo'])

    const echo = await send(b, 'POST', session.headers, callTool(3, 'echo', { text: 'from A to B' }))
    t.equal(echo.status, 200)
    t.same(answerOf(echo), [textResult(3, 'from A to B')])

    const countdown = await send(b, 'POST', session.headers, callTool(4, 'countdown', { from: 3, intervalMs: 0 }, 'tok'))
    t.equal(countdown.headers['content-type'], 'text/event-stream')
    t.same(countdown.messages(), countdownMessages(4, 3, 'tok'), 'the whole countdown, in order, once')

    const get = await openGet(t, b, session)
    t.equal(get.headers['mcp-session-id'], session.id)
    t.same(get.messages(), [], 'primed, nothing else')

    // And the other way round: a session born on B, used on A.
    const other = await openAcross(b, a)
    t.same(answerOf(await send(a, 'POST', other.headers, callTool(5, 'add', { a: 2, b: 40 })))[0].result.structuredContent, { sum: 42 })
  })

  t.test('DELETE on B: 404 on A and B at once; the GET held on A ends and the handler running on A is aborted', async (t) => {
    const holds = new Holds()
    const { a, b, prefix } = await cluster(t, {}, holds.register)
    const session = await openAcross(a, b)
    const get = await openGet(t, a, session)
    const post = await open(t, a, 'POST', session.headers, callTool(7, 'hold', { tag: 'h', stream: true }))
    const held = await holds.started('h')
    t.equal(held.node, 'A', 'the handler runs on A')
    await post.until((r) => r.messages().length >= 1)

    const deleted = await send(b, 'DELETE', session.headers)
    t.equal(deleted.status, 204)
    // At once: no wait between the DELETE's answer and these.
    for (const node of [a, b]) {
      const answer = await send(node, 'POST', session.headers, rpc(8, 'ping'))
      t.equal(answer.status, 404, `POST on ${node.name}: 404`)
      t.same(JSON.parse(answer.raw), SESSION_GONE)
      t.equal((await send(node, 'GET', streamHeaders(session))).status, 404, `GET on ${node.name}: 404`)
      t.equal((await send(node, 'DELETE', session.headers)).status, 404, `DELETE again on ${node.name}: 404`)
    }

    t.equal(await within(held.aborted, 'the handler on A to be aborted'), 'Session terminated', 'ctx.signal aborted on A')
    await within(held.returned, 'the handler on A to return')
    await get.waitEnd()
    t.ok(get.ended, 'the GET held on A ended')
    t.same(get.messages(), [])
    await post.waitEnd()
    t.ok(post.ended, 'the POST stream on A ended')
    t.same(post.messages(), [log('holding')], 'no result after the session was deleted')

    await eventually(() => server.cli('--scan', '--pattern', `${prefix}{${session.id}}*`) === '', 'the session keys to be deleted')
    t.equal(server.cli('sismember', `${prefix}standalone`, session.id), '0', 'out of the standalone index')
    t.equal(server.cli('zscore', `${prefix}sessions`, session.id), '', 'out of the session index')
  })

  t.test('expiry announced by either instance aborts the handlers running on the other; their POSTs end; 404 everywhere', async (t) => {
    for (const sweeper of ['A', 'B'] as const) {
      t.test(`${sweeper} alone looks for expired sessions`, async (t) => {
        const holds = new Holds()
        const { a, b } = await cluster(t, { sessionTtlMs: 600, touchIntervalMs: 100 }, holds.register)
        const [sweeping, other] = sweeper === 'A' ? [a, b] : [b, a]
        // Only `sweeping` notices expiries; `other` hears of them through Redis or not at all.
        ;(other.app.mcp.sessions as RedisSessionStore).sweep = async () => 0
        const streaming = await openAcross(sweeping, other)
        const waiting = await openAcross(sweeping, other)

        const post = await open(t, other, 'POST', streaming.headers, callTool(1, 'hold', { tag: 'streaming', stream: true }))
        const streamingHeld = await holds.started('streaming')
        await post.until((r) => r.messages().length >= 1)
        // No message before its answer: its headers come with the answer, so not awaited yet.
        const pending = request(other.url, 'POST', waiting.headers, callTool(2, 'hold', { tag: 'waiting', stream: false }))
        const waitingHeld = await holds.started('waiting')
        const lastRequestAt = Date.now()
        t.same([streamingHeld.node, waitingHeld.node], [other.name, other.name], `both handlers run on ${other.name}`)

        t.equal(await within(streamingHeld.aborted, 'the streaming handler to be aborted'), 'Session terminated')
        t.equal(await within(waitingHeld.aborted, 'the waiting handler to be aborted'), 'Session terminated')
        const idle = Date.now() - lastRequestAt
        t.ok(idle >= 400, `aborted by the expiry, not before (${idle} ms idle, TTL 600 ms)`)
        await within(Promise.all([streamingHeld.returned, waitingHeld.returned]), 'the handlers to return')

        await post.waitEnd()
        t.same(post.messages(), [log('holding')], 'the streaming POST ends with no result')
        const answered = await pending
        await answered.waitEnd()
        t.equal(answered.status, 404, 'the waiting POST is answered 404')
        t.same(JSON.parse(answered.raw), SESSION_GONE)
        for (const node of [a, b]) {
          for (const session of [streaming, waiting]) t.equal(await ping(node, session), 404, `${node.name}: the expired session answers 404`)
        }
      })
    }
  })

  t.test('a GET held on B keeps the session alive on A past several TTLs', async (t) => {
    const { a, b } = await cluster(t, { sessionTtlMs: 600, touchIntervalMs: 100 })
    const session = await openAcross(a, b)
    const get = await openGet(t, b, session)
    await new Promise((resolve) => setTimeout(resolve, 2000))
    t.equal(await ping(a, session), 200, 'after 2 s with no request, the session is alive on A')
    t.notOk(get.ended, 'the GET on B is still open')
    get.destroy()
  })

  t.test('a session whose record lapses while B holds its GET (TTL lapse, eviction, data loss): B\'s next touch finds nothing; its GET ends, the handler on A is aborted; its index entry comes due at once for the sweep', async (t) => {
    const holds = new Holds()
    const { a, b, prefix } = await cluster(t, { sessionTtlMs: 600, touchIntervalMs: 100 }, holds.register)
    // No sweeps for now: only B's touch can find out.
    const stores = [a, b].map((node) => node.app.mcp.sessions as RedisSessionStore)
    for (const store of stores) store.sweep = async () => 0
    // The record goes although B keeps touching it (a stall longer than the TTL, an eviction).
    const { session, get, post, held } = await holdThenLapse(t, { a, b, prefix }, holds, a)
    const expiry = server.cli('zscore', `${prefix}sessions`, session.id)
    for (const node of [a, b]) t.equal(await ping(node, session), 404, `${node.name}: 404 at once`)
    // B touches a session with a GET every ttl/3 = 200 ms.
    t.equal(await within(held.aborted, 'the handler on A to be aborted', 3000), 'Session terminated')
    await get.waitEnd(3000)
    t.ok(get.ended, 'the GET on B ended')
    await post.waitEnd()
    t.same(post.messages(), [log('holding')])
    // The touch that found nothing made the index entry due at once (refreshed, it would never
    // come due while B kept touching).
    const due = Number(server.cli('zscore', `${prefix}sessions`, session.id))
    t.ok(due < Number(expiry) && due <= Date.now(), `the index entry is due now (${due}), not refreshed (${expiry})`)
    // So the next sweep drops it: it no longer counts against maxSessions.
    for (const store of stores) Reflect.deleteProperty(store, 'sweep')
    t.equal(await stores[0]!.sweep(), 1, 'A announces the expiry')
    t.equal(server.cli('zscore', `${prefix}sessions`, session.id), '')
    t.equal(await a.app.mcp.sessions.size(), 0)
  })

  t.test('an expiry announced by A ends the GET stream held on B at once, not at B\'s next touch', async (t) => {
    const holds = new Holds()
    // A long TTL: B's periodic touch of sessions with a GET (every 60 s here) stays out of the way.
    const { a, b, prefix } = await cluster(t, { sessionTtlMs: 600_000, touchIntervalMs: 60_000 }, holds.register)
    const { get, held } = await holdThenLapse(t, { a, b, prefix }, holds, b)
    // A sweeps as if its next tick came after the session's expiry time: A announces it.
    t.equal(await (a.app.mcp.sessions as RedisSessionStore).sweep(Date.now() + 3_600_000), 1, 'A announces the expiry')
    t.equal(await within(held.aborted, 'the handler on B to be aborted', 2000), 'Session terminated', 'the handler on B is aborted')
    await get.waitEnd(2000)
    t.ok(get.ended, 'the GET on B ended')
  })

  t.test('the GET stream held by B carries what A produces, each message once: list_changed, resources/updated (subscribers only), a server → client request answered through B', async (t) => {
    const { a, b } = await cluster(t, {}, registerNotes)
    const withRoots = await openAcross(a, b, { roots: {} })
    const second = await openAcross(b, a)
    const unsubscribed = await openAcross(a, b)
    const neverGot = await openAcross(b, a)
    await subscribe(a, withRoots, 'note://1', 'note://0')
    await subscribe(b, second, 'note://1', 'note://0')
    await subscribe(b, unsubscribed, 'note://2', 'note://0')
    // Subscribed, but no GET stream ever: nothing is kept for it, and it is not counted.
    await subscribe(a, neverGot, 'note://1')
    const g1 = await openGet(t, b, withRoots)
    const g2 = await openGet(t, b, second)
    const g3 = await openGet(t, a, unsubscribed)

    a.app.mcp.tool({ name: 'late', description: 'added on A after listen', inputSchema: Type.Object({}) }, async () => 'ok')
    for (const get of [g1, g2, g3]) await get.until((r) => r.messages().length >= 1)

    t.equal(await a.app.mcp.notifyResourceUpdated('note://1'), 2, 'note://1: the two subscribed sessions')
    t.equal(await a.app.mcp.notifyResourceUpdated('note://2'), 1, 'note://2: its one subscriber')
    t.equal(await a.app.mcp.notifyResourceUpdated('note://9'), 0, 'note://9: nobody')

    const requester = await a.app.mcp.client(withRoots.id)
    const roots = requester.listRoots()
    await g1.until((r) => r.messages().length >= 3)
    const ask = g1.messages()[2]
    t.match(ask, { jsonrpc: '2.0', method: 'roots/list', params: {} })
    t.match(ask.id, /^srv-[0-9a-f]+-/, 'an id naming the instance that asked')
    // Another session answering that id through B is ignored; the right one resolves A's call.
    t.equal((await send(b, 'POST', second.headers, { jsonrpc: '2.0', id: ask.id, result: { roots: [{ uri: 'file:///intruder' }] } })).status, 202)
    t.equal((await send(b, 'POST', withRoots.headers, { jsonrpc: '2.0', id: ask.id, result: { roots: [{ uri: 'file:///b', name: 'b' }] } })).status, 202)
    t.same(await within(roots, 'listRoots on A to resolve'), { roots: [{ uri: 'file:///b', name: 'b' }] }, 'the answer POSTed to B resolves the request issued on A')

    // A last message to everyone: once it is in, anything sent twice would have shown.
    t.equal(await b.app.mcp.notifyResourceUpdated('note://0'), 3)
    for (const get of [g1, g2, g3]) await get.until((r) => r.messages().length >= 1 && r.messages().at(-1).params?.uri === 'note://0')

    t.same(g1.messages(), [LIST_CHANGED, updated('note://1'), ask, updated('note://0')], 'GET on B (subscribed through A, roots): exactly these')
    t.same(g2.messages(), [LIST_CHANGED, updated('note://1'), updated('note://0')], 'GET on B (subscribed through B): exactly these')
    t.same(g3.messages(), [LIST_CHANGED, updated('note://2'), updated('note://0')], 'GET on A, not subscribed to note://1: no update of it')
    for (const get of [g1, g2, g3]) {
      t.equal(new Set(get.events.map((e) => streamOf(e.id))).size, 1, 'one stream')
      t.ok(increasing(get.events), 'ids increase')
      t.notOk(get.ended)
    }
    const late = await openGet(t, a, neverGot)
    t.equal(await a.app.mcp.notifyResourceUpdated('note://1'), 3, 'once it has a GET stream, it counts')
    await late.until((r) => r.messages().length >= 1)
    t.same(late.messages(), [updated('note://1')], 'and gets what is sent from then on, nothing from before')
  })

  t.test('no GET connection anywhere: what A produces is stored; a Last-Event-ID GET on A replays exactly that, in order, once, then stays live', async (t) => {
    const { a, b } = await cluster(t, {}, registerNotes)
    const session = await openAcross(b, a)
    await subscribe(a, session, 'note://1', 'note://2', 'note://3', 'note://4', 'note://5')
    const closed = serverSocketClosed(b.app, 'get')
    const first = await openGet(t, b, session, { 'x-probe': 'get' })
    t.equal(await a.app.mcp.notifyResourceUpdated('note://1'), 1)
    await first.until((r) => r.messages().length >= 1)
    first.destroy()
    await closed

    for (const n of [2, 3, 4]) t.equal(await a.app.mcp.notifyResourceUpdated(`note://${n}`), 1, `note ${n} is kept for the session`)
    const resumed = await open(t, a, 'GET', streamHeaders(session, { 'last-event-id': lastIdOf(first.events) }))
    t.equal(resumed.status, 200)
    await resumed.until((r) => r.messages().length >= 3)
    t.equal(await b.app.mcp.notifyResourceUpdated('note://5'), 1)
    await resumed.until((r) => r.messages().length >= 4)

    t.same(notes(first.messages()), [1])
    t.same(notes(resumed.messages()), [2, 3, 4, 5], 'notes 2-4 replayed, note 5 live')
    t.equal(resumed.events.length, 4, 'no priming on a resume, nothing twice')
    t.equal(streamOf(resumed.events[0]!.id), streamOf(first.events[0]!.id), 'the same standalone stream')
    t.ok(increasing([...first.events, ...resumed.events]), 'ids increase across both connections')
    t.notOk(resumed.ended, 'the resumed GET stays open')
  })

  t.test('ctx.elicit on A, answered by a POST to B: the tool gets the answer, its result arrives on A\'s POST stream', async (t) => {
    const ran: Name[] = []
    const { a, b } = await cluster(t, {}, (app, name) => app.mcp.tool({ name: 'ask', description: 'asks the user', inputSchema: Type.Object({}) }, async (_args, ctx) => {
      ran.push(name)
      const form = await ctx.elicit('Your name?', { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] })
      return `${form.action}:${String(form.content?.name)}`
    }))
    const session = await openAcross(a, b, { elicitation: {} })
    const post = await open(t, a, 'POST', session.headers, callTool(3, 'ask', {}))
    await post.until((r) => r.messages().length >= 1)
    const ask = post.messages()[0]
    t.match(ask, { jsonrpc: '2.0', method: 'elicitation/create', params: { message: 'Your name?', requestedSchema: { type: 'object', required: ['name'] } } })
    t.match(ask.id, /^srv-[0-9a-f]+-/)

    const answered = await send(b, 'POST', session.headers, { jsonrpc: '2.0', id: ask.id, result: { action: 'accept', content: { name: 'Ada' } } })
    t.equal(answered.status, 202, 'B accepts the answer')
    await post.waitEnd()
    t.same(post.messages(), [ask, textResult(3, 'accept:Ada')], 'the request, then the result built from the answer')
    t.same(ran, ['A'])
  })

  t.test('notifications/cancelled POSTed to B aborts the handler running on A; no result is sent', async (t) => {
    const holds = new Holds()
    const { a, b } = await cluster(t, {}, holds.register)
    const session = await openAcross(a, b)
    const stranger = await openAcross(b, a)
    const post = await open(t, a, 'POST', session.headers, callTool(9, 'hold', { tag: 'c', stream: true }))
    const held = await holds.started('c')
    t.equal(held.node, 'A')
    await post.until((r) => r.messages().length >= 1)

    // The same request id, from another session: not its request. Published before the real
    // one, so if it aborted anything the reason would be this one.
    t.equal((await send(b, 'POST', stranger.headers, notification('notifications/cancelled', { requestId: 9, reason: 'not yours' }))).status, 202)
    t.equal((await send(b, 'POST', session.headers, notification('notifications/cancelled', { requestId: 9, reason: 'user cancelled' }))).status, 202)
    t.equal(await within(held.aborted, 'the handler on A to be aborted'), 'user cancelled', 'ctx.signal aborted with the reason sent to B')
    await within(held.returned, 'the handler to return')
    await post.waitEnd()
    t.same(post.messages(), [log('holding')], 'no result, nothing after the cancellation')
    t.same(answerOf(await send(b, 'POST', session.headers, callTool(10, 'echo', { text: 'still alive' }))), [textResult(10, 'still alive')], 'the session goes on')
  })

  t.test('a POST stream on A resumed on B while the handler still runs on A: replay, then live, the response, then the end', async (t) => {
    t.test('the client cut the connection to A', async (t) => {
      const ran: Name[] = []
      const first = stop()
      const second = stop()
      const { a, b } = await cluster(t, {}, stagedCountdown(ran, new Map([[2, first], [4, second]])))
      const session = await openAcross(a, b)
      const post = await stagedThenCut(t, a, session, 1, 6, first.paused)

      // Steps 3 and 4 while no connection carries the stream: stored.
      first.gate.resolve()
      await within(second.paused.promise, 'the handler to pause after step 4')
      const lastSeen = lastIdOf(post.events)
      const resumed = await open(t, b, 'GET', streamHeaders(session, { 'last-event-id': lastSeen }))
      t.equal(resumed.status, 200)
      await resumed.until((r) => r.messages().length >= 4)
      t.notOk(resumed.ended, 'still open: the handler runs on A')
      second.gate.resolve()
      await resumed.waitEnd()
      t.ok(resumed.ended, 'the GET on B ends after the response')

      const all = countdownMessages(1, 6, 'tok')
      t.same(post.messages(), all.slice(0, 4), 'A: steps 1-2')
      t.same(resumed.messages(), all.slice(4), 'B: steps 3-4 replayed, 5-6 and the response live')
      t.same(ran, ['A'])
      const stream = streamOf(post.events[0]!.id)
      t.ok(resumed.events.every((e) => streamOf(e.id) === stream), 'the POST\'s stream')
      t.ok(increasing([...post.events, ...resumed.events]), 'ids increase: nothing twice')

      // The finished stream, resumed again from the same position on A: replayed and ended.
      const again = await open(t, a, 'GET', streamHeaders(session, { 'last-event-id': lastSeen }))
      t.equal(again.status, 200)
      await again.waitEnd()
      t.same(again.messages(), all.slice(4), 'the same events, then the end')
    })

    t.test('A\'s connection still open (half-dead): the resume on B takes over and A\'s connection is ended', async (t) => {
      const ran: Name[] = []
      const paused = stop()
      const { a, b } = await cluster(t, {}, stagedCountdown(ran, new Map([[2, paused]])))
      const session = await openAcross(a, b)
      const post = await open(t, a, 'POST', session.headers, callTool(2, 'staged', { from: 4 }, 'tok'))
      await within(paused.paused.promise, 'the handler to pause after step 2')
      await post.until((r) => r.messages().length >= 4)

      const resumed = await open(t, b, 'GET', streamHeaders(session, { 'last-event-id': lastIdOf(post.events) }))
      t.equal(resumed.status, 200)
      await post.waitEnd()
      t.ok(post.ended, 'A ended its connection when B took the stream over')
      paused.gate.resolve()
      await resumed.waitEnd()

      const all = countdownMessages(2, 4, 'tok')
      t.same(post.messages(), all.slice(0, 4), 'A: steps 1-2, nothing after the takeover')
      t.same(resumed.messages(), all.slice(4), 'B: steps 3-4 and the response')
      t.same(ran, ['A'])
      t.ok(increasing([...post.events, ...resumed.events]))
    })
  })

  t.test('a resume on B racing an append on A: the event is both in the replay and on the live feed, and is written once', async (t) => {
    const ran: Name[] = []
    const paused = stop()
    // The near-cache lets B take the resume without a Redis command before it subscribes.
    const { a, b, prefix } = await cluster(t, { nearCache: { maxAgeMs: 60_000 } }, stagedCountdown(ran, new Map([[2, paused]])))
    const session = await openCached(a, b)
    const post = await stagedThenCut(t, a, session, 1, 3, paused.paused)
    const lastSeen = lastIdOf(post.events)
    const channel = `${prefix}ch:{${session.id}}:${streamOf(lastSeen)}`
    const postponed = () => server.cli('client', 'list').split('\n').filter((line) => / flags=b /.test(line) && / cmd=eval(sha)? /.test(line)).length

    // Redis holds every write (scripts included) until unpaused; subscriptions still go through.
    server.cli('client', 'pause', '1500', 'WRITE')
    t.teardown(() => server.cli('client', 'unpause'))
    paused.gate.resolve()
    await eventually(() => postponed() === 1, 'A\'s append of step 3 to wait in Redis', 1000)
    const resuming = request(b.url, 'GET', streamHeaders(session, { 'last-event-id': lastSeen }))
    await eventually(() => server.cli('pubsub', 'numsub', channel).split('\n')[1] === '1', 'B to subscribe to the stream', 1000)
    await eventually(() => postponed() === 2, 'B\'s replay to wait in Redis, behind the append', 1000)
    // The append runs first and is published to B, then B's replay reads it too.
    server.cli('client', 'unpause')
    const resumed = await resuming
    t.teardown(() => resumed.destroy())
    t.equal(resumed.status, 200)
    await resumed.waitEnd()

    const all = countdownMessages(1, 3, 'tok')
    t.same(post.messages(), all.slice(0, 4))
    t.same(resumed.messages(), all.slice(4), 'step 3 once, then the response')
    t.ok(increasing([...post.events, ...resumed.events]))
    t.same(ran, ['A'])
  })

  t.test('standalone stream takeover across instances: a new GET on B ends the one on A; messages then go to B only', async (t) => {
    const { a, b } = await cluster(t, {}, registerNotes)
    const session = await openAcross(a, b)
    await subscribe(a, session, 'note://1', 'note://2', 'note://3')
    const onA = await openGet(t, a, session)
    const onB = await openGet(t, b, session)
    await onA.waitEnd()
    t.ok(onA.ended, 'the GET on A was ended')
    t.equal(onA.events.length, 1, 'after its priming event, nothing: no retry, no message')

    t.equal(await a.app.mcp.notifyResourceUpdated('note://1'), 1)
    t.equal(await b.app.mcp.notifyResourceUpdated('note://2'), 1)
    await onB.until((r) => r.messages().length >= 2)
    t.same(notes(onB.messages()), [1, 2], 'B gets what A and B produce')

    // And back: a new GET on A takes over from B.
    const again = await openGet(t, a, session)
    await onB.waitEnd()
    t.ok(onB.ended, 'the GET on B was ended')
    t.equal(await b.app.mcp.notifyResourceUpdated('note://3'), 1)
    await again.until((r) => r.messages().length >= 1)
    t.same(notes(again.messages()), [3])
    t.same(notes(onB.messages()), [1, 2], 'nothing reached B after it was replaced')
    t.same(onA.messages(), [])
  })

  t.test('the official SDK client through a round-robin balancer: no stickiness needed', async (t) => {
    const ran: Name[] = []
    const { a, b, prefix } = await cluster(t, {}, (app, name) => app.mcp.tool({ name: 'whoami', description: 'asks the user', inputSchema: Type.Object({}) }, async (_args, ctx) => {
      ran.push(name)
      const form = await ctx.elicit('Who are you?', { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] })
      return `hello ${String(form.content?.name)}`
    }), { forceCloseConnections: true }) // fetch (undici) may leave a connection open that never carries a request: without this, close() waits for its headersTimeout (about 70 s)
    const instances = [a, b]
    // Each kind of request alternates between the instances: POSTs and DELETEs on one
    // counter, GETs on another, so the sequence below is deterministic.
    const routed: Array<{ node: Name, method: string, rpc: string }> = []
    let posts = 0
    let gets = 0
    const balancer: FetchLike = async (_url, init) => {
      const method = init?.method ?? 'GET'
      const node = instances[(method === 'GET' ? gets++ : posts++) % 2]!
      let label = ''
      if (typeof init?.body === 'string') {
        const message = JSON.parse(init.body)
        label = message.method ?? ('result' in message ? 'response' : 'error')
      }
      routed.push({ node: node.name, method, rpc: label })
      return fetch(node.url, init)
    }
    const client = new Client({ name: 'balanced', version: '1.0.0' }, { capabilities: { elicitation: {} } })
    client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: { name: 'Ada' } }))
    const logs: unknown[] = []
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => { logs.push(n.params.data) })
    const listChanged = deferred()
    let listChanges = 0
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => { listChanges++; listChanged.resolve() })
    const transport = new StreamableHTTPClientTransport(a.url, { fetch: balancer })
    // Registered after the instances' teardowns, so it runs first: the client goes first.
    t.teardown(() => client.close().catch(() => {}))
    await client.connect(transport)
    t.equal(transport.protocolVersion, LATEST)
    const sessionId = transport.sessionId!
    t.type(sessionId, 'string')

    const { tools } = await client.listTools()
    t.same(tools.map((tool) => tool.name).sort(), ['add', 'countdown', 'echo', 'whoami'])
    t.same((await client.callTool({ name: 'echo', arguments: { text: 'balanced' } })).content, [{ type: 'text', text: 'balanced' }])
    const progress: number[] = []
    const countdown = await client.callTool({ name: 'countdown', arguments: { from: 3, intervalMs: 0 } }, undefined, { onprogress: (p) => { progress.push(p.progress) } })
    t.same(countdown.content, [{ type: 'text', text: 'liftoff' }])
    t.same(progress, [1, 2, 3], 'every progress notification, once, in order')
    t.same(logs, [{ countdown: 3 }, { countdown: 2 }, { countdown: 1 }], 'every log message, once, in order')
    t.same((await client.callTool({ name: 'whoami', arguments: {} })).content, [{ type: 'text', text: 'hello Ada' }], 'the elicitation answered by the client\'s handler')

    // The client's GET stream, wherever the balancer sent it, hears of a tool added on A.
    const history = `${prefix}{${sessionId}}:e:${standaloneStreamId(sessionId)}`
    await eventually(() => Number(server.cli('xlen', history)) >= 1, 'the client\'s GET stream to be primed')
    a.app.mcp.tool({ name: 'late', description: 'added on A', inputSchema: Type.Object({}) }, async () => 'ok')
    await within(listChanged.promise, 'tools/list_changed to reach the SDK client')

    await transport.terminateSession()
    t.equal(transport.sessionId, undefined)
    await client.close()
    const headers = postHeaders({ 'mcp-session-id': sessionId, 'mcp-protocol-version': LATEST })
    for (const node of instances) t.equal((await send(node, 'POST', headers, rpc(1, 'ping'))).status, 404, `${node.name}: the terminated session answers 404`)

    t.equal(listChanges, 1, 'tools/list_changed once')
    t.same(routed.filter((r) => r.method !== 'GET'), [
      { node: 'A', method: 'POST', rpc: 'initialize' },
      { node: 'B', method: 'POST', rpc: 'notifications/initialized' },
      { node: 'A', method: 'POST', rpc: 'tools/list' },
      { node: 'B', method: 'POST', rpc: 'tools/call' },
      { node: 'A', method: 'POST', rpc: 'tools/call' },
      { node: 'B', method: 'POST', rpc: 'tools/call' },
      { node: 'A', method: 'POST', rpc: 'response' },
      { node: 'B', method: 'DELETE', rpc: '' }
    ], 'every request alternated between A and B')
    t.same(ran, ['B'], 'the elicitation ran on B and its answer was POSTed to A')
    t.ok(routed.some((r) => r.method === 'GET'), 'the client opened its GET stream through the balancer')
  })

  /** `chatty` logs at info, then answers: with logLevel error nothing but the answer comes back. */
  function chattyTool (app: FastifyInstance): void {
    app.mcp.tool({ name: 'chatty', description: 'logs at info', inputSchema: Type.Object({}) }, async (_args, ctx) => {
      await ctx.log('info', 'hello')
      return 'done'
    })
  }

  t.test('nearCache: a change made through one instance reaches the other\'s cache over pub/sub, long before maxAgeMs', async (t) => {
    // Cached records live a minute here: seeing a change within 2 s can only come from an invalidation.
    const { a, b } = await cluster(t, { nearCache: { maxAgeMs: 60_000 } }, chattyTool)
    const session = await openAcross(a, b)
    const chatty = (id: number) => [log('hello'), textResult(id, 'done')]
    // The caches are on: two reads in one tick give the same object (no round trip).
    for (const node of [a, b]) {
      const store = node.app.mcp.sessions
      await eventuallyAsync(async () => {
        const [x, y] = await Promise.all([store.get(session.id), store.get(session.id)])
        return x !== undefined && x === y
      }, `${node.name} to answer from its near-cache`)
    }

    // Each setLevel, then a call on the other instance, whose cached record is the old one.
    let staleFirst = 0
    for (let i = 0; i < 8; i++) {
      const level = i % 2 === 0 ? 'error' : 'debug'
      const [setter, user] = Math.floor(i / 2) % 2 === 0 ? [b, a] : [a, b]
      const set = await send(setter, 'POST', session.headers, rpc(`level-${i}`, 'logging/setLevel', { level }))
      t.same(answerOf(set), [{ jsonrpc: '2.0', id: `level-${i}`, result: {} }])
      let answer: any[] = []
      const id = 100 * i
      const tries = await eventuallyAsync(async () => {
        answer = answerOf(await send(user, 'POST', session.headers, callTool(id, 'chatty', {})))
        return (answer.length === 1) === (level === 'error')
      }, `setLevel ${level} on ${setter.name} to reach ${user.name}`)
      if (tries > 1) staleFirst++
      t.same(answer, level === 'error' ? [textResult(id, 'done')] : chatty(id), `setLevel ${level} on ${setter.name} is seen by ${user.name}`)
    }
    // Not asserted: the invalidation travels after the write is acknowledged (see the report).
    t.comment(`${staleFirst} of 8 first calls right after a setLevel on the other instance still saw the old level`)

    t.equal((await send(b, 'DELETE', session.headers)).status, 204)
    await eventuallyAsync(async () => await ping(a, session) === 404, 'a DELETE on B to reach A')
    t.pass('a DELETE on B is seen by A')
  })

  t.test('nearCache: invalidations published while an instance\'s subscriber was reconnecting are not lost', async (t) => {
    const { a, b, prefix } = await cluster(t, { nearCache: { maxAgeMs: 60_000 } }, chattyTool)
    const session = await openCached(a, b)
    // A network blip on the subscriber connections; A changes the level meanwhile.
    server.cli('client', 'kill', 'type', 'pubsub')
    t.same(answerOf(await send(a, 'POST', session.headers, rpc(1, 'logging/setLevel', { level: 'error' }))), [{ jsonrpc: '2.0', id: 1, result: {} }])
    await eventually(() => server.cli('pubsub', 'numsub', `${prefix}ch:sessions`).split('\n')[1] === '2', 'both subscribers to be back', 5000)
    t.same(answerOf(await send(b, 'POST', session.headers, callTool(2, 'chatty', {}))), [textResult(2, 'done')], 'B sees level error')
  })
})
