import type { FastifyBaseLogger } from 'fastify'
import type { JsonRpcErrorResponse, JsonRpcResultResponse, RequestId } from '../../schemas/jsonrpc.js'
import { parseEventId, type ReplayResult } from '../stores/event-store.js'
import { FeedStream, type FeedEvent, type FeedSubscribe } from './feed-stream.js'
import type { SseConnection } from '../http/sse-connection.js'
import { SESSION_NOT_FOUND } from '../core/jsonrpc.js'
import { OutboundRequests } from './outbound.js'
import { standaloneStreamId, type LocalStreams } from './local-streams.js'
import type { Connect, SessionFilter, SessionStreams } from './session-streams.js'
import type { SessionRecord } from '../stores/session-store.js'
import type { RedisDeployment } from '../stores/redis.js'
import { RedisKeys } from '../stores/redis-keys.js'
import type { McpTelemetry } from '../telemetry/telemetry.js'

/** The first wait before a failed recovery after a Redis reconnect is tried again; doubles each time. */
const RECOVERY_FIRST_DELAY_MS = 100
/** The longest wait between two recovery attempts (ioredis reconnects at least this often too). */
const RECOVERY_MAX_DELAY_MS = 2000
/** How long recovery keeps trying before it ends the streams it could not catch up (with `retry:`). */
const RECOVERY_BUDGET_MS = 30_000

/** What one instance tells the others. */
type Notice =
  | { t: 'term', sid: string }
  | { t: 'cancel', sid: string, rid: RequestId, reason?: string }
  | { t: 'take', sid: string, stream: string, by: string }
  | { t: 'ans', sid: string, msg: JsonRpcResultResponse | JsonRpcErrorResponse }

/** How the protocol layer reaches state held by other instances. */
export interface RemoteSessions {
  /** `notifications/cancelled` for a request not running here. */
  cancel (sessionId: string, requestId: RequestId, reason: string | undefined): void
  /** A client's answer to a server → client request this instance did not issue. */
  answer (sessionId: string, message: JsonRpcResultResponse | JsonRpcErrorResponse): void
  /** The session was deleted here: every instance closes what it holds for it. */
  terminate (sessionId: string): void
  /** A connection here took a stream over: whoever held it before lets go. */
  takeover (sessionId: string, streamId: string): void
}

/**
 * One instance's link to the others through Redis: routing by pub/sub (a broadcast channel
 * for session-wide events, one channel per instance for answers to its requests), the
 * standalone streams fed from the shared history, and fan-out of notifications.
 */
export class RedisCluster implements RemoteSessions, SessionStreams {
  readonly instanceId: string
  readonly #redis: RedisDeployment
  readonly #live: LocalStreams
  readonly #outbound: OutboundRequests
  readonly #logger: FastifyBaseLogger
  readonly #retryMs: number
  readonly #keys: RedisKeys
  readonly #broadcast: string
  readonly #feeds = new Map<string, FeedStream>()
  readonly #followers = new Set<FeedStream>()
  readonly #telemetry: McpTelemetry | undefined
  #unsubscribe: Array<() => Promise<void>> = []
  #offReconnect: (() => void) | undefined
  /** Bumped by each reconnect (and by close): an older recovery stops retrying. */
  #recoveries = 0
  #recoveryTimer: NodeJS.Timeout | undefined

  constructor (redis: RedisDeployment, live: LocalStreams, outbound: OutboundRequests, retryMs: number, logger: FastifyBaseLogger, telemetry?: McpTelemetry) {
    this.#redis = redis
    this.#telemetry = telemetry
    this.#live = live
    this.#outbound = outbound
    this.instanceId = outbound.instanceId
    this.#retryMs = retryMs
    this.#logger = logger
    this.#keys = new RedisKeys(redis.prefix)
    this.#broadcast = this.#keys.channel('all')
  }

  async start (): Promise<void> {
    const { bus } = this.#redis
    this.#unsubscribe = await Promise.all([
      bus.subscribe(this.#broadcast, (notice) => this.#onNotice(notice as Notice)),
      bus.subscribe(this.#instanceChannel(this.instanceId), (notice) => this.#onNotice(notice as Notice))
    ])
    this.#offReconnect = bus.onReconnect(() => { void this.#recover() })
  }

