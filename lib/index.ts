import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { FeatureApi } from './core/index.js'
import { errors } from './errors.js'
import { registerMetadataRoutes } from './auth/metadata.js'
import { mcpEndpoint } from './http/endpoint.js'
import { OriginPolicy } from './http/guard.js'
import { LingeringConnections } from './http/lingering-connections.js'
import type { ClientRequester } from './legacy/outbound.js'
import type { RootsListChangedListener } from './legacy/session-methods.js'
import { registerHealthRoutes } from './health.js'
import { PACKAGE_NAME, PACKAGE_VERSION } from './meta.js'
import { normalizeOptions, type McpPluginOptions } from './options.js'
import { createRuntime, type McpRuntime, type McpStats } from './runtime.js'
import type { SessionStore } from './stores/session-store.js'
import type { SessionObserver } from './core/session-lifecycle.js'

/** The `app.mcp` decorator. */
export interface McpDecorator extends FeatureApi {
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
  /** Hear of 2025 sessions starting and ending (with why: DELETE, expiry, …). Returns a function that stops it. */
  onSession (observer: SessionObserver): () => void
}

declare module 'fastify' {
  interface FastifyInstance {
    mcp: McpDecorator
  }
}

function decoratorOf (runtime: McpRuntime): McpDecorator {
  const { legacy } = runtime
  return {
    ...runtime.core.features,
    sessions: runtime.store,
    stats: runtime.stats,
    client: (sessionId) => legacy.client(sessionId),
    onRootsListChanged (listener) {
      legacy.rootsListeners.add(listener)
      return () => { legacy.rootsListeners.delete(listener) }
    },
    onSession: (observer) => runtime.sessionEvents.add(observer)
  }
}

async function fastifyMcp (app: FastifyInstance, pluginOptions: McpPluginOptions): Promise<void> {
  if (app.hasDecorator('mcp')) throw new errors.FST_MCP_ALREADY_REGISTERED()
  const options = normalizeOptions(pluginOptions, { name: PACKAGE_NAME, version: PACKAGE_VERSION })
  const runtime = await createRuntime(options, app.log)

  app.decorate('mcp', decoratorOf(runtime))
  app.decorateRequest('mcpAuth', null)

  await app.register(mcpEndpoint, { prefix: options.path === '/' ? '' : options.path, options, door: runtime.legacy, modern: runtime.modern, policy: new OriginPolicy(app, options), rateLimit: runtime.rateLimit, telemetry: runtime.telemetry })

  app.addHook('onReady', async () => {
    // Fastify's default: no limit on receiving a request, so a client that drips its body
    // holds a connection (and its memory) for ever. Said once; the application decides.
    if (app.server.requestTimeout === 0) {
      app.log.warn('mcp: the HTTP server has no requestTimeout, so a client sending its request slowly holds a connection for ever; set Fastify\'s requestTimeout (e.g. 10000) and http.headersTimeout: both end once the request is received, so SSE streams are not cut')
    }
  })

  if (options.auth !== undefined) registerMetadataRoutes(app, options.auth, runtime.core.featureScopes)

  if (options.health !== false) registerHealthRoutes(app, options.health, runtime)

  // Open SSE streams would keep server.close() waiting forever: end them in preClose, as
  // Fastify documents for long-lived connections, with `retry:` so clients reconnect (to
  // another instance, when there are several) and resume. Handlers still running may finish,
  // storing what they send, for up to drainTimeoutMs; the stores close after that. MCP
  // clients pool keep-alive connections: those left idle (or never used) would hold the
  // close for keepAliveTimeout or headersTimeout, so they are ended as they appear.
  const lingering = new LingeringConnections(app.server)
  app.addHook('preClose', async () => {
    runtime.beginClose()
    lingering.endWhileClosing()
  })
  app.addHook('onClose', async () => runtime.close())
}

/** The plugin: `app.register(mcp, options)`. */
const mcp = fp(fastifyMcp, { fastify: '5.x', name: PACKAGE_NAME })
export default mcp
export { mcp as fastifyMcp }

export { errors } from './errors.js'
export { mcpClientErrorHandler } from './http/client-error.js'
export { ErrorCode, McpError } from './core/jsonrpc.js'
export { MemorySessionStore, type MemorySessionStoreOptions } from './stores/memory-session-store.js'
export { MemoryEventStore, type MemoryEventStoreOptions } from './stores/memory-event-store.js'
export { formatEventId, parseEventId, type EventStore, type StoredEvent, type ReplayResult } from './stores/event-store.js'
export type { SessionRecord, SessionStore, SessionExpiredListener, SessionExpiry } from './stores/session-store.js'
export type { McpPluginOptions, McpAuthInfo, McpAuthOptions, ResponseMode, Eras, CacheHint, CacheableMethod, RateLimitOptions, RateWindow, TelemetryOptions } from './options.js'
export type { SessionObserver, SessionInfo, SessionEndReason } from './core/session-lifecycle.js'
export type { ToolDefinition, ToolHandler, ToolResult, ToolSchema } from './core/features/tools.js'
export type { JsonSchemaObject } from './core/features/json-schema.js'
export type { ResourceApi, ResourceDefinition, ResourceReader, ResourceReadResult, ResourceTemplateDefinition, ResourceTemplateReader, TemplateVariables, VariableCompleter } from './core/features/resources.js'
export type { PromptApi, PromptDefinition, PromptHandler, PromptResult, PromptCompleter, PromptArgumentsSchema } from './core/features/prompts.js'
export type { CompletionResult } from './core/features/completion.js'
export type { ToolContext } from './core/dispatcher.js'
export { inputRequired, isInputRequired, acceptedContent, sampledMessage, listedRoots } from './core/mrtr.js'
export type { InputRequest, InputResponse, InputRequiredResult, InputRequiredSpec, ElicitFormInputRequest, ElicitUrlInputRequest, CreateMessageInputRequest, ListRootsInputRequest } from './core/mrtr.js'
export { RequestStateCodec, type RequestStateCodecOptions, type RequestStateBinding, type RequestStateVerdict } from './core/request-state.js'
export type { ClientRequester, RequestOptions } from './legacy/outbound.js'
export type { RootsListChangedListener } from './legacy/session-methods.js'
export type { McpStats, Readiness } from './runtime.js'
export * from '../schemas/client.js'
export { SUPPORTED_VERSIONS, LATEST_VERSION, MODERN_VERSIONS } from './core/versions.js'
export * from '../schemas/jsonrpc.js'
export * from '../schemas/mcp.js'
