import type { FastifyCorsOptions } from '@fastify/cors'
import type { Redis } from 'ioredis'
import type { Implementation } from '../schemas/mcp.js'
import type { McpAuthInfo } from './core/caller.js'
import { DEFAULT_MAX_INPUT_ROUNDS } from './core/input-rounds.js'
import { DEFAULT_REQUEST_STATE_TTL_MS, MIN_REQUEST_STATE_KEY_BYTES, requestStateKey } from './core/request-state.js'
import { errors } from './errors.js'
import { hostnameOf, normaliseOrigin } from './http/origin.js'
import { normalizeAuth, type McpAuthOptions, type McpIntrospectionOptions, type McpJwtOptions, type NormalizedAuth } from './auth/options.js'
import type { Eras } from './http/era.js'
import type { NormalizedRateLimit, RateLimitOptions, RateWindow } from './http/rate-limit.js'
import type { ResponseMode } from './legacy/exchange.js'
import { CACHEABLE_METHODS, type CacheHint, type CacheableMethod } from './modern/results.js'
import { assertEventStore, type EventStore } from './stores/event-store.js'
import { assertSessionStore, type SessionStore } from './stores/session-store.js'
import type { TelemetryOptions } from './telemetry/telemetry.js'

export type { McpAuthInfo, McpAuthOptions, McpJwtOptions, McpIntrospectionOptions, ResponseMode, Eras, CacheHint, CacheableMethod, RateLimitOptions, RateWindow, TelemetryOptions }

