// Resumable SSE streams over real sockets: event ids, priming events (2025-11-25 only),
// Last-Event-ID replay of POST streams (cut mid-stream, while the handler runs and after it
// finished), the standalone GET stream across disconnections, cross-session and made-up ids,
// half-dead reconnections (the newest connection wins), resumes racing an event store that
// answers late, ctx.closeStream() (SSE polling), maxStreamDurationMs, the official SDK
// client's own reconnection, and resumability: false.
import http from 'node:http'
import t, { type Test } from 'tap'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { MemoryEventStore, type McpPluginOptions } from '../lib/index.js'
import { callTool, deferred, openSessionHttp, request, rpc, serve, streamHeaders, StreamReader, type Deferred, type Session, type SseEvent, within } from './helpers/index.js'

/** A `retry:` value nothing else produces, so seeing it proves it came from `sseRetryMs`. */
const RETRY = 1234
/** `<streamId>.<seq>`: the stream part is what formatEventId() builds stream ids from. */
const EVENT_ID = /^([A-Za-z0-9_-]+)\.(\d+)$/

/** Open a request and close it at teardown (a no-op once it has ended). */
async function open (t: Test, url: URL, method: string, headers: Record<string, string>, body?: unknown): Promise<StreamReader> {
  const reader = await request(url, method, headers, body)
  t.teardown(() => reader.destroy())
  return reader
}

function streamOf (eventId: string | undefined): string {
  const match = EVENT_ID.exec(eventId ?? '')
  if (match === null) throw new Error(`not an event id: ${String(eventId)}`)
  return match[1]!
}

function seqOf (eventId: string | undefined): number {
  return Number(EVENT_ID.exec(eventId ?? '')![2])
}

/** The id of the last event that has one (a closing `retry:` block has none). */
function lastIdOf (events: readonly SseEvent[]): string {
  const id = events.findLast((e) => e.id !== undefined)?.id
  if (id === undefined) throw new Error('no event with an id')
  return id
}

function messagesOf (events: readonly SseEvent[]): any[] {
  return events.filter((e) => e.data !== '').map((e) => JSON.parse(e.data))
}

function textResult (id: number, text: string): Record<string, unknown> {
  return { jsonrpc: '2.0', id, result: { content: [{ type: 'text', text }] } }
}

/** Exactly what the demo countdown sends for `from` with a progress token, response last. */
function countdownMessages (id: number, from: number, progressToken: string): any[] {
  const messages: any[] = []
  for (let n = from; n >= 1; n--) {
    messages.push({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken, progress: from - n + 1, total: from, message: `T-${n}` } })
    messages.push({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: { countdown: n } } })
  }
  messages.push(textResult(id, 'liftoff'))
  return messages
}

function progressMessages (progressToken: string, from: number, to: number): any[] {
  const messages: any[] = []
  for (let p = from; p <= to; p++) messages.push({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken, progress: p } })
  return messages
}

// Distinct notifications on the GET stream: `notifications/resources/updated` for `note://<n>`.

function registerNotes (app: FastifyInstance): void {
  app.mcp.resourceTemplate({ uriTemplate: 'note://{n}', name: 'note' }, async (uri) => uri)
}

async function subscribeNotes (url: URL, session: Session, count: number): Promise<void> {
  for (let n = 1; n <= count; n++) {
    const res = await request(url, 'POST', session.headers, rpc(100 + n, 'resources/subscribe', { uri: `note://${n}` }))
    await res.waitEnd()
    if (res.status !== 200 || JSON.parse(res.raw).result === undefined) throw new Error(`subscribe failed: ${res.raw}`)
  }
}

/** The demo server with the note template and `options`, and a session subscribed to notes 1..`count`. */
async function notesSession (t: Test, options: McpPluginOptions, count: number): Promise<{ app: FastifyInstance, url: URL, session: Session }> {
  const { app, url } = await serve(t, { demo: true, options, setup: registerNotes })
  const session = await openSessionHttp(url)
  await subscribeNotes(url, session, count)
  return { app, url, session }
}

/** Send the update of note `n`; resolves how many sessions' GET streams took it. */
function note (app: FastifyInstance, n: number): Promise<number> {
  return app.mcp.notifyResourceUpdated(`note://${n}`)
}

/** The note numbers among the messages, in arrival order (anything else is a failure). */
function notes (messages: any[]): number[] {
  return messages.map((m) => {
    if (m.method !== 'notifications/resources/updated') throw new Error(`unexpected message ${JSON.stringify(m)}`)
    return Number(String(m.params.uri).slice('note://'.length))
  })
}

function range (from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i)
}

// Server-side probes and a reader that stops reading.

/** Server side: resolves when the socket of the request carrying `x-probe: <probe>` is closed. */
function serverSocketClosed (app: FastifyInstance, probe: string): Promise<void> {
  const closed = deferred()
  app.server.on('request', (incoming: http.IncomingMessage) => {
    if (incoming.headers['x-probe'] === probe) incoming.socket.once('close', () => closed.resolve())
  })
  return within(closed.promise, `the server to see the ${probe} connection close`)
}

/** Server side: the response of the request carrying `x-probe: <probe>`. */
function serverResponse (app: FastifyInstance, probe: string): Promise<http.ServerResponse> {
  const found = deferred<http.ServerResponse>()
  app.server.on('request', (incoming: http.IncomingMessage, response: http.ServerResponse) => {
    if (incoming.headers['x-probe'] === probe) found.resolve(response)
  })
  return within(found.promise, `the ${probe} request to reach the server`)
}

/** A GET whose response is never read (paused as soon as its headers arrive): a half-dead connection. */
function stalledGet (url: URL, headers: Record<string, string>): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'GET', headers, agent: false }, (response) => {
      response.pause()
      resolve(response)
    })
    req.on('error', reject)
    req.end()
  })
}

