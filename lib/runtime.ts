import type { Logger } from './log.js'
import { createCore, type McpCore } from './core/index.js'
import { SessionEvents, type SessionLifecycle } from './core/session-lifecycle.js'
import { LegacyDoor } from './legacy/door.js'
import { sessionLog } from './legacy/session-log.js'
import { ModernDoor } from './modern/door.js'
import type { NormalizedOptions } from './options.js'
import type { EventStore } from './stores/event-store.js'
import { MemoryEventStore } from './stores/memory-event-store.js'
import { MemorySessionStore } from './stores/memory-session-store.js'
import type { RateLimitSetup } from './http/rate-limit.js'
import { hitCounter } from './stores/rate-limit-counter.js'
import { openRedis, type RedisDeployment } from './stores/redis.js'
import type { SessionStore } from './stores/session-store.js'
import { McpTelemetry } from './telemetry/telemetry.js'

/** Counts for health checks and metrics. */
export interface McpStats {
  /** Live sessions in the store. */
  sessions: number
  /** Open SSE streams on this instance (GET streams, streaming POST answers, listen streams). */
  streams: number
  /** Open `subscriptions/listen` streams on this instance. */
  subscriptions: number
}

/** What the readiness probe reports. */
export interface Readiness {
  /** Every check passed. */
  ready: boolean
  checks: {
    /** The session store answers (Redis: a `PING`; the memory store and a store you pass: always). */
    store: boolean
    /** Messages between instances arrive (the Redis subscriber connection is up; always without Redis). */
    bus: boolean
    /** Shutdown has begun: new sessions and streams are refused. */
    draining: boolean
  }
}

/**
 * Everything one registration of the plugin runs on, built once from the normalised
 * options: the stores, the MCP core and the front door. Routes and decorators receive it whole.
 */
export interface McpRuntime {
  readonly options: NormalizedOptions
  readonly log: Logger
  readonly store: SessionStore
  readonly core: McpCore
  readonly legacy: LegacyDoor
  readonly modern: ModernDoor
  /** The `rateLimit` option with its counters (in Redis with `redis`), or undefined. */
  readonly rateLimit: RateLimitSetup | undefined
  /** Undefined with `telemetry: false`. */
  readonly telemetry: McpTelemetry | undefined
  /** Sessions starting and ending, for whoever observes them (metrics, logs, the application). */
  readonly sessionEvents: SessionEvents
  stats (): Promise<McpStats>
  /** Whether this instance should get traffic: its shared store and bus answer, and it is not closing. */
  readiness (): Promise<Readiness>
  /** `preClose`: refuse new sessions, end SSE connections with `retry:`, start draining handlers. */
  beginClose (): void
  /** `onClose`: wait for the drain, then close what the plugin opened, each step bounded. */
  close (): Promise<void>
}

/** Stores: one the application passes, else Redis when configured, else memory. */
async function openStores (options: NormalizedOptions, log: Logger, telemetry: McpTelemetry | undefined): Promise<{ store: SessionStore, events: EventStore | undefined, redis: RedisDeployment | undefined, close (): Promise<void> }> {
  const redis = options.redis === undefined ? undefined : openRedis({ ...options, redis: options.redis, telemetry }, log)
  if (redis !== undefined) await redis.ready()
  const store = options.sessionStore ?? redis?.sessions ?? new MemorySessionStore({ ttlMs: options.sessionTtlMs, maxSessions: options.maxSessions })
  const events = !options.resumability
    ? undefined
    : options.eventStore ?? redis?.events ?? new MemoryEventStore({ maxEventsPerStream: options.maxEventsPerStream, maxBytesPerStream: options.maxEventBytesPerStream, maxBytes: options.maxEventBytes })
  return {
    store,
    events,
    redis,
    async close () {
      // Only what the plugin opened: a store the application passed is the application's.
      if (options.eventStore === undefined && events !== undefined) await events.close()
      if (options.sessionStore === undefined) await store.close()
      if (redis !== undefined) await redis.close()
    }
  }
}

function rateLimitSetup (options: NormalizedOptions, redis: RedisDeployment | undefined, core: McpCore): RateLimitSetup | undefined {
  const limit = options.rateLimit
  if (limit === undefined) return undefined
  const home = { cache: limit.cache, redis: redis === undefined ? undefined : { client: redis.client, breaker: redis.breaker, prefix: redis.prefix } }
  return { options: limit, counter: (kind) => hitCounter(home, kind), toolLimit: (name) => core.tools.rateLimit(name) }
}

export async function createRuntime (options: NormalizedOptions, log: Logger): Promise<McpRuntime> {
  const telemetry = options.telemetry === false ? undefined : new McpTelemetry(options.telemetry)
  const own: SessionLifecycle[] = [sessionLog(log)]
  if (telemetry?.metricsOn === true) {
    own.push({
      started: (session) => telemetry.sessionStarted(session.protocolVersion),
      ended: ({ reason, record }) => telemetry.sessionEnded(reason, record?.protocolVersion, record?.createdAt)
    })
  }
  const sessionEvents = new SessionEvents(...own)
  const stores = await openStores(options, log, telemetry)
  const core = createCore({ ...options, listOnlyPermitted: options.auth?.listOnlyPermitted, telemetry }, log)
  const legacy = await LegacyDoor.open(options, log, core, {
    sessions: stores.store,
    events: stores.events,
    eventsShared: options.eventStore !== undefined || stores.redis !== undefined,
    redis: stores.redis
  }, sessionEvents)
  const { redis } = stores
  const modern = new ModernDoor(options, core, log, redis?.bus, `${options.redisPrefix}ch:listen`)
  await modern.start()
  const events = stores.events
  telemetry?.observe({
    sessions: () => stores.store.size(),
    streams: () => ({ get: legacy.getConnections.size, post: legacy.postConnections.size, modern: modern.connections.size }),
    subscriptions: () => modern.listen.size,
    eventStoreBytes: () => events instanceof MemoryEventStore ? events.stats.bytes : undefined
  })
  return {
    options,
    log,
    store: stores.store,
    core,
    legacy,
    modern,
    rateLimit: rateLimitSetup(options, redis, core),
    telemetry,
    sessionEvents,
    stats: async () => ({
      sessions: await stores.store.size(),
      streams: legacy.streamCount + modern.connections.size,
      subscriptions: modern.listen.size
    }),
    async readiness () {
      const { store, bus } = redis === undefined ? { store: true, bus: true } : await redis.reachable()
      const draining = legacy.closing
      return { ready: store && bus && !draining, checks: { store, bus, draining } }
    },
    beginClose: () => {
      legacy.beginClose()
      modern.beginClose()
    },
    async close () {
      telemetry?.close()
      await Promise.all([legacy.close(), modern.close()])
      // Sessions in this process's memory end with it (in Redis they outlive the instance).
      if (options.sessionStore === undefined && redis === undefined) {
        const sessions = await stores.store.size()
        if (sessions > 0) log.info({ reason: 'shutdown', sessions }, 'mcp: sessions ended')
      }
      await stores.close()
    }
  }
}
