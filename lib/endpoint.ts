import { randomBytes } from 'node:crypto'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import fastifyCors, { type FastifyCorsOptions } from '@fastify/cors'
import { JsonRpcBodySchema, type JsonRpcBody, type JsonRpcMessage, type JsonRpcNotification, type JsonRpcRequest } from '../schemas/jsonrpc.js'
import { errors } from './errors.js'
import type { NormalizedOptions } from './options.js'
import { shortSessionId, type ContextScope, type NotificationScope } from './core/context.js'
import { ErrorCode, McpError, errorResponse, resultResponse } from './core/jsonrpc.js'
import type { McpProtocol } from './core/dispatcher.js'
import type { LocalStreams } from './legacy/local-streams.js'
import type { SessionRecord, SessionStore } from './stores/session-store.js'
import { HEADERLESS_VERSION, SUPPORTED_VERSIONS, isSupportedVersion, revision } from './core/versions.js'
import { parseJsonBody, envelopeValidator, BodyError } from './http/body.js'
import { PostExchange, type ExchangeDeps } from './legacy/exchange.js'
import { createGuards, type OriginPolicy } from './http/guard.js'
import { SseConnection } from './http/sse-connection.js'
import { writeEvents } from './legacy/event-stream.js'
import { parseEventId, type EventStore } from './stores/event-store.js'
import { standaloneStreamId } from './legacy/local-streams.js'
import type { StandaloneStreams } from './legacy/standalone.js'
import type { RedisCluster } from './legacy/cluster.js'
import { SESSION_NOT_FOUND, accepts, quote, sendHttpError } from './http/wire.js'

export interface RouteDeps {
  readonly options: NormalizedOptions
  readonly store: SessionStore
  readonly live: LocalStreams
  readonly protocol: McpProtocol
  readonly policy: OriginPolicy
  readonly exchange: ExchangeDeps
  /** Set by `preClose`: new sessions and streams are refused. */
  readonly lifecycle: { closing: boolean }
  readonly standalone: StandaloneStreams
  /** The other instances, when sessions are shared through Redis. */
  readonly cluster: RedisCluster | undefined
  /** Close what this instance holds for a session that ended. */
  readonly closeSession: (sessionId: string) => void
  /** The session ended here: close it on this instance and on every other one. */
  readonly endSession: (sessionId: string) => void
}

/** The headers a browser client needs to speak MCP through CORS. */
export const MCP_REQUEST_HEADERS = ['Content-Type', 'Mcp-Session-Id', 'MCP-Protocol-Version', 'Last-Event-ID', 'Authorization']
export const MCP_EXPOSED_HEADERS = ['Mcp-Session-Id', 'MCP-Protocol-Version', 'WWW-Authenticate']

/** 192 bits from the CSPRNG, base64url: visible ASCII only, as the spec requires. */
export function newSessionId (): string {
  return randomBytes(24).toString('base64url')
}

function isRequest (message: JsonRpcMessage): message is JsonRpcRequest {
  return 'method' in message && message.id !== undefined
}

function isNotification (message: JsonRpcMessage): message is JsonRpcNotification {
  return 'method' in message && message.id === undefined
}

function single (header: string | string[] | undefined): string | undefined {
  return Array.isArray(header) ? header[0] : header
}

/** Fastify errors raised before the handler (parser, limits, validation) → JSON-RPC bodies. */
function mcpErrorHandler (error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error instanceof BodyError) {
    return error.code === 'MCP_PARSE_ERROR'
      ? sendHttpError(reply, 400, ErrorCode.ParseError, error.message)
      : sendHttpError(reply, 400, ErrorCode.InvalidRequest, error.message)
  }
  if (error.validation !== undefined || error.code === 'FST_ERR_VALIDATION') {
    return sendHttpError(reply, 400, ErrorCode.InvalidRequest, error.message)
  }
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_TYPE':
      return sendHttpError(reply, 415, ErrorCode.ConnectionClosed, 'Unsupported Media Type: Content-Type must be application/json')
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return sendHttpError(reply, 413, ErrorCode.ConnectionClosed, `Payload Too Large: the body must not exceed ${reply.routeOptions.bodyLimit} bytes`)
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return sendHttpError(reply, 400, ErrorCode.ParseError, 'Parse error: empty body')
    case 'FST_MCP_STORE_UNAVAILABLE':
      // Redis is away: say so at once, and when to retry, rather than hang or crash.
      request.log.warn({ err: error.cause ?? error }, 'mcp: shared store unreachable')
      reply.header('retry-after', '1')
      return sendHttpError(reply, 503, ErrorCode.ConnectionClosed, 'Service Unavailable: the session store is unreachable')
  }
  const status = error.statusCode ?? 500
  if (status >= 400 && status < 500) {
    return sendHttpError(reply, status, ErrorCode.ConnectionClosed, `Bad Request: ${error.message}`)
  }
  request.log.error({ err: error }, 'mcp: unexpected error')
  return sendHttpError(reply, 500, ErrorCode.InternalError, 'Internal error')
}