export interface McpPluginOptions {
  /** The MCP endpoint. Default `/mcp`. */
  path?: string
  /** Sent as `serverInfo` in the initialize result. Default: this package's name and version. */
  serverInfo?: Implementation
  /** Sent as `instructions` in the initialize result. */
  instructions?: string
  /**
   * `auto` (default): JSON unless the handler sends progress/logs first, then SSE.
   * `json`: always one JSON body (related messages are dropped). `sse`: always a stream.
   */
  responseMode?: ResponseMode
  /** No sessions: every POST stands alone; GET and DELETE answer 405. Default `false`. */
  stateless?: boolean
  /**
   * The protocol eras served on the endpoint: `both` (default) serves 2026-07-28 requests
   * (a protocol version claim in `params._meta`) beside the 2025 sessions; `legacy` only the
   * 2025 revisions (a modern request gets 400 -32022 naming them); `modern` only 2026-07-28
   * (GET and DELETE answer 405, `initialize` 400 -32022).
   */
  eras?: Eras
  /**
   * Host header allowlist (hostnames, port ignored). Default: when the server listens on a
   * loopback address (or is not listening, as with `inject`), only `localhost`, `127.0.0.1`
   * and `[::1]`; otherwise any host. `false` disables the check.
   */
  allowedHosts?: string[] | false
  /**
   * Origin allowlist (full origins such as `https://app.example.com`). A request without an
   * Origin is always allowed. Default: on loopback, localhost origins on any port; otherwise
   * only the same origin as the Host header. `false` disables the check.
   */
  allowedOrigins?: string[] | false
  /**
   * Serve CORS through `@fastify/cors` on the MCP endpoint. `true` uses the Origin policy
   * above; an object is passed to `@fastify/cors` (the MCP headers are always allowed and
   * `Mcp-Session-Id` always exposed). Default off.
   */
  cors?: boolean | FastifyCorsOptions
  /** Idle time before a session expires. Default 30 minutes. */
  sessionTtlMs?: number
  /** Most live sessions; `initialize` beyond it answers 503 with `Retry-After`. Default 10,000. */
  maxSessions?: number
  /** A session's idle TTL is refreshed at most this often (no store write per request). Default `min(sessionTtlMs / 10, 60 s)`. */
  touchIntervalMs?: number
  /** Keep-alive comment interval on idle SSE streams; 0 disables. Default 15 s. */
  keepAliveMs?: number
  /** Largest request body in bytes; larger ones answer 413. Default 4 MiB. */
  bodyLimit?: number
  /** Largest JSON-RPC batch (2025-03-26 sessions only). Default 100. */
  maxBatchSize?: number
  /** Most concurrent requests per session; more get a JSON-RPC error. Default 100. */
  maxInFlightRequests?: number
  /** Bytes an SSE stream may queue behind a slow reader before it is closed. Default 4 MiB. */
  maxQueuedBytes?: number
  /** An SSE stream whose reader leaves the socket undrained this long is closed. Default 30 s. */
  slowReaderTimeoutMs?: number
  /** How long a server → client request (elicitation, sampling, roots) waits for its answer. Default 60 s. */
  requestTimeoutMs?: number
  /** Most unanswered server → client requests per session. Default 100. */
  maxPendingRequests?: number
  /** Page size of `tools/list`. Default 100. */
  pageSize?: number
  /**
   * 2026-07-28 cache hints (`ttlMs`, `cacheScope`) per method, for `server/discover`, the four
   * list methods and `resources/read`. Default `{ ttlMs: 0, cacheScope: 'private' }` for each.
   */
  cacheHints?: Partial<Record<CacheableMethod, Partial<CacheHint>>>
  /** Most open `subscriptions/listen` streams on this instance; beyond it an in-band -32603. Default 1024. */
  maxSubscriptions?: number
  /**
   * Serve a 2026-07-28 request whose `MCP-Protocol-Version` header names a 2025 revision (or
   * repeats the claimed version comma-joined), a known client bug, with a warning, instead of
   * 400 -32020. Default `false` (strict, as conformance requires).
   */
  lenientVersionHeader?: boolean
  /** A custom session store (see `SessionStore`). Default: a `MemorySessionStore`. */
  sessionStore?: SessionStore
  /**
   * Event ids on every SSE event, kept in an event store, so a client reconnecting with
   * `Last-Event-ID` receives what it missed; 2025-11-25 clients also get priming events and
   * SSE polling. Default `true` (off in stateless mode).
   */
  resumability?: boolean
  /** A custom event store (see `EventStore`). Default: a `MemoryEventStore` bounded by the three options below. */
  eventStore?: EventStore
  /** Events kept per stream for replay; the oldest are evicted first. Default 10,000. */
  maxEventsPerStream?: number
  /** Bytes of events kept per stream (approximate). Default 4 MiB. */
  maxEventBytesPerStream?: number
  /** Bytes of events kept in total by the memory event store (approximate). Default 64 MiB. */
  maxEventBytes?: number
  /** The SSE `retry:` delay sent with priming events and whenever a connection is closed mid-stream. Default 1 s. */
  sseRetryMs?: number
  /** GET connections of 2025-11-25 sessions are closed (with `retry:`) after this long, so clients rotate connections; 0 disables. Default 0. */
  maxStreamDurationMs?: number
  /** On close, how long in-flight handlers may run before they are aborted. Default 10 s. */
  drainTimeoutMs?: number
  /**
   * Share sessions, event histories and messages between instances through Redis: an
   * ioredis client you own (never closed by the plugin unless `closeRedis`), or a URL (the
   * plugin creates, configures and closes the client). A `sessionStore`/`eventStore` you
   * pass still wins. Default: none (memory).
   */
  redis?: Redis | string
  /** Close the `redis` client you passed when the plugin closes. Default `false`. */
  closeRedis?: boolean
  /** Prefix of every Redis key and channel. Default `mcp:`. */
  redisPrefix?: string
  /** Command timeout of a client the plugin creates from a URL, and the bound on closing each connection. Default 2 s. */
  redisTimeoutMs?: number
  /**
   * With Redis: keep recently read session records on each instance (bounded LRU, invalidated
   * over pub/sub, entries never older than `maxAgeMs`). `true` means `{ max: 10000, maxAgeMs: 5000 }`.
   * Default off.
   */
  nearCache?: boolean | { max?: number, maxAgeMs?: number }
  /**
   * Rate limiting through `@fastify/rate-limit` on the MCP routes, keyed by principal, else
   * session id, else client address; with `redis`, counted in Redis across instances. `max`
   * requests per `timeWindow` ms (default 1000 per 60 s); `initialize`: a separate (stricter)
   * limit on new sessions; `cache`: keys the memory counters hold (default 5000). Over a limit:
   * 429 with `Retry-After`. `true` is `{}`. Default off.
   */
  rateLimit?: boolean | RateLimitOptions
  /** Health routes' path (`/health`, `/health/live`, `/health/ready`), or `false` for none. Default `/health`. */
  health?: string | false
  /**
   * Authorization: a custom `authenticate` hook, or an OAuth 2.1 resource server (`jwt` and/or
   * `introspection`, `resource`, RFC 9728 metadata, scopes per endpoint and per tool, prompt and
   * resource). Sessions are bound to the principal. See docs/authorization.md.
   */
  auth?: McpAuthOptions
  /**
   * Signing of the `requestState` of multi round-trip results (HMAC-SHA256, bound to the
   * principal, method and tool/prompt/URI). `keys`: at least 32 bytes each; the first signs,
   * all verify (rotate by prepending). Default: a random key per process, so give several
   * instances the same keys. `ttlMs`: validity, default 10 minutes.
   */
  requestState?: { keys?: Array<string | Buffer>, ttlMs?: number }
  /** On 2025 sessions, most times a handler may answer `input_required` for one request. Default 8. */
  maxInputRounds?: number
  /**
   * OpenTelemetry traces and metrics on the MCP semantic conventions, through
   * `@opentelemetry/api` (a no-op until the application installs an SDK). Default `{}`: the
   * global tracer and meter; `false` turns the instrumentation off. See docs/observability.md.
   */
  telemetry?: TelemetryOptions | false
}

