import { randomBytes } from 'node:crypto'
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { TObject } from '@sinclair/typebox'
import { errors } from './errors.js'
import type { ExchangeDeps } from './legacy/exchange.js'
import { OriginPolicy } from './http/guard.js'
import { mcpRoutes } from './endpoint.js'
import { ConnectionSet } from './http/sse-connection.js'
import { SESSION_NOT_FOUND } from './http/wire.js'
import type { StreamEnv } from './legacy/event-stream.js'
import { MemoryEventStore } from './stores/memory-event-store.js'
import { openRedis } from './stores/redis.js'
import type { EventStore } from './stores/event-store.js'
import { ErrorCode, errorResponse } from './core/jsonrpc.js'
import { PACKAGE_NAME, PACKAGE_VERSION } from './meta.js'
import { normalizeOptions, type McpPluginOptions } from './options.js'
import { McpProtocol } from './core/dispatcher.js'
import { ToolRegistry, type ToolDefinition, type ToolHandler, type ToolSchema } from './core/features/tools.js'
import { CompletionRegistry } from './core/features/completion.js'
import { installPrompts, type PromptApi } from './core/features/prompts.js'
import { installResources, type ResourceApi } from './core/features/resources.js'
import type { FeatureCore } from './core/features/feature.js'
import { RedisCluster } from './legacy/cluster.js'
import { LocalStandaloneStreams, type StandaloneStreams } from './legacy/standalone.js'
import { LocalStreams } from './legacy/local-streams.js'
import { MemorySessionStore } from './stores/memory-session-store.js'
import type { SessionRecord, SessionStore } from './stores/session-store.js'
import { ClientRequester, OutboundRequests, newInstanceId } from './core/outbound.js'

/** Counts for health checks and metrics. */
export interface McpStats {
  /** Live sessions in the store. */
  sessions: number
  /** Open SSE streams on this instance (GET streams and streaming POST answers). */
  streams: number
}

/** The `app.mcp` decorator. */
export interface McpDecorator extends ResourceApi, PromptApi {
  /**
   * Register a tool. Schemas are TypeBox objects, compiled now; the handler's arguments are
   * typed from `inputSchema`. Throws `FST_MCP_INVALID_TOOL` / `FST_MCP_DUPLICATE_TOOL`.
   * A tool added after the server started is announced with `notifications/tools/list_changed`.
   */
  tool<I extends ToolSchema = TObject, O extends ToolSchema | undefined = undefined>(definition: ToolDefinition<I, O>, handler: ToolHandler<I, O>): void
  /** Remove a tool; announced like an addition. Returns whether it existed. */
  removeTool (name: string): boolean
  /** The session store in use. */
  readonly sessions: SessionStore
  /** Live session and stream counts. */
  stats (): Promise<McpStats>
  /**
   * Ask a session's client for something outside any request (elicitation, sampling, roots),
   * over its GET stream. Inside a tool, use the handler context instead: its requests travel
   * on the tool call's own stream.
   */
  client (sessionId: string): Promise<ClientRequester>
  /** Called when a client sends `notifications/roots/list_changed`. Returns an unsubscribe function. */
  onRootsListChanged (listener: RootsListChangedListener): () => void
}

/** Hears `notifications/roots/list_changed`; `app.mcp.client(sessionId).listRoots()` fetches the new roots. */
export type RootsListChangedListener = (sessionId: string, session: Readonly<SessionRecord>) => void

declare module 'fastify' {
  interface FastifyInstance {
    mcp: McpDecorator
  }
}

const SHUTTING_DOWN = Object.freeze(errorResponse(null, ErrorCode.ConnectionClosed, 'Service Unavailable: the server is shutting down'))
const TOOLS_LIST_CHANGED = Object.freeze({ jsonrpc: '2.0', method: 'notifications/tools/list_changed' })

