import type { Redis } from 'ioredis'
import type { FastifyBaseLogger } from 'fastify'
import { settledWithin } from '../timeout.js'
import { RedisMessageBus } from './redis-message-bus.js'
import { closeBounded, createClient } from './redis-connection.js'
import { RedisBreaker } from './redis-breaker.js'
import { RedisEventStore } from './redis-event-store.js'
import { RedisSessionStore, type RedisSessionStoreOptions } from './redis-session-store.js'
import type { McpTelemetry } from '../telemetry/telemetry.js'

/** What the `redis` option gives the plugin: one client, a bus, and the two stores on them. */
export interface RedisDeployment {
  readonly prefix: string
  readonly client: Redis
  /** The client's circuit breaker, shared by everything that sends commands on it. */
  readonly breaker: RedisBreaker
  readonly bus: RedisMessageBus
  readonly sessions: RedisSessionStore
  readonly events: RedisEventStore
  /**
   * Wait (at most `redisTimeoutMs`) for the connections to be up, so the first requests do
   * not fail for a connection still being made. Resolves false if Redis is not there yet:
   * the server starts anyway and answers 503 until it is.
   */
  ready (): Promise<boolean>
  /**
   * For readiness: whether the client answers a `PING` (at once `false` while the breaker is
   * open; an answer closes it, a timeout counts toward opening it; bounded by `redisTimeoutMs`)
   * and whether the bus's subscriber connection is up.
   */
  reachable (): Promise<{ store: boolean, bus: boolean }>
  /** Close what the plugin opened (the subscriber; the client only if it is the plugin's), each bounded. */
  close (): Promise<void>
}

/** What the Redis deployment reads of the plugin's options. */
export interface RedisOptions {
  /** A URL (the plugin opens and closes its client) or a client the application owns. */
  readonly redis: string | Redis
  /** Close a client the application passed, at shutdown. */
  readonly closeRedis: boolean
  readonly redisPrefix: string
  readonly redisTimeoutMs: number
  readonly sessionTtlMs: number
  readonly maxSessions: number
  readonly maxEventsPerStream: number
  readonly nearCache: RedisSessionStoreOptions['nearCache']
  /** Times the commands of a client the plugin opened, when metrics are recorded. */
  readonly telemetry?: McpTelemetry | undefined
}

export function openRedis (options: RedisOptions, logger: FastifyBaseLogger): RedisDeployment {
  const given = options.redis
  const own = typeof given === 'string'
  const client = own ? createClient(given, options.redisTimeoutMs) : given
  if (own) {
    client.on('error', (err: Error) => logger.debug({ err }, 'mcp: Redis connection error'))
    // Only the plugin's own client: one the application passed is the application's to
    // instrument (e.g. with @opentelemetry/instrumentation-ioredis), not to patch.
    if (options.telemetry?.metricsOn === true) timeCommands(client, options.telemetry)
  } else if (client.options.commandTimeout === undefined) {
    logger.warn('mcp: the redis client has no commandTimeout: requests will wait as long as Redis does while it is unreachable')
  }
  // One breaker for the client: a timeout in any store counts, and opens it for all.
  const breaker = new RedisBreaker(client, { logger, probeIntervalMs: options.redisTimeoutMs })
  const bus = new RedisMessageBus(client, logger, options.redisTimeoutMs, breaker)
  const prefix = options.redisPrefix
  const sessions = new RedisSessionStore(client, {
    bus,
    prefix,
    logger,
    breaker,
    ttlMs: options.sessionTtlMs,
    maxSessions: options.maxSessions,
    nearCache: options.nearCache
  })
  const events = new RedisEventStore(client, { prefix, ttlMs: options.sessionTtlMs, maxEventsPerStream: options.maxEventsPerStream, breaker })
  return {
    prefix,
    client,
    breaker,
    bus,
    sessions,
    events,
    async ready () {
      const up = Promise.all([whenReady(client), sessions.ready()]).then(() => true, () => false)
      const result = await settledWithin(up, options.redisTimeoutMs) && await up
      if (!result) logger.warn('mcp: Redis is not reachable yet; requests answer 503 until it is')
      return result
    },
    async reachable () {
      const busUp = bus.connected
      if (breaker.open) return { store: false, bus: busUp }
      const ping = client.ping().then(() => breaker.pass(true), (err: unknown) => {
        breaker.record(err)
        return false
      })
      return { store: await settledWithin(ping, options.redisTimeoutMs) && await ping, bus: busUp }
    },
    async close () {
      breaker.close()
      await sessions.close()
      await bus.close()
      if (own || options.closeRedis) await closeBounded(client, options.redisTimeoutMs)
    }
  }
}

/** Every command the client sends (pipelined ones too), timed from sending to its reply. */
function timeCommands (client: Redis, telemetry: McpTelemetry): void {
  const send = client.sendCommand.bind(client)
  client.sendCommand = (command, stream) => {
    const start = performance.now()
    const name = command.name
    command.promise.then(
      () => telemetry.redisCommand(name, (performance.now() - start) / 1000, false),
      () => telemetry.redisCommand(name, (performance.now() - start) / 1000, true)
    )
    return send(command, stream)
  }
}

function whenReady (client: Redis): Promise<void> {
  if (client.status === 'ready') return Promise.resolve()
  return new Promise((resolve) => client.once('ready', () => resolve()))
}