export interface NormalizedOptions {
  path: string
  serverInfo: Implementation
  instructions: string | undefined
  responseMode: ResponseMode
  stateless: boolean
  eras: Eras
  allowedHosts: ReadonlySet<string> | 'default' | false
  allowedOrigins: ReadonlySet<string> | 'default' | false
  cors: FastifyCorsOptions | undefined
  sessionTtlMs: number
  maxSessions: number
  touchIntervalMs: number
  keepAliveMs: number
  bodyLimit: number
  maxBatchSize: number
  maxInFlightRequests: number
  maxQueuedBytes: number
  slowReaderTimeoutMs: number
  requestTimeoutMs: number
  maxPendingRequests: number
  pageSize: number
  cacheHints: Readonly<Record<CacheableMethod, CacheHint>>
  maxSubscriptions: number
  maxSubscriptionUris: number
  lenientVersionHeader: boolean
  sessionStore: SessionStore | undefined
  resumability: boolean
  eventStore: EventStore | undefined
  maxEventsPerStream: number
  maxEventBytesPerStream: number
  maxEventBytes: number
  sseRetryMs: number
  maxStreamDurationMs: number
  drainTimeoutMs: number
  redis: Redis | string | undefined
  closeRedis: boolean
  redisPrefix: string
  redisTimeoutMs: number
  nearCache: { max: number, maxAgeMs: number } | false
  rateLimit: NormalizedRateLimit | undefined
  health: string | false
  auth: NormalizedAuth | undefined
  requestState: { keys: Buffer[] | undefined, ttlMs: number }
  maxInputRounds: number
  telemetry: TelemetryOptions | false
}

const MiB = 1024 * 1024

export const defaultOptions = Object.freeze({
  path: '/mcp',
  responseMode: 'auto' as ResponseMode,
  stateless: false,
  eras: 'both' as Eras,
  sessionTtlMs: 30 * 60_000,
  maxSessions: 10_000,
  keepAliveMs: 15_000,
  bodyLimit: 4 * MiB,
  maxBatchSize: 100,
  maxInFlightRequests: 100,
  maxQueuedBytes: 4 * MiB,
  slowReaderTimeoutMs: 30_000,
  requestTimeoutMs: 60_000,
  maxPendingRequests: 100,
  pageSize: 100,
  maxSubscriptions: 1024,
  lenientVersionHeader: false,
  resumability: true,
  maxEventsPerStream: 10_000,
  maxEventBytesPerStream: 4 * MiB,
  maxEventBytes: 64 * MiB,
  sseRetryMs: 1000,
  maxStreamDurationMs: 0,
  drainTimeoutMs: 10_000,
  closeRedis: false,
  redisPrefix: 'mcp:',
  redisTimeoutMs: 2000,
  nearCache: false,
  health: '/health',
  maxInputRounds: DEFAULT_MAX_INPUT_ROUNDS
})

const RESPONSE_MODES: readonly ResponseMode[] = ['auto', 'json', 'sse']
const ERAS: readonly Eras[] = ['both', 'legacy', 'modern']
const DEFAULT_CACHE_HINT: CacheHint = Object.freeze({ ttlMs: 0, cacheScope: 'private' })

