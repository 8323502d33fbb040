import type { Logger } from './log.js'
import { createCore, type McpCore } from './core/index.js'
import { LegacyDoor } from './legacy/door.js'
import { ModernDoor } from './modern/door.js'
import type { NormalizedOptions } from './options.js'
import type { EventStore } from './stores/event-store.js'
import { MemoryEventStore } from './stores/memory-event-store.js'
import { MemorySessionStore } from './stores/memory-session-store.js'
import { openRedis, type RedisDeployment } from './stores/redis.js'
import type { SessionStore } from './stores/session-store.js'
import { SessionEvents } from './telemetry/session-events.js'
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
  /** Undefined with `telemetry: false`. */
  readonly telemetry: McpTelemetry | undefined
  /** Sessions starting and ending, for whoever observes them (metrics, logs, the application). */
  readonly sessionEvents: SessionEvents
  stats (): Promise<McpStats>
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

export async function createRuntime (options: NormalizedOptions, log: Logger): Promise<McpRuntime> {
  const telemetry = options.telemetry === false ? undefined : new McpTelemetry(options.telemetry)
  const sessionEvents = new SessionEvents()
  if (telemetry?.metricsOn === true) {
    sessionEvents.add({
      started: (session) => telemetry.sessionStarted(session.protocolVersion),
      ended: (_id, reason, session) => telemetry.sessionEnded(reason, session?.protocolVersion, session?.createdAt)
    })
  }
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
    telemetry,
    sessionEvents,
    stats: async () => ({
      sessions: await stores.store.size(),
      streams: legacy.streamCount + modern.connections.size,
      subscriptions: modern.listen.size
    }),
    beginClose: () => {
      legacy.beginClose()
      modern.beginClose()
    },
    async close () {
      telemetry?.close()
      await Promise.all([legacy.close(), modern.close()])
      await stores.close()
    }
  }
}