async function fastifyMcp (app: FastifyInstance, pluginOptions: McpPluginOptions): Promise<void> {
  if (app.hasDecorator('mcp')) throw new errors.FST_MCP_ALREADY_REGISTERED()
  const options = normalizeOptions(pluginOptions, { name: PACKAGE_NAME, version: PACKAGE_VERSION })

  // Stores: one you pass, else Redis when configured, else memory.
  const redis = options.redis === undefined ? undefined : openRedis(options, app.log)
  if (redis !== undefined) await redis.ready()
  const ownStore = options.sessionStore === undefined
  const store: SessionStore = options.sessionStore ?? redis?.sessions ?? new MemorySessionStore({ ttlMs: options.sessionTtlMs, maxSessions: options.maxSessions })
  const ownEvents = options.eventStore === undefined
  const events: EventStore | undefined = !options.resumability
    ? undefined
    : options.eventStore ?? redis?.events ?? new MemoryEventStore({ maxEventsPerStream: options.maxEventsPerStream, maxBytesPerStream: options.maxEventBytesPerStream, maxBytes: options.maxEventBytes })
  const env: StreamEnv = { events, retryMs: options.sseRetryMs, logger: app.log }
  const outbound = new OutboundRequests(options, newInstanceId())
  const live = new LocalStreams(env, (sessionId) => {
    outbound.dropSession(sessionId)
    events?.deleteSession(sessionId).catch((err: unknown) => app.log.warn({ err }, 'mcp: event history not deleted'))
  })
  // With Redis, the instances route to each other; GET streams are fed from the shared history.
  const cluster = redis === undefined ? undefined : new RedisCluster(redis, live, outbound, options.sseRetryMs, app.log)
  if (cluster !== undefined) await cluster.start()
  const standalone: StandaloneStreams = cluster ?? new LocalStandaloneStreams(live, store, app.log)
  const tools = new ToolRegistry()
  const streams = new ConnectionSet()
  const protocol = new McpProtocol({ options, store, live, tools, outbound, standalone, remote: cluster })
  const rootsListeners = new Set<RootsListChangedListener>()
  protocol.onNotification('notifications/roots/list_changed', (_params, { session }) => {
    if (session === undefined) return
    for (const listener of rootsListeners) {
      try {
        listener(session.id, session)
      } catch (err) {
        app.log.error({ err }, 'mcp: roots/list_changed listener threw')
      }
    }
  })
  const lifecycle = { closing: false }
  // Stream ids end up in event ids: unique per instance, and the prefix keeps instances apart.
  const streamPrefix = 'p' + randomBytes(4).toString('base64url')
  let streamCount = 0
  const exchange: ExchangeDeps = {
    mode: options.responseMode,
    streams,
    env,
    registry: live,
    newStreamId: () => streamPrefix + (streamCount++).toString(36),
    streamOptions: { keepAliveMs: options.keepAliveMs, maxQueuedBytes: options.maxQueuedBytes, slowReaderTimeoutMs: options.slowReaderTimeoutMs, logger: app.log }
  }

  const core: FeatureCore = {
    options,
    store,
    live,
    protocol,
    completion: new CompletionRegistry(protocol),
    logger: app.log,
    notifySessions: (message, filter, uri) => standalone.notify(message, filter, uri)
  }

  // A session that ended: what this instance holds for it (streams, handlers, pending
  // requests) is closed here; `endSession` also tells the other instances.
  const closeSession = (sessionId: string): void => {
    if (cluster !== undefined) cluster.closeLocal(sessionId)
    else live.terminate(sessionId, SESSION_NOT_FOUND)
  }
  const endSession = (sessionId: string): void => {
    closeSession(sessionId)
    cluster?.terminate(sessionId)
  }
  // The store announces expiries on every instance itself.
  const unsubscribeExpired = store.onExpired(closeSession)
  // A client holding the GET stream open is using its session even if it sends no POST:
  // refresh those sessions on the same throttle as requests, and at least three times per
  // TTL so one late tick on a busy event loop does not expire them.
  const streamTouchMs = Math.max(1, Math.min(Math.max(options.touchIntervalMs, 1000), Math.floor(options.sessionTtlMs / 3)))
  const streamTouchTimer = setTimeout(function touchStreamingSessions () {
    const now = Date.now()
    for (const sessionId of standalone.connectedSessions()) {
      store.touch(sessionId, now).then((alive) => {
        // Gone without a word (its record lapsed, or Redis lost its data): stop holding it open.
        if (alive === false) endSession(sessionId)
      }, (err: unknown) => app.log.warn({ err }, 'mcp: session touch failed'))
    }
    streamTouchTimer.refresh()
  }, streamTouchMs).unref()
  tools.onChange(() => {
    core.notifySessions(TOOLS_LIST_CHANGED, (session) => session.serverCapabilities.tools?.listChanged === true)
      .catch((err: unknown) => app.log.warn({ err }, 'mcp: tools/list_changed not delivered'))
  })

  const stats = async (): Promise<McpStats> => ({ sessions: await store.size(), streams: streams.size })
  const decorator: McpDecorator = {
    tool (definition, handler) { tools.add(definition, handler) },
    removeTool (name) { return tools.remove(name) },
    sessions: store,
    stats,
    async client (sessionId) {
      const session = await store.get(sessionId)
      if (session === undefined) throw new errors.FST_MCP_CLIENT_REQUEST('client()', 'no such session')
      return new ClientRequester(outbound, session, (message) => standalone.send(sessionId, message))
    },
    onRootsListChanged (listener) {
      rootsListeners.add(listener)
      return () => { rootsListeners.delete(listener) }
    },
    ...installResources(core),
    ...installPrompts(core)
  }
  app.decorate('mcp', decorator)
  app.decorateRequest('mcpAuth', null)

  await app.register(mcpRoutes, {
    prefix: options.path === '/' ? '' : options.path,
    options,
    store,
    live,
    protocol,
    policy: new OriginPolicy(app, options),
    exchange,
    lifecycle,
    standalone,
    cluster,
    closeSession,
    endSession
  })

  if (options.health !== false) {
    app.get(options.health, async (_request, reply) => {
      const counts = await stats()
      return reply.code(lifecycle.closing ? 503 : 200).send({ status: lifecycle.closing ? 'closing' : 'ok', ...counts })
    })
  }

  // Open SSE streams would keep server.close() waiting forever: end them in preClose, as
  // Fastify documents for long-lived connections, with `retry:` so clients reconnect (to
  // another instance, when there are several) and resume. Handlers still running may finish,
  // storing what they send, for up to drainTimeoutMs; the stores close after that.
  let drained: Promise<void> = Promise.resolve()
  app.addHook('preClose', async () => {
    lifecycle.closing = true
    streams.endAll(options.sseRetryMs)
    drained = drainHandlers()
  })
  app.addHook('onClose', async () => {
    await drained
    clearTimeout(streamTouchTimer)
    unsubscribeExpired()
    if (ownEvents && events !== undefined) await events.close()
    if (ownStore) await store.close()
    await cluster?.close()
    if (redis !== undefined) await redis.close()
  })

  // Idle means no handler running and every POST stream's end recorded (the last messages
  // may still be on their way to an event store across the network when a handler returns).
  async function drainHandlers (): Promise<void> {
    if (await settledWithin(live.whenIdle(), options.drainTimeoutMs)) return
    app.log.warn({ requests: live.inflightCount, drainTimeoutMs: options.drainTimeoutMs }, 'mcp: aborting handlers still running at shutdown')
    live.abortAll('Server shutting down', 503, SHUTTING_DOWN, (id) => errorResponse(id, ErrorCode.ConnectionClosed, 'Server shutting down: the request was aborted'))
    // The aborted streams store their error answers and ends; bounded, should a store hang.
    await settledWithin(live.whenIdle(), options.redisTimeoutMs)
  }
}