function cacheHints (value: unknown): Readonly<Record<CacheableMethod, CacheHint>> {
  if (value !== undefined && (value === null || typeof value !== 'object')) throw new errors.FST_MCP_INVALID_OPTION('cacheHints', 'must be an object keyed by method')
  const given = (value ?? {}) as Record<string, unknown>
  for (const method of Object.keys(given)) {
    if (!(CACHEABLE_METHODS as readonly string[]).includes(method)) throw new errors.FST_MCP_INVALID_OPTION('cacheHints', `${method} is not one of ${CACHEABLE_METHODS.join(', ')}`)
  }
  const hints = {} as Record<CacheableMethod, CacheHint>
  for (const method of CACHEABLE_METHODS) {
    const hint = given[method] as Partial<CacheHint> | undefined
    if (hint === undefined) {
      hints[method] = DEFAULT_CACHE_HINT
      continue
    }
    if (hint === null || typeof hint !== 'object') throw new errors.FST_MCP_INVALID_OPTION(`cacheHints.${method}`, 'must be { ttlMs?, cacheScope? }')
    const cacheScope = hint.cacheScope ?? DEFAULT_CACHE_HINT.cacheScope
    if (cacheScope !== 'public' && cacheScope !== 'private') throw new errors.FST_MCP_INVALID_OPTION(`cacheHints.${method}.cacheScope`, 'must be "public" or "private"')
    hints[method] = Object.freeze({ ttlMs: integer(`cacheHints.${method}.ttlMs`, hint.ttlMs, DEFAULT_CACHE_HINT.ttlMs, 0), cacheScope })
  }
  return Object.freeze(hints)
}

const LIST_METHODS: readonly CacheableMethod[] = ['tools/list', 'prompts/list', 'resources/list', 'resources/templates/list']

/** Lists that differ per caller (`auth.listOnlyPermitted`) must never be cached for everyone. */
function privateLists (hints: Readonly<Record<CacheableMethod, CacheHint>>, auth: NormalizedAuth | undefined): Readonly<Record<CacheableMethod, CacheHint>> {
  if (auth?.listOnlyPermitted !== true) return hints
  for (const method of LIST_METHODS) {
    if (hints[method].cacheScope === 'public') throw new errors.FST_MCP_INVALID_OPTION(`cacheHints.${method}.cacheScope`, 'must be "private" with auth.listOnlyPermitted (each caller sees its own list)')
  }
  return hints
}

function integer (name: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new errors.FST_MCP_INVALID_OPTION(name, `must be an integer >= ${min}`)
  }
  return value
}

function routePath (name: string, value: unknown): string {
  if (typeof value !== 'string' || !value.startsWith('/')) {
    throw new errors.FST_MCP_INVALID_OPTION(name, 'must be a path starting with "/"')
  }
  return value
}

function stringList (name: string, value: unknown, normalise: (entry: string) => string): ReadonlySet<string> | 'default' | false {
  if (value === undefined) return 'default'
  if (value === false) return false
  if (!Array.isArray(value) || value.some((entry) => typeof entry !== 'string' || entry.length === 0)) {
    throw new errors.FST_MCP_INVALID_OPTION(name, 'must be an array of non-empty strings, or false')
  }
  return new Set(value.map(normalise))
}