/** Poll a server-side condition that no event reports (checked every 10 ms, up to `ms`). */
async function eventually (predicate: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

// Event stores that let a test see or steer what the plugin stores.

/** A memory event store that says when a stream's end has been recorded (its request answered). */
class EndSpyStore extends MemoryEventStore {
  readonly #ended = new Map<string, Deferred<void>>()
  whenEnded (streamId: string): Promise<void> { return within(this.#slot(streamId).promise, `stream ${streamId} to end`) }
  override async end (sessionId: string, streamId: string): Promise<void> {
    await super.end(sessionId, streamId)
    this.#slot(streamId).resolve()
  }

  #slot (streamId: string): Deferred<void> {
    let slot = this.#ended.get(streamId)
    if (slot === undefined) this.#ended.set(streamId, slot = deferred())
    return slot
  }
}

/**
 * A memory event store whose appends can be held back, like a remote store (Redis, SQL) that
 * answers later: a reconnection can then arrive while a message is still being stored.
 */
class HeldStore extends MemoryEventStore {
  #held: { release: Deferred<void>, waiting: Deferred<string> } | undefined
  /** Hold appends from now on; resolves the data of the first one held. */
  hold (): Promise<string> {
    const held = { release: deferred(), waiting: deferred<string>() }
    this.#held = held
    return within(held.waiting.promise, 'an append to be held')
  }

  release (): void {
    const held = this.#held
    this.#held = undefined
    held?.release.resolve()
  }

  override async append (sessionId: string, streamId: string, data: string): Promise<string> {
    const held = this.#held
    if (held !== undefined) {
      held.waiting.resolve(data)
      await held.release.promise
    }
    return super.append(sessionId, streamId, data)
  }
}

// Tools that pause, so a handler is provably still running while the client reconnects.

/** The demo countdown's messages (same shape, same order), paused after step `pauseAfter` until `gate` opens. */
function gatedCountdown (paused: Deferred<void>, gate: Deferred<void>) {
  return (app: FastifyInstance) => app.mcp.tool({
    name: 'gated-countdown',
    description: 'countdown that pauses',
    inputSchema: Type.Object({ from: Type.Integer(), pauseAfter: Type.Integer() })
  }, async ({ from, pauseAfter }, ctx) => {
    for (let n = from; n >= 1; n--) {
      const step = from - n + 1
      await ctx.progress(step, from, `T-${n}`)
      await ctx.log('info', { countdown: n })
      if (step === pauseAfter) {
        paused.resolve()
        await gate.promise
      }
    }
    return 'liftoff'
  })
}

/** Progress 1..`total` (awaited), pausing after `pauseAfter` until `gate` opens, then 'stepped'. */
function steppingTool (paused: Deferred<void>, gate: Deferred<void>) {
  return (app: FastifyInstance) => app.mcp.tool({
    name: 'steps',
    description: 'progress with a pause',
    inputSchema: Type.Object({ total: Type.Integer(), pauseAfter: Type.Integer() })
  }, async ({ total, pauseAfter }, ctx) => {
    for (let p = 1; p <= total; p++) {
      await ctx.progress(p)
      if (p === pauseAfter) {
        paused.resolve()
        await gate.promise
      }
    }
    return 'stepped'
  })
}

/**
 * A `steps` call (progress token 's') on a HeldStore-backed server, its connection cut while the
 * handler is paused after `pauseAfter`; then the store holds the next append and the handler
 * goes on. `held` is that append's message, not yet stored.
 */
async function cutPostThenHold (t: Test, id: number, steps: { total: number, pauseAfter: number }) {
  const store = new HeldStore()
  const paused = deferred()
  const gate = deferred()
  const { app, url } = await serve(t, { demo: true, options: { eventStore: store }, setup: steppingTool(paused, gate) })
  const session = await openSessionHttp(url)
  const closed = serverSocketClosed(app, 'post')
  const post = await open(t, url, 'POST', { ...session.headers, 'x-probe': 'post' }, callTool(id, 'steps', steps, 's'))
  await within(paused.promise, 'the handler to pause')
  await post.until((r) => r.messages().length >= steps.pauseAfter)
  post.destroy()
  await closed

  const held = store.hold()
  gate.resolve()
  return { store, url, session, lastEventId: lastIdOf(post.events), held: JSON.parse(await held) }
}

t.test('event ids: on every event of POST and GET streams, <streamId>.<seq>, unique in the session; none without resumability', async (t) => {
  t.test('resumability on', async (t) => {
    const { app, url } = await serve(t, { demo: true })
    const session = await openSessionHttp(url)
    const get = await open(t, url, 'GET', streamHeaders(session))
    t.equal(get.status, 200)
    await get.until((r) => r.events.length >= 1)
    const post1 = await open(t, url, 'POST', session.headers, callTool(1, 'countdown', { from: 3, intervalMs: 0 }, 'a'))
    await post1.waitEnd()
    const post2 = await open(t, url, 'POST', session.headers, callTool(2, 'countdown', { from: 2, intervalMs: 0 }, 'b'))
    await post2.waitEnd()
    app.mcp.tool({ name: 'late', description: 'added after listen', inputSchema: Type.Object({}) }, async () => 'ok')
    await get.until((r) => r.messages().length >= 1)

    t.same(post1.messages(), countdownMessages(1, 3, 'a'), 'the first POST stream is complete')
    t.same(post2.messages(), countdownMessages(2, 2, 'b'), 'the second POST stream is complete')
    const streams = [post1, post2, get].map((reader) => reader.events)
    const all = streams.flat()
    t.equal(all.length, (1 + 7) + (1 + 5) + (1 + 1), 'priming + messages on each stream')
    t.ok(all.every((e) => e.id !== undefined && EVENT_ID.test(e.id)), 'every event carries an id of the form <streamId>.<seq>')
    t.equal(new Set(all.map((e) => e.id)).size, all.length, 'ids are unique within the session')
    const streamIds = streams.map((events) => new Set(events.map((e) => streamOf(e.id))))
    t.same(streamIds.map((ids) => ids.size), [1, 1, 1], 'one stream part per stream')
    t.equal(new Set(streamIds.map((ids) => [...ids][0])).size, 3, 'two POST streams and the GET stream: three different stream parts')
    for (const events of streams) {
      const seqs = events.map((e) => seqOf(e.id))
      t.ok(seqs.every((seq, i) => i === 0 || seq > seqs[i - 1]!), `sequence numbers increase within a stream (${seqs.join(',')})`)
    }
  })

  t.test('resumability off', async (t) => {
    const { app, url } = await serve(t, { demo: true, options: { resumability: false, sseRetryMs: RETRY } })
    const session = await openSessionHttp(url)
    const get = await open(t, url, 'GET', streamHeaders(session))
    t.equal(get.status, 200)
    const post = await open(t, url, 'POST', session.headers, callTool(1, 'countdown', { from: 3, intervalMs: 0 }, 'a'))
    await post.waitEnd()
    app.mcp.tool({ name: 'late', description: 'added after listen', inputSchema: Type.Object({}) }, async () => 'ok')
    await get.until((r) => r.messages().length >= 1)

    t.equal(post.headers['content-type'], 'text/event-stream')
    t.same(post.messages(), countdownMessages(1, 3, 'a'))
    t.equal(post.events.length, 7, 'no priming event on the POST: only the seven messages')
    t.same(get.messages(), [{ jsonrpc: '2.0', method: 'notifications/tools/list_changed' }])
    t.equal(get.events.length, 1, 'no priming event on the GET')
    for (const reader of [post, get]) {
      t.ok(reader.events.every((e) => e.id === undefined && e.retry === undefined), 'no id and no retry on any event')
      t.match(reader.raw, /^(event: message\ndata: [^\n]+\n\n)+$/, 'nothing but plain message events on the wire')
    }
  })
})

t.test('priming: 2025-11-25 streams open with an id, retry and empty data; older sessions get ids but no priming', async (t) => {
  const { app, url } = await serve(t, { demo: true, options: { sseRetryMs: RETRY } })
  /** A countdown POST and a GET (seeing one list_changed) of a session, with the given version header. */
  async function streamsOf (session: Session, versionHeader = session.protocolVersion): Promise<{ post: StreamReader, get: StreamReader }> {
    const post = await open(t, url, 'POST', { ...session.headers, 'mcp-protocol-version': versionHeader }, callTool(1, 'countdown', { from: 2, intervalMs: 0 }, 'tok'))
    await post.waitEnd()
    t.same(post.messages(), countdownMessages(1, 2, 'tok'), `${session.protocolVersion}: the POST stream is complete`)
    const get = await open(t, url, 'GET', streamHeaders(session, { 'mcp-protocol-version': versionHeader }))
    t.equal(get.status, 200)
    return { post, get }
  }
  const latest = await streamsOf(await openSessionHttp(url, '2025-11-25'))
  const mismatched = await streamsOf(await openSessionHttp(url, '2025-11-25'), '2025-03-26')
  const v0618 = await streamsOf(await openSessionHttp(url, '2025-06-18'))
  const v0326 = await streamsOf(await openSessionHttp(url, '2025-03-26'))
  const upgraded = await streamsOf(await openSessionHttp(url, '2025-06-18'), '2025-11-25')
  await latest.get.until((r) => r.events.length >= 1)
  await mismatched.get.until((r) => r.events.length >= 1)
  app.mcp.tool({ name: 'late', description: 'added after listen', inputSchema: Type.Object({}) }, async () => 'ok')
  for (const { get } of [latest, mismatched, v0618, v0326, upgraded]) await get.until((r) => r.messages().length >= 1)

  const cases: Array<[string, { post: StreamReader, get: StreamReader }]> = [
    ['2025-11-25', latest],
    ['2025-11-25 session sending MCP-Protocol-Version: 2025-03-26', mismatched]
  ]
  for (const [name, { post, get }] of cases) {
    for (const [what, reader] of [['POST', post], ['GET', get]] as const) {
      const first = reader.events[0]!
      t.match(first, { data: '', retry: RETRY }, `${name} ${what}: the first event is a priming event with retry: sseRetryMs`)
      t.match(first.id, EVENT_ID, `${name} ${what}: the priming event has an id`)
      t.ok(reader.raw.startsWith(`id: ${first.id}\nretry: ${RETRY}\ndata: \n\n`), `${name} ${what}: id, retry and empty data, first on the wire`)
      t.equal(reader.events.filter((e) => e.data === '').length, 1, `${name} ${what}: one priming event only`)
      t.ok(reader.events.every((e) => e.id !== undefined && streamOf(e.id) === streamOf(first.id)), `${name} ${what}: the following messages carry ids of the same stream`)
    }
    t.equal(get.events.length, 2, `${name} GET: priming, then the announcement`)
  }
  const older: Array<[string, { post: StreamReader, get: StreamReader }]> = [
    ['2025-06-18', v0618],
    ['2025-03-26', v0326],
    ['2025-06-18 session sending MCP-Protocol-Version: 2025-11-25', upgraded]
  ]
  for (const [name, { post, get }] of older) {
    for (const [what, reader] of [['POST', post], ['GET', get]] as const) {
      t.ok(reader.events.every((e) => e.data !== ''), `${name} ${what}: no priming event (no empty data)`)
      t.ok(reader.events.every((e) => e.id !== undefined && EVENT_ID.test(e.id)), `${name} ${what}: every event still has an id`)
      t.notMatch(reader.raw, /^retry:/m, `${name} ${what}: no retry field`)
    }
    t.same(get.messages(), [{ jsonrpc: '2.0', method: 'notifications/tools/list_changed' }], `${name} GET: only the announcement`)
  }
})

t.test('a POST stream cut mid-way is resumed with Last-Event-ID: every message once, in order, the response last', async (t) => {
  const FROM = 500 // 500 progress + 500 log messages + the response
  const TOTAL = 2 * FROM + 1

  /** The resumed stream: the same stream's ids, continuing after the last one received, and no priming or retry. */
  function checkResumed (t: Tap, received: readonly SseEvent[], resumed: StreamReader): void {
    const last = lastIdOf(received)
    t.equal(resumed.status, 200)
    t.equal(resumed.headers['content-type'], 'text/event-stream')
    t.ok(resumed.events.every((e) => e.data !== '' && e.retry === undefined), 'no priming event and no retry on the resumed connection')
    t.ok(resumed.events.every((e) => streamOf(e.id) === streamOf(last)), 'the resumed events belong to the cut stream')
    const seqs = resumed.events.map((e) => seqOf(e.id))
    t.ok(seqs.length > 0 && seqs[0]! > seqOf(last) && seqs.every((seq, i) => i === 0 || seq > seqs[i - 1]!), 'their ids continue after Last-Event-ID, increasing')
  }

  for (const cutAfter of [100, 1]) {
    t.test(`cut after ${cutAfter} event(s), resumed while the handler is still running`, async (t) => {
      const paused = deferred()
      const gate = deferred()
      const PAUSE_AFTER = 250 // steps: the first 500 messages are sent before the pause
      const { url } = await serve(t, { demo: true, options: { sseRetryMs: RETRY }, setup: gatedCountdown(paused, gate) })
      const session = await openSessionHttp(url)
      const post = await open(t, url, 'POST', session.headers, callTool(7, 'gated-countdown', { from: FROM, pauseAfter: PAUSE_AFTER }, 'tok'))
      t.equal(post.headers['content-type'], 'text/event-stream')
      await post.until((r) => r.events.length >= cutAfter)
      post.destroy()
      const received = post.events.slice(0, cutAfter)
      if (cutAfter === 1) t.match(received[0], { data: '', retry: RETRY }, 'the only event kept is the priming event')
      await within(paused.promise, 'the handler to reach its pause')

      const resumed = await open(t, url, 'GET', streamHeaders(session, { 'last-event-id': lastIdOf(received) }))
      const beforePause = 2 * PAUSE_AFTER - messagesOf(received).length
      await resumed.until((r) => r.messages().length >= beforePause)
      t.equal(resumed.messages().length, beforePause, 'the replay brings exactly what was sent before the pause and not received')
      t.notOk(resumed.ended, 'the resumed connection stays open while the handler runs')
      t.notOk(resumed.messages().some((m) => m.id !== undefined), 'no response yet')

      gate.resolve()
      await resumed.waitEnd()
      t.ok(resumed.ended, 'the resumed connection ends after the response')
      t.equal(resumed.messages().length, TOTAL - messagesOf(received).length, 'what was sent after the resume arrived live on it')
      const all = [...messagesOf(received), ...resumed.messages()]
      t.equal(all.length, TOTAL)
      t.same(all, countdownMessages(7, FROM, 'tok'), 'every message exactly once, in order, the response last')
      checkResumed(t, received, resumed)
    })

    t.test(`cut after ${cutAfter} event(s), resumed after the handler finished`, async (t) => {
      const store = new EndSpyStore()
      const { url } = await serve(t, { demo: true, options: { sseRetryMs: RETRY, eventStore: store } })
      const session = await openSessionHttp(url)
      const post = await open(t, url, 'POST', session.headers, callTool(8, 'countdown', { from: FROM, intervalMs: 0 }, 'tok'))
      t.equal(post.headers['content-type'], 'text/event-stream')
      await post.until((r) => r.events.length >= cutAfter)
      post.destroy()
      const received = post.events.slice(0, cutAfter)
      if (cutAfter === 1) t.match(received[0], { data: '', retry: RETRY }, 'the only event kept is the priming event')
      // The end of the stream is recorded once the response is stored: the handler is done.
      await store.whenEnded(streamOf(received[0]!.id))

      const resumed = await open(t, url, 'GET', streamHeaders(session, { 'last-event-id': lastIdOf(received) }))
      await resumed.waitEnd()
      t.ok(resumed.ended, 'the resumed connection ends after the replay')
      const all = [...messagesOf(received), ...resumed.messages()]
      t.equal(all.length, TOTAL)
      t.same(all, countdownMessages(8, FROM, 'tok'), 'every message exactly once, in order, the response last')
      checkResumed(t, received, resumed)
    })
  }
})

t.test('the GET stream across disconnections: what was sent meanwhile arrives once, then live; a plain GET replays nothing', async (t) => {
  const { app, url, session } = await notesSession(t, { sseRetryMs: RETRY }, 15)

  const firstClosed = serverSocketClosed(app, 'first')
  const first = await open(t, url, 'GET', streamHeaders(session, { 'x-probe': 'first' }))
  await first.until((r) => r.events.length >= 1)
  for (const n of range(1, 5)) t.equal(await note(app, n), 1, `note ${n} sent`)
  await first.until((r) => r.messages().length >= 5)
  t.same(notes(first.messages()), range(1, 5))
  first.destroy()
  await firstClosed

  // No connection is open now: the stream keeps these for the client.
  for (const n of range(6, 12)) t.equal(await note(app, n), 1, `note ${n} kept for the disconnected stream`)

  const lastId = lastIdOf(first.events)
  const resumedClosed = serverSocketClosed(app, 'resumed')
  const resumed = await open(t, url, 'GET', streamHeaders(session, { 'last-event-id': lastId, 'x-probe': 'resumed' }))
  t.equal(resumed.status, 200)
  await resumed.until((r) => r.messages().length >= 7)
  t.same(notes(resumed.messages()), range(6, 12), 'everything sent while disconnected, once, in order; nothing received before')
  t.ok(resumed.events.every((e) => e.data !== ''), 'no priming event on the resumed connection')
  t.ok(resumed.events.every((e) => streamOf(e.id) === streamOf(lastId) && seqOf(e.id) > seqOf(lastId)), 'the same stream, after Last-Event-ID')
  t.notOk(resumed.ended, 'the resumed GET stays open')
  t.equal(await note(app, 13), 1)
  await resumed.until((r) => r.messages().length >= 8)
  t.same(notes(resumed.messages()), range(6, 13), 'later notifications arrive live')

  // A GET without Last-Event-ID starts afresh: what was sent while disconnected is not replayed.
  resumed.destroy()
  await resumedClosed
  t.equal(await note(app, 14), 1, 'note 14 kept for the disconnected stream')
  const plain = await open(t, url, 'GET', streamHeaders(session))
  await plain.until((r) => r.events.length >= 1)
  t.match(plain.events[0], { data: '', retry: RETRY }, 'a plain GET is primed like a new one')
  t.equal(await note(app, 15), 1)
  await plain.until((r) => r.messages().length >= 1)
  t.same(notes(plain.messages()), [15], 'only what is sent after it: no replay of older events')
  t.notOk(plain.ended)
})

t.test('Last-Event-ID from another session or made up: 400 with a JSON-RPC error, nothing replayed', async (t) => {
  const paused = deferred()
  const gate = deferred()
  const { app, url } = await serve(t, { demo: true, setup: gatedCountdown(paused, gate) })
  const a = await openSessionHttp(url)
  const b = await openSessionHttp(url)

  // A: a finished POST stream, a live one (handler paused), and its GET stream.
  const done = await open(t, url, 'POST', a.headers, callTool(1, 'countdown', { from: 2, intervalMs: 0 }, 'a'))
  await done.waitEnd()
  const livePost = await open(t, url, 'POST', a.headers, callTool(2, 'gated-countdown', { from: 2, pauseAfter: 1 }, 'live'))
  await within(paused.promise, 'the handler to pause')
  await livePost.until((r) => r.messages().length >= 2)
  const aGet = await open(t, url, 'GET', streamHeaders(a))
  await aGet.until((r) => r.events.length >= 1)
  // B: a GET stream with a message in its history.
  const bGet = await open(t, url, 'GET', streamHeaders(b))
  await bGet.until((r) => r.events.length >= 1)
  app.mcp.tool({ name: 'late', description: 'added after listen', inputSchema: Type.Object({}) }, async () => 'ok')
  await bGet.until((r) => r.messages().length >= 1)
  await aGet.until((r) => r.messages().length >= 1)

  const foreign: Array<[string, string]> = [
    ["A's finished POST stream", lastIdOf(done.events)],
    ["A's live POST stream", lastIdOf(livePost.events)],
    ["A's GET stream", lastIdOf(aGet.events)],
    ["A's GET stream, priming id", aGet.events[0]!.id!],
    ['garbage', 'garbage'],
    ['x.1', 'x.1'],
    ['p.99999999', 'p.99999999']
  ]
  for (const [name, lastEventId] of foreign) {
    const res = await open(t, url, 'GET', streamHeaders(b, { 'last-event-id': lastEventId }))
    await res.waitEnd()
    t.equal(res.status, 400, `${name}: 400`)
    t.match(res.headers['content-type'], /^application\/json/, `${name}: a JSON body, not a stream`)
    t.match(JSON.parse(res.raw), { jsonrpc: '2.0', id: null, error: { code: -32000, message: /Last-Event-ID/ } }, `${name}: JSON-RPC error -32000`)
    t.same(Object.keys(JSON.parse(res.raw)).sort(), ['error', 'id', 'jsonrpc'], `${name}: the error only`)
  }
  t.notOk(bGet.ended, "B's GET connection is untouched by the refused requests")
  t.notOk(aGet.ended, "A's GET connection is untouched")
  t.notOk(livePost.ended, "A's live POST connection is untouched")
  gate.resolve()
  await livePost.waitEnd()
  t.same(livePost.messages(), countdownMessages(2, 2, 'live'), "A's live POST stream still delivers its response to A")

  // B's own GET stream with a sequence number it never issued: the stream is B's, so the
  // connection is accepted (200) and takes the stream over, but nothing is replayed.
  const beyond = `${streamOf(bGet.events[0]!.id)}.99999999`
  const own = await open(t, url, 'GET', streamHeaders(b, { 'last-event-id': beyond }))
  t.equal(own.status, 200, "B's own stream, seq never issued: 200")
  t.equal(own.headers['content-type'], 'text/event-stream')
  await bGet.waitEnd()
  t.ok(bGet.ended, "B's previous GET connection was replaced")
  app.mcp.tool({ name: 'later', description: 'added after listen', inputSchema: Type.Object({}) }, async () => 'ok')
  await own.until((r) => r.messages().length >= 1)
  t.same(own.messages(), [{ jsonrpc: '2.0', method: 'notifications/tools/list_changed' }], 'nothing replayed, only the live announcement')
  t.equal(own.events.length, 1, 'no priming event either')
  t.equal(streamOf(own.events[0]!.id), streamOf(beyond), "it carries B's GET stream")

  const unknown = await open(t, url, 'GET', { ...streamHeaders(b), 'mcp-session-id': 'no-such-session', 'last-event-id': aGet.events[0]!.id! })
  await unknown.waitEnd()
  t.equal(unknown.status, 404, 'unknown session: 404')
  t.same(JSON.parse(unknown.raw), { jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Session not found' } })
})

t.test('half-dead reconnection: a second connection for the same stream takes over, the older one is ended', async (t) => {
  t.test('a POST stream resumed while its first connection is still open', async (t) => {
    const paused = deferred()
    const gate = deferred()
    const { url } = await serve(t, { demo: true, setup: steppingTool(paused, gate) })
    const session = await openSessionHttp(url)
    const old = await open(t, url, 'POST', session.headers, callTool(3, 'steps', { total: 30, pauseAfter: 20 }, 's'))
    await within(paused.promise, 'the handler to pause')
    await old.until((r) => r.messages().length >= 20)
    t.same(old.messages(), progressMessages('s', 1, 20))

    // The client believes it lost everything after progress 10 (events[0] is the priming event).
    const resumeFrom = old.events[10]!
    t.same(JSON.parse(resumeFrom.data).params.progress, 10)
    const takeover = await open(t, url, 'GET', streamHeaders(session, { 'last-event-id': resumeFrom.id! }))
    t.equal(takeover.status, 200)
    await old.waitEnd()
    t.ok(old.ended, 'the older connection was ended by the server')
    await takeover.until((r) => r.messages().length >= 10)
    t.same(takeover.messages(), progressMessages('s', 11, 20), 'the new connection gets the events after Last-Event-ID')

    gate.resolve()
    await takeover.waitEnd()
    t.same(takeover.messages(), [...progressMessages('s', 11, 30), textResult(3, 'stepped')], 'and the rest, live, then the response')
    t.same(old.messages(), progressMessages('s', 1, 20), 'the older connection received nothing after the takeover')
  })

  t.test('a POST stream resumed while the older connection is stuck in a replay (reader not reading)', async (t) => {
    const paused = deferred()
    const gate = deferred()
    const big = 'x'.repeat(16 * 1024)
    const COUNT = 2000 // ~32 MB of history: far more than a reader that does not read can buffer
    const { app, url } = await serve(t, {
      demo: true,
      options: { maxEventBytesPerStream: 256 * 1024 * 1024, maxEventBytes: 256 * 1024 * 1024, slowReaderTimeoutMs: 60_000 },
      setup: (app) => app.mcp.tool({
        name: 'flood',
        description: 'many large log messages, then a pause',
        inputSchema: Type.Object({})
      }, async (_args, ctx) => {
        for (let i = 1; i <= COUNT; i++) await ctx.log('info', { i, big })
        paused.resolve()
        await gate.promise
        return 'flooded'
      })
    })
    t.teardown(() => gate.resolve())
    const session = await openSessionHttp(url)
    const post = await open(t, url, 'POST', session.headers, callTool(9, 'flood', {}))
    await post.until((r) => r.events.length >= 1)
    post.destroy()
    const primingId = post.events[0]!.id!
    await within(paused.promise, 'the handler to pause', 30_000)

    // First resume: the client stops reading, so the replay waits for the socket to drain.
    const stuckResponse = serverResponse(app, 'stuck')
    const stuck = await stalledGet(url, streamHeaders(session, { 'last-event-id': primingId, 'x-probe': 'stuck' }))
    t.teardown(() => stuck.destroy())
    const serverSide = await stuckResponse
    await eventually(() => serverSide.writableNeedDrain, 'the replay to the stuck connection to back up')

    // The client gives up on it and reconnects: the new connection must win at once.
    const fresh = await open(t, url, 'GET', streamHeaders(session, { 'last-event-id': primingId }))
    t.equal(fresh.status, 200)
    // (Counting events, not parsed messages: each check runs on every chunk of ~32 MB.)
    await fresh.until((r) => r.events.length >= 1)
    t.pass('the new connection receives the replay while the older one is stuck')
    await fresh.until((r) => r.events.length >= COUNT, 30_000)
    t.same(fresh.messages().map((m) => m.params.data.i), range(1, COUNT), 'every message once, in order')
    gate.resolve()
    await fresh.waitEnd()
    t.same(fresh.messages().at(-1), textResult(9, 'flooded'), 'then the response')

    const old = new StreamReader(stuck)
    stuck.resume()
    await old.waitEnd(30_000)
    t.ok(old.ended, 'the older connection was ended')
    t.notOk(old.messages().some((m) => m.id === 9), 'without the response')
  })

  t.test('the standalone GET stream: a plain second GET, then a Last-Event-ID GET, each replaces the open one', async (t) => {
    const { app, url, session } = await notesSession(t, {}, 3)

    const first = await open(t, url, 'GET', streamHeaders(session))
    await first.until((r) => r.events.length >= 1)
    t.equal(await note(app, 1), 1)
    await first.until((r) => r.messages().length >= 1)

    const second = await open(t, url, 'GET', streamHeaders(session))
    t.equal(second.status, 200)
    await first.waitEnd()
    t.ok(first.ended, 'a plain second GET ends the first connection')
    await second.until((r) => r.events.length >= 1)
    t.equal(await note(app, 2), 1)
    await second.until((r) => r.messages().length >= 1)
    t.same(notes(second.messages()), [2], 'the second GET carries the stream')

    // A client that never saw note 2 reconnects with the id of note 1, over a still-open second connection.
    const third = await open(t, url, 'GET', streamHeaders(session, { 'last-event-id': lastIdOf(first.events) }))
    t.equal(third.status, 200)
    await second.waitEnd()
    t.ok(second.ended, 'the Last-Event-ID GET ends the second connection')
    await third.until((r) => r.messages().length >= 1)
    t.equal(await note(app, 3), 1)
    await third.until((r) => r.messages().length >= 2)
    t.same(notes(third.messages()), [2, 3], 'note 2 replayed, note 3 live')
    t.notOk(third.ended)
    t.same(notes(first.messages()), [1], 'the first connection received nothing after being replaced')
    t.same(notes(second.messages()), [2], 'the second connection received nothing after being replaced')
  })
})

t.test('a resume racing a message still being stored (asynchronous event store): once each, in order', async (t) => {
  t.test('a progress notification pending in the store when the POST stream is resumed', async (t) => {
    const { store, url, session, lastEventId, held } = await cutPostThenHold(t, 1, { total: 8, pauseAfter: 5 })
    t.match(held, { method: 'notifications/progress', params: { progress: 6 } }, 'progress 6 is being stored')
    // The GET's headers arrive once the server has taken the resume; only then is the append released.
    const resumed = await open(t, url, 'GET', streamHeaders(session, { 'last-event-id': lastEventId }))
    t.equal(resumed.status, 200)
    store.release()
    await resumed.waitEnd()
    t.same(resumed.messages(), [...progressMessages('s', 6, 8), textResult(1, 'stepped')], 'progress 6 once, before 7 and 8, then the response')
  })

  t.test('the response pending in the store when the POST stream is resumed', async (t) => {
    const { store, url, session, lastEventId, held } = await cutPostThenHold(t, 2, { total: 3, pauseAfter: 3 })
    t.same(held, textResult(2, 'stepped'), 'the response is being stored')
    const resumed = await open(t, url, 'GET', streamHeaders(session, { 'last-event-id': lastEventId }))
    t.equal(resumed.status, 200)
    store.release()
    await resumed.waitEnd()
    t.ok(resumed.ended, 'the resumed connection ends')
    t.same(resumed.messages(), [textResult(2, 'stepped')], 'after delivering the response once')
  })

  t.test('a notification pending in the store when the GET stream is resumed', async (t) => {
    const store = new HeldStore()
    const { app, url, session } = await notesSession(t, { eventStore: store }, 4)
    const closed = serverSocketClosed(app, 'get')
    const first = await open(t, url, 'GET', streamHeaders(session, { 'x-probe': 'get' }))
    await first.until((r) => r.events.length >= 1)
    t.equal(await note(app, 1), 1)
    t.equal(await note(app, 2), 1)
    await first.until((r) => r.messages().length >= 2)
    first.destroy()
    await closed

    const held = store.hold()
    t.equal(await note(app, 3), 1)
    t.match(JSON.parse(await held), { params: { uri: 'note://3' } }, 'note 3 is being stored')
    const resumed = await open(t, url, 'GET', streamHeaders(session, { 'last-event-id': lastIdOf(first.events) }))
    t.equal(resumed.status, 200)
    store.release()
    t.equal(await note(app, 4), 1)
    await resumed.until((r) => r.messages().length >= 2)
    t.same(notes(resumed.messages()), [3, 4], 'note 3 once, then note 4 live')
    t.notOk(resumed.ended)
  })
})

t.test('ctx.closeStream(): SSE polling on 2025-11-25 with resumability, false otherwise', async (t) => {
  /** A tool that closes its connection, waits for `gate` and answers; it logs before and after if asked. */
  function pollTool (returned: Deferred<boolean>, gate: Deferred<void>) {
    return (app: FastifyInstance) => app.mcp.tool({
      name: 'poll',
      description: 'closes its stream',
      inputSchema: Type.Object({ logBefore: Type.Boolean(), logAfter: Type.Boolean() })
    }, async ({ logBefore, logAfter }, ctx) => {
      if (logBefore) await ctx.log('info', 'before')
      returned.resolve(ctx.closeStream())
      await gate.promise
      if (logAfter) await ctx.log('info', 'after')
      return 'polled'
    })
  }
  const log = (data: string) => ({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data } })

  /** A server with the poll tool and `options`, and a session of revision `rev`. */
  async function pollServer (t: Test, options: McpPluginOptions, rev?: string) {
    const returned = deferred<boolean>()
    const gate = deferred()
    const { url } = await serve(t, { demo: true, options, setup: pollTool(returned, gate) })
    const session = await openSessionHttp(url, rev)
    return { url, session, returned, gate }
  }

  t.test('2025-11-25, closing at once: the POST ends after the priming event, with retry; the response comes on the resumed GET', async (t) => {
    const { url, session, returned, gate } = await pollServer(t, { sseRetryMs: RETRY })
    const post = await open(t, url, 'POST', session.headers, callTool(4, 'poll', { logBefore: false, logAfter: true }))
    t.equal(await within(returned.promise, 'closeStream() to be called'), true, 'closeStream() returns true')
    await post.waitEnd()
    t.ok(post.ended, 'the server ended the POST connection while the handler still runs')
    t.equal(post.headers['content-type'], 'text/event-stream')
    const priming = post.events[0]!
    t.match(priming.id, EVENT_ID)
    t.equal(post.raw, `id: ${priming.id}\nretry: ${RETRY}\ndata: \n\nretry: ${RETRY}\n\n`, 'the priming event, then retry, and nothing else: no response')

    const resumed = await open(t, url, 'GET', streamHeaders(session, { 'last-event-id': priming.id! }))
    t.equal(resumed.status, 200)
    t.notOk(resumed.ended)
    gate.resolve()
    await resumed.waitEnd()
    t.same(resumed.messages(), [log('after'), textResult(4, 'polled')], 'what was sent meanwhile and the response arrive on the resumed GET')
    t.ok(resumed.events.every((e) => streamOf(e.id) === streamOf(priming.id)), 'on the same stream')
  })

  t.test('2025-11-25, closing after a message: that message, then retry; the rest on the resumed GET', async (t) => {
    const { url, session, returned, gate } = await pollServer(t, { sseRetryMs: RETRY })
    const post = await open(t, url, 'POST', session.headers, callTool(5, 'poll', { logBefore: true, logAfter: true }))
    t.equal(await within(returned.promise, 'closeStream() to be called'), true, 'closeStream() returns true')
    await post.waitEnd()
    t.ok(post.ended, 'the server ended the POST connection while the handler still runs')
    t.same(post.messages(), [log('before')], 'no response on the POST')
    const [priming, before, close] = post.events
    t.equal(post.events.length, 3)
    t.match(priming, { data: '', retry: RETRY }, 'priming event first')
    t.same(close, { data: '', retry: RETRY }, 'the connection ends with a retry field')
    t.equal(post.raw, `id: ${priming!.id}\nretry: ${RETRY}\ndata: \n\nid: ${before!.id}\nevent: message\ndata: ${JSON.stringify(log('before'))}\n\nretry: ${RETRY}\n\n`, 'exactly that on the wire')

    const resumed = await open(t, url, 'GET', streamHeaders(session, { 'last-event-id': before!.id! }))
    t.equal(resumed.status, 200)
    t.notOk(resumed.ended)
    gate.resolve()
    await resumed.waitEnd()
    t.same(resumed.messages(), [log('after'), textResult(5, 'polled')], 'the rest and the response arrive on the resumed GET')
  })

  t.test('2025-06-18: closeStream() returns false, the response arrives on the POST as usual', async (t) => {
    const { url, session, returned, gate } = await pollServer(t, {}, '2025-06-18')
    // Nothing is streamed before the answer, so the response headers come with it: not awaited yet.
    const answer = open(t, url, 'POST', session.headers, callTool(6, 'poll', { logBefore: false, logAfter: false }))
    t.equal(await within(returned.promise, 'closeStream() to be called'), false, 'closeStream() returns false')
    gate.resolve()
    const post = await answer
    await post.waitEnd()
    t.equal(post.status, 200)
    t.match(post.headers['content-type'], /^application\/json/, 'nothing was streamed: the answer stays JSON')
    t.same(JSON.parse(post.raw), { jsonrpc: '2.0', id: 6, result: { content: [{ type: 'text', text: 'polled' }] } }, 'the response on the POST')
  })

  t.test('resumability: false: closeStream() returns false, the response arrives on the POST', async (t) => {
    const { url, session, returned, gate } = await pollServer(t, { resumability: false }, '2025-11-25')
    const post = await open(t, url, 'POST', session.headers, callTool(7, 'poll', { logBefore: true, logAfter: true }))
    t.equal(await within(returned.promise, 'closeStream() to be called'), false, 'closeStream() returns false')
    gate.resolve()
    await post.waitEnd()
    t.same(post.messages(), [log('before'), log('after'), textResult(7, 'polled')], 'everything on the POST')
    t.notMatch(post.raw, /^(retry|id):/m, 'no id, no retry')
  })
})

t.test('maxStreamDurationMs: a 2025-11-25 GET connection is rotated with retry and resumed without loss; older sessions are not cut', async (t) => {
  const DURATION = 300
  const { app, url } = await serve(t, { demo: true, options: { maxStreamDurationMs: DURATION, sseRetryMs: RETRY }, setup: registerNotes })
  const latest = await openSessionHttp(url, '2025-11-25')
  const older = await openSessionHttp(url, '2025-06-18')
  await subscribeNotes(url, latest, 3)
  await subscribeNotes(url, older, 3)

  const olderGet = await open(t, url, 'GET', streamHeaders(older))
  t.equal(olderGet.status, 200)
  const started = Date.now()
  const first = await open(t, url, 'GET', streamHeaders(latest))
  await first.until((r) => r.events.length >= 1)
  t.equal(await note(app, 1), 2)
  await first.until((r) => r.messages().length >= 1)
  await first.waitEnd(DURATION + 5000)
  const lived = Date.now() - started
  t.ok(first.ended, 'the server ended the connection')
  t.ok(lived >= DURATION - 5 && lived < DURATION + 2000, `after about maxStreamDurationMs (${lived} ms)`)
  t.same(first.events.at(-1), { data: '', retry: RETRY }, 'with a retry field last')
  t.ok(first.raw.endsWith(`retry: ${RETRY}\n\n`))
  t.same(notes(first.messages()), [1])

  // Sent between the two connections.
  t.equal(await note(app, 2), 2)
  const second = await open(t, url, 'GET', streamHeaders(latest, { 'last-event-id': lastIdOf(first.events) }))
  t.equal(second.status, 200)
  await second.until((r) => r.messages().length >= 1)
  t.same(notes(second.messages()), [2], 'the resume gets what was sent in between, and nothing twice')
  t.equal(await note(app, 3), 2)
  await second.until((r) => r.messages().length >= 2)
  t.same(notes(second.messages()), [2, 3], 'then live')
  await second.waitEnd(DURATION + 5000)
  t.same(second.events.at(-1), { data: '', retry: RETRY }, 'the resumed connection is rotated too')

  // The older session's GET has now been open for two rotations of the other one.
  t.notOk(olderGet.ended, 'the 2025-06-18 GET is not cut')
  t.same(notes(olderGet.messages()), [1, 2, 3], 'and it received everything live')
  t.notMatch(olderGet.raw, /^retry:/m, 'no retry field on it')
})

t.test('the official SDK client follows closeStream(): it reconnects with Last-Event-ID and gets the result', async (t) => {
  const returned = deferred<boolean>()
  let resumes = 0
  const { url } = await serve(t, {
    demo: true,
    options: { sseRetryMs: 50 },
    setup: (app) => {
      app.addHook('onRequest', async (req) => { if (req.method === 'GET' && req.headers['last-event-id'] !== undefined) resumes++ })
      app.mcp.tool({ name: 'slow-poll', description: 'closes its stream, answers 200 ms later', inputSchema: Type.Object({}) }, async (_args, ctx) => {
        returned.resolve(ctx.closeStream())
        await new Promise((resolve) => setTimeout(resolve, 200))
        return 'answered after the reconnect'
      })
    }
  })
  const client = new Client({ name: 'resumability-test', version: '1.0.0' })
  const transport = new StreamableHTTPClientTransport(url)
  // Registered after serve's teardown, so it runs first: the client goes before the server.
  t.teardown(() => client.close().catch(() => {}))
  await client.connect(transport)
  t.equal(transport.protocolVersion, '2025-11-25')

  const result = await within(client.callTool({ name: 'slow-poll', arguments: {} }), 'callTool to resolve')
  t.equal(await returned.promise, true, 'the connection was closed by the tool')
  t.same(result.content, [{ type: 'text', text: 'answered after the reconnect' }])
  t.ok(resumes >= 1, `the client resumed with Last-Event-ID (${resumes} time(s))`)
})

t.test('resumability: false: a GET with Last-Event-ID is a plain standalone stream', async (t) => {
  const { app, url } = await serve(t, { demo: true, options: { resumability: false } })
  const session = await openSessionHttp(url)
  for (const [i, lastEventId] of ['garbage', 'gAAAAAAAAAAAA.1'].entries()) {
    const get = await open(t, url, 'GET', streamHeaders(session, { 'last-event-id': lastEventId }))
    t.equal(get.status, 200, `Last-Event-ID ${lastEventId}: 200`)
    t.equal(get.headers['content-type'], 'text/event-stream')
    app.mcp.tool({ name: `late-${i}`, description: 'added after listen', inputSchema: Type.Object({}) }, async () => 'ok')
    await get.until((r) => r.messages().length >= 1)
    t.same(get.messages(), [{ jsonrpc: '2.0', method: 'notifications/tools/list_changed' }])
    t.match(get.raw, /^(event: message\ndata: [^\n]+\n\n)+$/, 'no priming, no ids')
    get.destroy()
  }
})

interface Tap {
  equal (found: unknown, wanted: unknown, ...message: [string] | []): boolean
  ok (value: unknown, ...message: [string]): boolean
}