  async close (): Promise<void> {
    this.#recoveries++
    clearTimeout(this.#recoveryTimer)
    this.#offReconnect?.()
    for (const unsubscribe of this.#unsubscribe.splice(0)) await unsubscribe().catch(() => {})
  }

  // ---- RemoteSessions ---------------------------------------------------------------

  cancel (sessionId: string, requestId: RequestId, reason: string | undefined): void {
    this.#publish(this.#broadcast, reason === undefined ? { t: 'cancel', sid: sessionId, rid: requestId } : { t: 'cancel', sid: sessionId, rid: requestId, reason })
  }

  answer (sessionId: string, message: JsonRpcResultResponse | JsonRpcErrorResponse): void {
    const owner = OutboundRequests.ownerOf(message.id)
    // Ours, or not an id this plugin issued: nobody else is waiting for it.
    if (owner === undefined || owner === this.instanceId) return
    this.#publish(this.#instanceChannel(owner), { t: 'ans', sid: sessionId, msg: message })
  }

  terminate (sessionId: string): void {
    this.#publish(this.#broadcast, { t: 'term', sid: sessionId })
  }

  takeover (sessionId: string, streamId: string): void {
    this.#publish(this.#broadcast, { t: 'take', sid: sessionId, stream: streamId, by: this.instanceId })
  }

  // ---- SessionStreams ----------------------------------------------------------------

  async open (session: SessionRecord, connection: SseConnection, prime: boolean): Promise<void> {
    const feed = await this.#attach(session, connection)
    if (feed === undefined) return
    await feed.start(undefined, undefined)
    // Appended like any message, so it reaches the connection through the feed, in order.
    // Its id, or the stream's last one, marks where this connection began, should pub/sub
    // drop before anything was written to it.
    const { events } = this.#redis
    feed.setOrigin(prime ? await events.append(session.id, feed.streamId, '') : await events.position(session.id, feed.streamId))
  }

  async resume (session: SessionRecord, lastEventId: string, connect: Connect): Promise<boolean> {
    const parsed = parseEventId(lastEventId)
    if (parsed === undefined) return false
    if (parsed.streamId === standaloneStreamId(session.id)) {
      const feed = await this.#attach(session, connect(true))
      if (feed !== undefined) {
        const replay = await this.#redis.events.replayAfter(session.id, lastEventId)
        this.#telemetry?.replayed(replay?.events.length ?? 0)
        await feed.start(replay, lastEventId)
      }
      return true
    }
    const live = this.#live.findStream(session.id, parsed.streamId)
    if (live !== undefined) {
      void live.resume(connect(false), lastEventId)
      return true
    }
    // Its handler may be running on another instance: follow the shared history live.
    return await this.#follow(session, parsed.streamId, lastEventId, () => connect(false)) !== undefined
  }

  async send (sessionId: string, message: unknown): Promise<boolean> {
    if (!await this.#redis.sessions.hasStandalone(sessionId)) return false
    await this.#redis.events.append(sessionId, standaloneStreamId(sessionId), JSON.stringify(message))
    return true
  }

  async notify (message: unknown, filter: SessionFilter, uri?: string): Promise<number> {
    const { sessions, events } = this.#redis
    const candidates = uri === undefined ? await sessions.standaloneSessions() : await sessions.subscribers(uri)
    const data = JSON.stringify(message)
    const outcomes = await Promise.all(candidates.map(async (sessionId) => {
      const session = await sessions.get(sessionId)
      if (session === undefined) {
        // Expired (its keys went by TTL): drop what still points at it.
        await sessions.forgetIndexes(sessionId, uri === undefined ? [] : [uri])
        return false
      }
      if (!filter(session)) return false
      if (uri !== undefined && !await sessions.hasStandalone(sessionId)) return false
      await events.append(sessionId, standaloneStreamId(sessionId), data)
      return true
    }))
    return outcomes.filter(Boolean).length
  }

  connectedSessions (): Iterable<string> {
    return this.#feeds.keys()
  }

  // ---- following a POST stream whose handler runs elsewhere ----------------------------

  /**
   * Resume a POST stream that is not live on this instance: subscribe to its channel, then
   * replay; `undefined` when the store does not know the id (nothing was opened). The
   * connection ends with the stream's end marker.
   */
  async #follow (session: SessionRecord, streamId: string, lastEventId: string, connect: () => SseConnection): Promise<ReplayResult | undefined> {
    const { events } = this.#redis
    const feed = new FeedStream(session.id, streamId, this.#retryMs, this.#logger)
    await feed.subscribe(this.#feedOf(session.id, streamId))
    let replay: ReplayResult | undefined
    try {
      replay = await events.replayAfter(session.id, lastEventId)
    } finally {
      if (replay === undefined) await feed.stop()
    }
    if (replay === undefined) return undefined
    this.#telemetry?.replayed(replay.events.length)
    feed.attach(connect())
    this.#followers.add(feed)
    feed.connection!.onClose(() => this.#followers.delete(feed))
    if (!replay.ended) this.takeover(session.id, streamId)
    await feed.start(replay, lastEventId)
    return replay
  }

  /** The session ended (expired, deleted): close what this instance holds for it. */
  closeLocal (sessionId: string): void {
    this.#feeds.get(sessionId)?.end()
    for (const follower of this.#followers) if (follower.sessionId === sessionId) follower.end()
    this.#live.terminate(sessionId, SESSION_NOT_FOUND)
  }

  // ---- internals -----------------------------------------------------------------------

  async #attach (session: SessionRecord, connection: SseConnection): Promise<FeedStream | undefined> {
    const streamId = standaloneStreamId(session.id)
    const feed = new FeedStream(session.id, streamId, this.#retryMs, this.#logger)
    feed.attach(connection)
    const previous = this.#feeds.get(session.id)
    this.#feeds.set(session.id, feed)
    connection.onClose(() => {
      if (this.#feeds.get(session.id) === feed) this.#feeds.delete(session.id)
    })
    // The new connection wins, here and on any other instance.
    previous?.end()
    this.takeover(session.id, streamId)
    await this.#redis.sessions.markStandalone(session.id)
    await feed.subscribe(this.#feedOf(session.id, streamId))
    return connection.closed ? undefined : feed
  }

  /** Subscribing to what is appended to a stream (published by the append script). */
  #feedOf (sessionId: string, streamId: string): FeedSubscribe {
    return (handler) => this.#redis.bus.subscribe(this.#redis.events.streamChannel(sessionId, streamId), (event) => handler(event as FeedEvent))
  }

  /**
   * Pub/sub was down for a while, and Redis may have restarted empty. For every fed
   * connection: its session must still exist (a touch; one that finds no record ends the
   * session's streams at once, here and elsewhere, so the client's next request gets 404 and
   * it initializes again), then it reads what it missed from the history. The command
   * connection may not be back yet (or the breaker still open) when the subscriber is:
   * failed attempts are retried with backoff, within `RECOVERY_BUDGET_MS`, after which the
   * connections still not caught up are ended with `retry:` so their clients resume from
   * their own `Last-Event-ID`.
   */
  async #recover (): Promise<void> {
    const generation = ++this.#recoveries
    clearTimeout(this.#recoveryTimer)
    const pending = new Set([...this.#feeds.values(), ...this.#followers])
    for (const feed of pending) feed.hold()
    const deadline = Date.now() + RECOVERY_BUDGET_MS
    for (let attempt = 1; pending.size > 0; attempt++) {
      try {
        await this.#recoverOnce(pending)
        if (attempt > 1) this.#logger.info({ attempt }, 'mcp: streams caught up after a Redis reconnect')
        return
      } catch (err) {
        if (generation !== this.#recoveries) return
        const delay = Math.min(RECOVERY_FIRST_DELAY_MS * 2 ** (attempt - 1), RECOVERY_MAX_DELAY_MS)
        if (Date.now() + delay > deadline) {
          this.#logger.warn({ err, attempt, streams: pending.size }, 'mcp: stream catch-up after a Redis reconnect kept failing; ending those streams so their clients resume')
          for (const feed of pending) feed.end(this.#retryMs)
          return
        }
        this.#logger.warn({ err, attempt, retryInMs: delay }, 'mcp: stream catch-up after a Redis reconnect failed; retrying')
        await new Promise<void>((resolve) => { this.#recoveryTimer = setTimeout(resolve, delay).unref() })
        if (generation !== this.#recoveries) return
      }
    }
  }

  /** One recovery attempt; each feed done leaves `pending`, so a retry does only the rest. */
  async #recoverOnce (pending: Set<FeedStream>): Promise<void> {
    const { sessions, events } = this.#redis
    const now = Date.now()
    const sessionIds = new Set<string>()
    for (const feed of pending) {
      if (feed.connection?.closed === true) pending.delete(feed)
      else sessionIds.add(feed.sessionId)
    }
    const alive = await Promise.all([...sessionIds].map(async (sessionId) => [sessionId, await sessions.touch(sessionId, now)] as const))
    for (const [sessionId, exists] of alive) {
      if (exists) continue
      // Gone with Redis's data (or lapsed meanwhile): end it everywhere, as a touch would.
      for (const feed of pending) if (feed.sessionId === sessionId) pending.delete(feed)
      this.closeLocal(sessionId)
      this.terminate(sessionId)
    }
    for (const feed of [...pending]) {
      await feed.catchUp((lastEventId) => events.replayAfter(feed.sessionId, lastEventId))
      pending.delete(feed)
    }
  }

  #instanceChannel (instanceId: string): string {
    return this.#keys.channel(`i:${instanceId}`)
  }

  #publish (channel: string, notice: Notice): void {
    this.#redis.bus.publish(channel, notice).catch((err: unknown) => this.#logger.warn({ err, notice: notice.t }, 'mcp: cluster notice not published'))
  }

  #onNotice (notice: Notice): void {
    if (notice === null || typeof notice !== 'object' || typeof notice.sid !== 'string') return
    switch (notice.t) {
      case 'term':
        this.closeLocal(notice.sid)
        break
      case 'cancel':
        this.#live.cancel(notice.sid, notice.rid, notice.reason)
        break
      case 'ans':
        this.#outbound.handleResponse(notice.sid, notice.msg)
        break
      case 'take':
        if (notice.by === this.instanceId) break
        if (notice.stream === standaloneStreamId(notice.sid)) this.#feeds.get(notice.sid)?.end()
        else {
          this.#live.findStream(notice.sid, notice.stream)?.detach()
          for (const follower of this.#followers) if (follower.sessionId === notice.sid && follower.streamId === notice.stream) follower.end()
        }
        break
    }
  }
}