/** Options are read once here; the rest of the plugin reads only the normalised copy. */
export function normalizeOptions (options: McpPluginOptions = {}, defaultServerInfo: Implementation): NormalizedOptions {
  if (options === null || typeof options !== 'object') {
    throw new errors.FST_MCP_INVALID_OPTION('options', 'must be an object')
  }
  const path = options.path === undefined ? defaultOptions.path : routePath('path', options.path)

  const responseMode = options.responseMode ?? defaultOptions.responseMode
  if (!RESPONSE_MODES.includes(responseMode)) {
    throw new errors.FST_MCP_INVALID_OPTION('responseMode', `must be one of ${RESPONSE_MODES.join(', ')}`)
  }

  const serverInfo = options.serverInfo ?? defaultServerInfo
  if (serverInfo === null || typeof serverInfo !== 'object' || typeof serverInfo.name !== 'string' || typeof serverInfo.version !== 'string') {
    throw new errors.FST_MCP_INVALID_OPTION('serverInfo', 'must be an object with string name and version')
  }
  if (options.instructions !== undefined && typeof options.instructions !== 'string') {
    throw new errors.FST_MCP_INVALID_OPTION('instructions', 'must be a string')
  }
  if (options.stateless !== undefined && typeof options.stateless !== 'boolean') {
    throw new errors.FST_MCP_INVALID_OPTION('stateless', 'must be a boolean')
  }

  let cors: FastifyCorsOptions | undefined
  if (options.cors === true) cors = {}
  else if (options.cors === undefined || options.cors === false) cors = undefined
  else if (typeof options.cors === 'object' && options.cors !== null) cors = options.cors
  else throw new errors.FST_MCP_INVALID_OPTION('cors', 'must be a boolean or @fastify/cors options')

  if (options.sessionStore !== undefined) assertSessionStore(options.sessionStore)
  if (options.resumability !== undefined && typeof options.resumability !== 'boolean') {
    throw new errors.FST_MCP_INVALID_OPTION('resumability', 'must be a boolean')
  }
  if (options.eventStore !== undefined) {
    assertEventStore(options.eventStore)
    if (options.resumability === false) throw new errors.FST_MCP_INVALID_OPTION('eventStore', 'makes no sense with resumability: false')
    if (options.stateless === true) throw new errors.FST_MCP_INVALID_OPTION('eventStore', 'has no use in stateless mode (no session to resume)')
  }
  const stateless = options.stateless ?? defaultOptions.stateless
  const eras = options.eras ?? defaultOptions.eras
  if (!ERAS.includes(eras)) throw new errors.FST_MCP_INVALID_OPTION('eras', `must be one of ${ERAS.join(', ')}`)
  if (options.lenientVersionHeader !== undefined && typeof options.lenientVersionHeader !== 'boolean') {
    throw new errors.FST_MCP_INVALID_OPTION('lenientVersionHeader', 'must be a boolean')
  }
  const redis = options.redis
  if (redis !== undefined && typeof redis !== 'string' && (redis === null || typeof redis !== 'object' || typeof (redis as Redis).duplicate !== 'function' || typeof (redis as Redis).defineCommand !== 'function')) {
    throw new errors.FST_MCP_INVALID_OPTION('redis', 'must be an ioredis client or a redis:// URL')
  }
  if (typeof redis === 'string' && !/^rediss?:\/\//.test(redis)) {
    throw new errors.FST_MCP_INVALID_OPTION('redis', 'must be a redis:// or rediss:// URL')
  }
  const redisPrefix = options.redisPrefix ?? defaultOptions.redisPrefix
  if (typeof redisPrefix !== 'string' || /[{}]/.test(redisPrefix)) {
    throw new errors.FST_MCP_INVALID_OPTION('redisPrefix', 'must be a string without braces (they delimit hash tags)')
  }
  let nearCache: NormalizedOptions['nearCache'] = false
  if (options.nearCache === true) nearCache = { max: 10_000, maxAgeMs: 5000 }
  else if (options.nearCache !== undefined && options.nearCache !== false) {
    if (options.nearCache === null || typeof options.nearCache !== 'object') throw new errors.FST_MCP_INVALID_OPTION('nearCache', 'must be a boolean or { max, maxAgeMs }')
    nearCache = {
      max: integer('nearCache.max', options.nearCache.max, 10_000, 1),
      maxAgeMs: integer('nearCache.maxAgeMs', options.nearCache.maxAgeMs, 5000, 1)
    }
  }

  const rateLimit = rateLimitOptions(options.rateLimit)

  const health = options.health === undefined
    ? defaultOptions.health
    : options.health === false ? false : routePath('health', options.health)

  const auth = normalizeAuth(options.auth)

  const sessionTtlMs = integer('sessionTtlMs', options.sessionTtlMs, defaultOptions.sessionTtlMs, 1)
  const touchIntervalMs = integer('touchIntervalMs', options.touchIntervalMs, Math.max(1, Math.min(Math.floor(sessionTtlMs / 10), 60_000)), 0)
  if (touchIntervalMs >= sessionTtlMs) {
    // A refresh throttled to once per TTL or slower would let sessions in steady use expire.
    throw new errors.FST_MCP_INVALID_OPTION('touchIntervalMs', 'must be shorter than sessionTtlMs')
  }
  return {
    path,
    serverInfo,
    instructions: options.instructions,
    responseMode,
    stateless,
    eras,
    allowedHosts: stringList('allowedHosts', options.allowedHosts, hostnameOf),
    allowedOrigins: stringList('allowedOrigins', options.allowedOrigins, normaliseOrigin),
    cors,
    sessionTtlMs,
    maxSessions: integer('maxSessions', options.maxSessions, defaultOptions.maxSessions, 1),
    touchIntervalMs,
    keepAliveMs: integer('keepAliveMs', options.keepAliveMs, defaultOptions.keepAliveMs, 0),
    bodyLimit: integer('bodyLimit', options.bodyLimit, defaultOptions.bodyLimit, 1),
    maxBatchSize: integer('maxBatchSize', options.maxBatchSize, defaultOptions.maxBatchSize, 1),
    maxInFlightRequests: integer('maxInFlightRequests', options.maxInFlightRequests, defaultOptions.maxInFlightRequests, 1),
    maxQueuedBytes: integer('maxQueuedBytes', options.maxQueuedBytes, defaultOptions.maxQueuedBytes, 1024),
    slowReaderTimeoutMs: integer('slowReaderTimeoutMs', options.slowReaderTimeoutMs, defaultOptions.slowReaderTimeoutMs, 1),
    requestTimeoutMs: integer('requestTimeoutMs', options.requestTimeoutMs, defaultOptions.requestTimeoutMs, 1),
    maxPendingRequests: integer('maxPendingRequests', options.maxPendingRequests, defaultOptions.maxPendingRequests, 1),
    pageSize: integer('pageSize', options.pageSize, defaultOptions.pageSize, 1),
    cacheHints: privateLists(cacheHints(options.cacheHints), auth),
    maxSubscriptions: integer('maxSubscriptions', options.maxSubscriptions, defaultOptions.maxSubscriptions, 1),
    // The same bound as a 2025 session's resources/subscribe.
    maxSubscriptionUris: 1000,
    lenientVersionHeader: options.lenientVersionHeader ?? defaultOptions.lenientVersionHeader,
    sessionStore: options.sessionStore,
    // Resuming needs a session to scope the history to.
    resumability: !stateless && (options.resumability ?? defaultOptions.resumability),
    eventStore: options.eventStore,
    maxEventsPerStream: integer('maxEventsPerStream', options.maxEventsPerStream, defaultOptions.maxEventsPerStream, 1),
    maxEventBytesPerStream: integer('maxEventBytesPerStream', options.maxEventBytesPerStream, defaultOptions.maxEventBytesPerStream, 1024),
    maxEventBytes: integer('maxEventBytes', options.maxEventBytes, defaultOptions.maxEventBytes, 1024),
    sseRetryMs: integer('sseRetryMs', options.sseRetryMs, defaultOptions.sseRetryMs, 0),
    maxStreamDurationMs: integer('maxStreamDurationMs', options.maxStreamDurationMs, defaultOptions.maxStreamDurationMs, 0),
    drainTimeoutMs: integer('drainTimeoutMs', options.drainTimeoutMs, defaultOptions.drainTimeoutMs, 0),
    redis,
    closeRedis: options.closeRedis ?? defaultOptions.closeRedis,
    redisPrefix,
    redisTimeoutMs: integer('redisTimeoutMs', options.redisTimeoutMs, defaultOptions.redisTimeoutMs, 1),
    nearCache,
    rateLimit,
    health,
    auth,
    requestState: requestStateOptions(options.requestState),
    maxInputRounds: integer('maxInputRounds', options.maxInputRounds, defaultOptions.maxInputRounds, 1),
    telemetry: telemetryOptions(options.telemetry)
  }
}

