/**
 * Names from the OpenTelemetry semantic conventions for MCP (the GenAI conventions
 * repository, docs/gen-ai/mcp.md), and the plugin's own metrics named in the same style.
 */

export const ATTR = Object.freeze({
  method: 'mcp.method.name',
  protocolVersion: 'mcp.protocol.version',
  sessionId: 'mcp.session.id',
  resourceUri: 'mcp.resource.uri',
  requestId: 'jsonrpc.request.id',
  toolName: 'gen_ai.tool.name',
  promptName: 'gen_ai.prompt.name',
  operationName: 'gen_ai.operation.name',
  errorType: 'error.type',
  rpcStatusCode: 'rpc.response.status_code',
  networkTransport: 'network.transport',
  networkProtocolName: 'network.protocol.name',
  // The plugin's own (bounded values only).
  endReason: 'mcp.session.end_reason',
  streamKind: 'mcp.stream.kind',
  httpStatusCode: 'http.response.status_code',
  dbOperation: 'db.operation.name',
  replayedEvents: 'mcp.stream.replayed_events'
})

export const METRIC = Object.freeze({
  operationDuration: 'mcp.server.operation.duration',
  sessionDuration: 'mcp.server.session.duration',
  sessionsActive: 'mcp.server.session.active',
  sessionsStarted: 'mcp.server.session.started',
  sessionsEnded: 'mcp.server.session.ended',
  streamsOpen: 'mcp.server.stream.open',
  listenSubscriptions: 'mcp.server.listen.subscriptions',
  replays: 'mcp.server.stream.replays',
  replayedEvents: 'mcp.server.stream.replayed_events',
  eventStoreBytes: 'mcp.server.event_store.size',
  redisDuration: 'mcp.server.redis.command.duration',
  refused: 'mcp.server.request.refused'
})

/**
 * Method names the conventions list (and the 2026-07-28 ones): any other method a client
 * sends that the server does not serve is recorded as `_OTHER`, so a client cannot grow
 * the number of series.
 */
export const WELL_KNOWN_METHODS: ReadonlySet<string> = new Set([
  'completion/complete', 'elicitation/create', 'initialize', 'logging/setLevel', 'notifications/cancelled',
  'notifications/initialized', 'notifications/message', 'notifications/progress', 'notifications/prompts/list_changed',
  'notifications/resources/list_changed', 'notifications/resources/updated', 'notifications/roots/list_changed',
  'notifications/tools/list_changed', 'ping', 'prompts/get', 'prompts/list', 'resources/list', 'resources/read',
  'resources/subscribe', 'resources/templates/list', 'resources/unsubscribe', 'roots/list', 'sampling/createMessage',
  'tools/call', 'tools/list', 'server/discover', 'subscriptions/listen'
])

/** `ExplicitBucketBoundaries` the conventions give for the MCP duration histograms, in seconds. */
export const DURATION_BUCKETS: readonly number[] = Object.freeze([0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300])

/** Redis commands take well under a millisecond: the operation buckets would put all in the first. */
export const REDIS_BUCKETS: readonly number[] = Object.freeze([0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5])

/** Span event names (replays and reconnects happen outside any MCP message). */
export const EVENT = Object.freeze({
  reconnect: 'mcp.stream.reconnect',
  replay: 'mcp.stream.replay',
  inputRequired: 'mcp.input_required'
})

/**
 * Why a 2025 session ended, as `mcp.session.end_reason`: the client's DELETE, or idle past
 * `sessionTtlMs`. (At `maxSessions` new sessions are refused, never old ones evicted; a session
 * asked for by another principal answers 404 and lives on.)
 */
export type SessionEndReason = 'deleted' | 'expired'

/** The kinds of SSE connection, as `mcp.stream.kind`. */
export type StreamKind = 'get' | 'post' | 'modern'