/**
 * The MCP endpoint: POST (messages), GET (the standalone stream), DELETE (end a session)
 * and 405 for the rest. Registered encapsulated, so its body parser, error handler and
 * hooks apply to these routes only.
 */
export async function mcpRoutes (app: FastifyInstance, deps: RouteDeps): Promise<void> {
  const { options, store, live, protocol, lifecycle, standalone, cluster } = deps
  const { stateless, touchIntervalMs } = options
  const events = deps.exchange.env.events

  app.removeAllContentTypeParsers()
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: options.bodyLimit }, parseJsonBody)
  app.setErrorHandler(mcpErrorHandler)

  if (options.cors !== undefined) {
    if (app.hasRequestDecorator('corsPreflightEnabled')) {
      // Its hooks already reach these routes; a second @fastify/cors would throw at boot.
      throw new errors.FST_MCP_INVALID_OPTION('cors', '@fastify/cors is already registered on a parent instance: configure CORS there (allow Mcp-Session-Id, MCP-Protocol-Version, Last-Event-ID; expose Mcp-Session-Id) and leave this option off')
    }
    const user = options.cors
    const corsOptions: FastifyCorsOptions = {
      // Unless the application says otherwise, CORS follows the same Origin policy as the guard.
      origin: (origin, callback) => callback(null, deps.policy.originAllowed(origin, undefined) ? (origin ?? false) : false),
      methods: stateless ? ['POST'] : ['GET', 'POST', 'DELETE'],
      ...user,
      allowedHeaders: mergeHeaders(MCP_REQUEST_HEADERS, user.allowedHeaders),
      exposedHeaders: mergeHeaders(MCP_EXPOSED_HEADERS, user.exposedHeaders)
    }
    await app.register(fastifyCors, corsOptions)
  }
  for (const guard of createGuards(deps.policy, options)) app.addHook('onRequest', guard)

  const allow = stateless ? 'POST' : 'GET, POST, DELETE'
  const notAllowed = async (_request: FastifyRequest, reply: FastifyReply) => {
    reply.header('allow', allow)
    return sendHttpError(reply, 405, ErrorCode.ConnectionClosed, 'Method Not Allowed')
  }

  /** 400 for an unsupported MCP-Protocol-Version header; otherwise the header (or undefined). */
  function versionHeader (request: FastifyRequest, reply: FastifyReply): string | undefined | false {
    const header = single(request.headers['mcp-protocol-version'])
    if (header !== undefined && !isSupportedVersion(header)) {
      sendHttpError(reply, 400, ErrorCode.ConnectionClosed, `Bad Request: Unsupported protocol version: ${quote(header)} (supported versions: ${SUPPORTED_VERSIONS.join(', ')})`)
      return false
    }
    return header
  }

  /** The `Mcp-Session-Id` of the request, or undefined once 400 has been answered. */
  function sessionIdOf (request: FastifyRequest, reply: FastifyReply): string | undefined {
    const id = single(request.headers['mcp-session-id'])
    if (id === undefined || id === '') {
      sendHttpError(reply, 400, ErrorCode.ConnectionClosed, 'Bad Request: Mcp-Session-Id header is required')
      return undefined
    }
    return id
  }

  /** The looked-up session if this request may use it (404 otherwise); refreshes its TTL, throttled. */
  function admitSession (request: FastifyRequest, reply: FastifyReply, session: SessionRecord | undefined): SessionRecord | undefined {
    // A session bound to another principal is reported exactly like an unknown one.
    if (session === undefined || session.principal !== (request.mcpAuth?.principal ?? undefined)) {
      reply.code(404).type('application/json').send(JSON.stringify(SESSION_NOT_FOUND))
      return undefined
    }
    const now = Date.now()
    if (now - session.lastActiveAt >= touchIntervalMs) {
      store.touch(session.id, now).catch((err: unknown) => request.log.warn({ err }, 'mcp: session touch failed'))
    }
    return session
  }

  /** The session named by the request, or an answer already sent (400/404). */
  async function resolveSession (request: FastifyRequest, reply: FastifyReply): Promise<SessionRecord | undefined> {
    const id = sessionIdOf(request, reply)
    return id === undefined ? undefined : admitSession(request, reply, await store.get(id))
  }

  async function handleInitialize (request: FastifyRequest, reply: FastifyReply, message: JsonRpcRequest): Promise<FastifyReply> {
    if (lifecycle.closing) {
      reply.header('retry-after', '1')
      return sendHttpError(reply, 503, ErrorCode.ConnectionClosed, 'Service Unavailable: the server is shutting down')
    }
    let init: ReturnType<McpProtocol['initialize']>
    try {
      init = protocol.initialize(message.params)
    } catch (err) {
      if (!(err instanceof McpError)) throw err
      return reply.code(200).type('application/json').send(JSON.stringify(errorResponse(message.id, err.code, err.message)))
    }
    if (!stateless) {
      const now = Date.now()
      const { params, result } = init
      const record: SessionRecord = {
        id: newSessionId(),
        protocolVersion: result.protocolVersion,
        clientInfo: params.clientInfo,
        clientCapabilities: params.capabilities,
        serverCapabilities: result.capabilities,
        initialized: false,
        createdAt: now,
        lastActiveAt: now
      }
      if (request.mcpAuth !== null) record.principal = request.mcpAuth.principal
      if (!await store.create(record)) {
        // Places free up as sessions are deleted or swept; the memory store sweeps at least
        // once a minute (or once per TTL), so that is when retrying can succeed.
        reply.header('retry-after', String(Math.max(1, Math.ceil(Math.min(options.sessionTtlMs, 60_000) / 1000))))
        return sendHttpError(reply, 503, ErrorCode.ConnectionClosed, 'Service Unavailable: session limit reached')
      }
      reply.header('mcp-session-id', record.id)
      request.log.info({ mcpSession: shortSessionId(record.id), protocolVersion: record.protocolVersion, client: `${params.clientInfo.name}/${params.clientInfo.version}` }, 'mcp: session created')
    }
    new PostExchange(reply, deps.exchange, false, 1).respond(resultResponse(message.id, init.result))
    return reply
  }

  // Runs before the body is read, so a client that cannot take the answer gets 406 first.
  // Hooks on the POST route are callback-style: no promise per request on the hot path.
  let lastAccept: string | undefined
  let lastAcceptOk = false
  function checkPostAccept (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    const accept = request.headers.accept
    // Clients send the same Accept on every request: remember the last verdict.
    if (accept !== lastAccept || accept === undefined) {
      lastAcceptOk = accepts(accept, 'application/json') && accepts(accept, 'text/event-stream')
      lastAccept = accept
    }
    if (!lastAcceptOk) {
      sendHttpError(reply, 406, ErrorCode.ConnectionClosed, 'Not Acceptable: Client must accept both application/json and text/event-stream')
      return
    }
    done()
  }

  // Before validation: Fastify hands a missing body to the validator as `null`, which would
  // read as "not a JSON-RPC message" rather than the 415 / -32700 it is.
  function checkBodyPresent (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    if (request.body === undefined) {
      if (request.headers['content-type'] === undefined) sendHttpError(reply, 415, ErrorCode.ConnectionClosed, 'Unsupported Media Type: Content-Type must be application/json')
      else sendHttpError(reply, 400, ErrorCode.ParseError, 'Parse error: empty body')
      return
    }
    done()
  }

  /** The protocol version header, then the session (unless stateless); undefined once answered. */
  async function resolveScope (request: FastifyRequest, reply: FastifyReply): Promise<NotificationScope | undefined> {
    const header = versionHeader(request, reply)
    if (header === false) return undefined
    let session: SessionRecord | undefined
    if (!stateless) {
      session = await resolveSession(request, reply)
      if (session === undefined) return undefined
    }
    return {
      session,
      protocolVersion: session === undefined ? header ?? HEADERLESS_VERSION : session.protocolVersion,
      auth: request.mcpAuth ?? undefined,
      requestLogger: request.log
    }
  }

  // The hot path: one message on a known session. It is written out flat (one await for
  // the store, none for a synchronous method) because each async hop costs per request.
  async function handlePost (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const body = request.body as JsonRpcBody
    if (Array.isArray(body)) return handleBatch(request, reply, body)
    if (isRequest(body) && body.method === 'initialize') return handleInitialize(request, reply, body)
    const header = versionHeader(request, reply)
    if (header === false) return reply
    let session: SessionRecord | undefined
    if (!stateless) {
      const id = sessionIdOf(request, reply)
      if (id === undefined) return reply
      session = admitSession(request, reply, await store.get(id))
      if (session === undefined) return reply
    }
    const protocolVersion = session === undefined ? header ?? HEADERLESS_VERSION : session.protocolVersion
    const auth = request.mcpAuth ?? undefined
    if (!isRequest(body)) {
      const scope = { session, protocolVersion, auth, requestLogger: request.log }
      if (isNotification(body)) await protocol.handleNotification(body, scope)
      else protocol.handleResponse(body, scope)
      return reply.code(202).send()
    }
    const exchange = new PostExchange(reply, deps.exchange, false, 1, session)
    const answer = protocol.handleRequest(body, { session, protocolVersion, auth, requestLogger: request.log, exchange })
    const response = answer instanceof Promise ? await answer : answer
    // `undefined`: cancelled, and the exchange was released by the cancellation itself.
    if (response !== undefined) exchange.respond(response)
    return reply
  }

  async function handleBatch (request: FastifyRequest, reply: FastifyReply, batch: JsonRpcMessage[]): Promise<FastifyReply> {
    if (batch.some((m) => isRequest(m) && m.method === 'initialize')) {
      return sendHttpError(reply, 400, ErrorCode.InvalidRequest, 'Invalid Request: initialize must not be part of a batch')
    }
    const scope = await resolveScope(request, reply)
    if (scope === undefined) return reply
    if (!revision(scope.protocolVersion).batches) {
      return sendHttpError(reply, 400, ErrorCode.InvalidRequest, `Invalid Request: JSON-RPC batches are not supported in protocol version ${scope.protocolVersion}`)
    }
    const requests = batch.filter(isRequest)
    for (const message of batch) {
      if (isNotification(message)) await protocol.handleNotification(message, scope)
      else if (!isRequest(message)) protocol.handleResponse(message, scope)
    }
    if (requests.length === 0) return reply.code(202).send()
    const exchange = new PostExchange(reply, deps.exchange, true, requests.length, scope.session)
    const requestScope: ContextScope = { ...scope, exchange }
    await Promise.all(requests.map(async (message) => {
      const response = await protocol.handleRequest(message, requestScope)
      if (response !== undefined) exchange.respond(response)
    }))
    return reply
  }

  async function handleGet (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    if (!accepts(request.headers.accept, 'text/event-stream')) {
      return sendHttpError(reply, 406, ErrorCode.ConnectionClosed, 'Not Acceptable: Client must accept text/event-stream')
    }
    if (versionHeader(request, reply) === false) return reply
    const session = await resolveSession(request, reply)
    if (session === undefined) return reply
    if (lifecycle.closing) {
      reply.header('retry-after', '1')
      return sendHttpError(reply, 503, ErrorCode.ConnectionClosed, 'Service Unavailable: the server is shutting down')
    }
    const lastEventId = single(request.headers['last-event-id'])
    // Without an event store there is nothing to resume: a plain standalone stream, as the SDK does.
    if (lastEventId !== undefined && events !== undefined) return resumeStream(request, reply, session, lastEventId, events)
    const connection = openConnection(reply, session)
    const polling = events !== undefined && revision(session.protocolVersion).polling
    if (polling) limitDuration(connection)
    await standalone.open(session, connection, polling).catch((err: unknown) => failedStream(request, connection, err))
    // A DELETE that ran between the lookup above and the attach would have missed this stream.
    if (await store.get(session.id) === undefined) deps.closeSession(session.id)
    return reply
  }

  /**
   * GET with `Last-Event-ID`: replay that stream's events after the id, then keep the
   * connection on the stream if it is still live (the standalone stream, or a POST whose
   * handler is running, here or, with Redis, on another instance); otherwise end it after
   * the replay. Ids naming no stream of this session (another session's, made up, a POST
   * stream evicted or expired) answer 400 and replay nothing; the session's own GET stream
   * id always resumes it (its id is derived from the session id, so it cannot be guessed).
   */
  async function resumeStream (request: FastifyRequest, reply: FastifyReply, session: SessionRecord, lastEventId: string, events: EventStore): Promise<FastifyReply> {
    const parsed = parseEventId(lastEventId)
    if (parsed === undefined) return unknownEventId(reply)
    if (parsed.streamId === standaloneStreamId(session.id)) {
      const connection = openConnection(reply, session)
      if (revision(session.protocolVersion).polling) limitDuration(connection)
      await standalone.resume(session, connection, lastEventId).catch((err: unknown) => failedStream(request, connection, err))
      return reply
    }
    const target = live.findStream(session.id, parsed.streamId)
    if (target !== undefined) {
      void target.resume(openConnection(reply, session), lastEventId)
      return reply
    }
    if (cluster !== undefined) {
      // Its handler may be running on another instance: follow the shared history live.
      const followed = await cluster.follow(session, parsed.streamId, lastEventId, () => openConnection(reply, session))
      return followed === undefined ? unknownEventId(reply) : reply
    }
    const history = await events.replayAfter(session.id, lastEventId)
    if (history === undefined) return unknownEventId(reply)
    // A POST stream that is no longer live here: its history is all there is.
    const connection = openConnection(reply, session)
    await writeEvents(connection, history.events)
    connection.end(history.ended ? undefined : options.sseRetryMs)
    return reply
  }

  /** After the hijack there is no status left to send: end the stream; the client retries. */
  function failedStream (request: FastifyRequest, connection: SseConnection, err: unknown): void {
    request.log.warn({ err }, 'mcp: could not set up the SSE stream')
    connection.end(options.sseRetryMs)
  }

  function unknownEventId (reply: FastifyReply): FastifyReply {
    return sendHttpError(reply, 400, ErrorCode.ConnectionClosed, 'Bad Request: unknown Last-Event-ID for this session')
  }

  function openConnection (reply: FastifyReply, session: SessionRecord): SseConnection {
    reply.header('mcp-session-id', session.id)
    reply.hijack()
    return new SseConnection(reply.raw, reply.getHeaders(), deps.exchange.streamOptions, deps.exchange.streams)
  }

  /** maxStreamDurationMs: rotate long GET connections (load balancers, proxies); the client resumes. */
  function limitDuration (connection: SseConnection): void {
    if (options.maxStreamDurationMs === 0) return
    const timer = setTimeout(() => connection.end(options.sseRetryMs), options.maxStreamDurationMs).unref()
    connection.onClose(() => clearTimeout(timer))
  }

  async function handleDelete (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    if (versionHeader(request, reply) === false) return reply
    const session = await resolveSession(request, reply)
    if (session === undefined) return reply
    await store.delete(session.id)
    deps.endSession(session.id)
    request.log.info({ mcpSession: shortSessionId(session.id) }, 'mcp: session deleted')
    return reply.code(204).send()
  }

  const url = '/'
  app.route({
    method: 'POST',
    url,
    bodyLimit: options.bodyLimit,
    schema: { body: JsonRpcBodySchema },
    validatorCompiler: envelopeValidator(options.maxBatchSize) as never,
    onRequest: checkPostAccept,
    preValidation: checkBodyPresent,
    handler: handlePost
  })
  const others = ['PUT', 'PATCH', 'HEAD']
  if (options.cors === undefined) others.push('OPTIONS')
  if (stateless) {
    others.push('GET', 'DELETE')
  } else {
    app.route({ method: 'GET', url, exposeHeadRoute: false, handler: handleGet })
    app.route({ method: 'DELETE', url, handler: handleDelete })
  }
  // Answered in onRequest so that no body is read for a method we do not serve.
  app.route({ method: others, url, onRequest: notAllowed, handler: notAllowed })
  if (options.cors !== undefined) {
    // @fastify/cors answers real preflights in its hook; anything else reaching here is not one.
    app.route({ method: 'OPTIONS', url, onRequest: notAllowed, handler: notAllowed })
  }
}

function mergeHeaders (required: string[], extra: string | string[] | undefined): string[] {
  const list = extra === undefined ? [] : Array.isArray(extra) ? extra : extra.split(',').map((h) => h.trim())
  const seen = new Set(required.map((h) => h.toLowerCase()))
  return [...required, ...list.filter((h) => h !== '' && !seen.has(h.toLowerCase()))]
}