function rateWindow (name: string, value: unknown, fallback: RateWindow | undefined): RateWindow {
  if (value === null || typeof value !== 'object') throw new errors.FST_MCP_INVALID_OPTION(name, 'must be { max, timeWindow }')
  const given = value as Partial<RateWindow>
  if (fallback === undefined && (given.max === undefined || given.timeWindow === undefined)) throw new errors.FST_MCP_INVALID_OPTION(name, 'must be { max, timeWindow }')
  return {
    max: integer(`${name}.max`, given.max, fallback?.max ?? 1, 1),
    timeWindow: integer(`${name}.timeWindow`, given.timeWindow, fallback?.timeWindow ?? 1, 1)
  }
}

const RATE_LIMIT_DEFAULTS: RateWindow = { max: 1000, timeWindow: 60_000 }

function rateLimitOptions (value: McpPluginOptions['rateLimit']): NormalizedRateLimit | undefined {
  if (value === undefined || value === false) return undefined
  if (value !== true && (value === null || typeof value !== 'object')) throw new errors.FST_MCP_INVALID_OPTION('rateLimit', 'must be a boolean or { max?, timeWindow?, initialize?, cache? }')
  const given: RateLimitOptions = value === true ? {} : value
  const limit = rateWindow('rateLimit', given, RATE_LIMIT_DEFAULTS)
  const initialize = given.initialize === undefined ? undefined : rateWindow('rateLimit.initialize', given.initialize, undefined)
  return { ...limit, initialize, cache: integer('rateLimit.cache', given.cache, 5000, 1) }
}