/** Whether `promise` settled within `ms`. */
async function settledWithin (promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<false>((resolve) => { timer = setTimeout(resolve, ms, false) })
  const settled = await Promise.race([promise.then(() => true, () => true), late])
  clearTimeout(timer)
  return settled
}

/** The plugin: `app.register(mcp, options)`. */
const mcp = fp(fastifyMcp, { fastify: '5.x', name: PACKAGE_NAME })
export default mcp
export { mcp as fastifyMcp }

export { errors } from './errors.js'
export { ErrorCode, McpError } from './core/jsonrpc.js'
export { MemorySessionStore, type MemorySessionStoreOptions } from './stores/memory-session-store.js'
export { MemoryEventStore, type MemoryEventStoreOptions } from './stores/memory-event-store.js'
export { formatEventId, parseEventId, type EventStore, type StoredEvent, type ReplayResult } from './stores/event-store.js'
export type { SessionRecord, SessionStore, SessionExpiredListener } from './stores/session-store.js'
export type { McpPluginOptions, McpAuthInfo, McpAuthOptions, ResponseMode } from './options.js'
export type { ToolDefinition, ToolHandler, ToolResult, ToolSchema } from './core/features/tools.js'
export type { JsonSchemaObject } from './core/features/json-schema.js'
export type { ResourceApi, ResourceDefinition, ResourceReader, ResourceReadResult, ResourceTemplateDefinition, ResourceTemplateReader, TemplateVariables, VariableCompleter } from './core/features/resources.js'
export type { PromptApi, PromptDefinition, PromptHandler, PromptResult, PromptCompleter, PromptArgumentsSchema } from './core/features/prompts.js'
export type { CompletionResult } from './core/features/completion.js'
export type { ToolContext } from './core/context.js'
export type { ClientRequester, RequestOptions } from './core/outbound.js'
export * from '../schemas/client.js'
export { SUPPORTED_VERSIONS, LATEST_VERSION } from './core/versions.js'
export * from '../schemas/jsonrpc.js'
export * from '../schemas/mcp.js'