function telemetryOptions (value: McpPluginOptions['telemetry']): TelemetryOptions | false {
  if (value === undefined) return {}
  if (value === false) return false
  if (value === null || typeof value !== 'object') throw new errors.FST_MCP_INVALID_OPTION('telemetry', 'must be false or { tracer?, meter?, sessionIdAttribute? }')
  if (value.tracer !== undefined && typeof value.tracer?.startSpan !== 'function') throw new errors.FST_MCP_INVALID_OPTION('telemetry.tracer', 'must be an OpenTelemetry Tracer')
  if (value.meter !== undefined && typeof value.meter?.createHistogram !== 'function') throw new errors.FST_MCP_INVALID_OPTION('telemetry.meter', 'must be an OpenTelemetry Meter')
  if (value.sessionIdAttribute !== undefined && typeof value.sessionIdAttribute !== 'boolean') throw new errors.FST_MCP_INVALID_OPTION('telemetry.sessionIdAttribute', 'must be a boolean')
  return { tracer: value.tracer, meter: value.meter, sessionIdAttribute: value.sessionIdAttribute === true }
}

function requestStateOptions (value: McpPluginOptions['requestState']): NormalizedOptions['requestState'] {
  if (value === undefined) return { keys: undefined, ttlMs: DEFAULT_REQUEST_STATE_TTL_MS }
  if (value === null || typeof value !== 'object') throw new errors.FST_MCP_INVALID_OPTION('requestState', 'must be an object { keys?, ttlMs? }')
  let keys: Buffer[] | undefined
  if (value.keys !== undefined) {
    const bytes = Array.isArray(value.keys) ? value.keys.map(requestStateKey) : []
    if (bytes.length === 0 || bytes.some((key) => key === undefined)) {
      throw new errors.FST_MCP_INVALID_OPTION('requestState.keys', `must be a non-empty array of strings or Buffers of at least ${MIN_REQUEST_STATE_KEY_BYTES} bytes`)
    }
    keys = bytes as Buffer[]
  }
  return { keys, ttlMs: integer('requestState.ttlMs', value.ttlMs, DEFAULT_REQUEST_STATE_TTL_MS, 1) }
}

/** Every option name, in the order the README documents them (a test keeps the two equal). */
export const OPTION_NAMES = [
  'path', 'serverInfo', 'instructions', 'responseMode', 'stateless', 'eras', 'allowedHosts', 'allowedOrigins',
  'cors', 'auth', 'sessionTtlMs', 'maxSessions', 'touchIntervalMs', 'keepAliveMs', 'bodyLimit',
  'maxBatchSize', 'maxInFlightRequests', 'maxQueuedBytes', 'slowReaderTimeoutMs', 'requestTimeoutMs', 'maxPendingRequests', 'pageSize',
  'cacheHints', 'maxSubscriptions', 'lenientVersionHeader', 'sessionStore',
  'resumability', 'eventStore', 'maxEventsPerStream', 'maxEventBytesPerStream', 'maxEventBytes', 'sseRetryMs', 'maxStreamDurationMs', 'drainTimeoutMs',
  'redis', 'closeRedis', 'redisPrefix', 'redisTimeoutMs', 'nearCache',
  'rateLimit', 'health', 'requestState', 'maxInputRounds', 'telemetry'
] as const satisfies ReadonlyArray<keyof McpPluginOptions>

// Compile-time guard: adding an option without listing it above fails the type check.
type UnlistedOption = Exclude<keyof McpPluginOptions, typeof OPTION_NAMES[number]>
export const everyOptionListed: UnlistedOption extends never ? true : never = true
