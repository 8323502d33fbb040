import type { FastifyReply, FastifyRequest } from 'fastify'
import type { NormalizedAuth } from '../auth/options.js'
import { refuseInsufficientScope } from '../auth/scope-gate.js'
import { missingScopes } from '../auth/scopes.js'
import type { JsonRpcNotification, JsonRpcRequest, JsonRpcResponse, RequestId } from '../../schemas/jsonrpc.js'
import type { Implementation } from '../../schemas/mcp.js'
import { META, isEnvelope, metaOf, readEnvelope, type Envelope } from '../core/envelope.js'
import type { McpCore } from '../core/index.js'
import { ErrorCode, clip, errorResponse } from '../core/jsonrpc.js'
import { MODERN_VERSIONS, isSupportedModernVersion, isSupportedVersion } from '../core/versions.js'
import type { Eras } from '../http/era.js'
import { ConnectionSet } from '../http/sse-connection.js'
import { quote, shorten, type ResponseMode } from '../http/wire.js'
import type { Logger } from '../log.js'
import { settledWithin } from '../timeout.js'
import type { MessageBus } from '../stores/message-bus.js'
import { ModernExchange, ModernInFlight, ModernRequest, type ModernExchangeDeps } from './exchange.js'
import { checkNameHeader, checkParamHeaders, single, trimOws } from './headers.js'
import { ListenRouter, filterProblem, type SubscriptionFilter } from './listen.js'
import { serverMetaOf, stampedJson, type CacheHint, type ServerMeta } from './results.js'

/** What the 2026-07-28 front door reads of the plugin's options. */
export interface ModernOptions {
  readonly eras: Eras
  readonly serverInfo: Implementation
  readonly instructions: string | undefined
  readonly responseMode: ResponseMode
  readonly keepAliveMs: number
  readonly maxQueuedBytes: number
  readonly slowReaderTimeoutMs: number
  readonly drainTimeoutMs: number
  /** Cache hints per cacheable method. */
  readonly cacheHints: Readonly<Record<string, CacheHint>>
  readonly maxSubscriptions: number
  readonly maxSubscriptionUris: number
  /** Serve the known client bug of a legacy (or comma-repeated) version header beside a valid modern claim. */
  readonly lenientVersionHeader: boolean
  /** Authorization, for the scopes of each operation. */
  readonly auth?: NormalizedAuth | undefined
}

/** The methods of 2025 sessions that 2026-07-28 removed: 404 -32601 on the modern path. */
const REMOVED: ReadonlySet<string> = new Set(['initialize', 'ping', 'logging/setLevel', 'resources/subscribe', 'resources/unsubscribe'])

const SHUTTING_DOWN = 'Server shutting down: the request was aborted'

function trimmed (value: string | undefined): string | undefined {
  return value === undefined ? undefined : trimOws(value)
}

/**
 * The 2026-07-28 front door: stateless requests that carry who the client is in their own
 * `_meta`. It checks a request in the order the revision's conformance depends on (envelope,
 * header cross-checks, version, required headers, method), runs it through the same core as
 * the 2025 sessions, and dresses the answer (`resultType`, server identity, cache hints). It
 * never touches the session store.
 */
export class ModernDoor {
  readonly #options: ModernOptions
  readonly #core: McpCore
  readonly #log: Logger
  readonly #deps: ModernExchangeDeps
  readonly #serverMeta: ServerMeta
  readonly #inFlight = new ModernInFlight()
  readonly listen: ListenRouter
  readonly connections = new ConnectionSet()
  closing = false
  #drained: Promise<void> = Promise.resolve()

  constructor (options: ModernOptions, core: McpCore, log: Logger, bus: MessageBus | undefined, channel: string) {
    this.#options = options
    this.#core = core
    this.#log = log
    this.#serverMeta = serverMetaOf(options.serverInfo)
    const streamOptions = { keepAliveMs: options.keepAliveMs, maxQueuedBytes: options.maxQueuedBytes, slowReaderTimeoutMs: options.slowReaderTimeoutMs, logger: log }
    this.#deps = { mode: options.responseMode, streamOptions, connections: this.connections }
    this.listen = new ListenRouter({
      maxSubscriptions: options.maxSubscriptions,
      maxSubscriptionUris: options.maxSubscriptionUris,
      streamOptions,
      connections: this.connections,
      serverInfo: options.serverInfo,
      logger: log,
      bus,
      channel
    })
    core.announceTo(this.listen.announcer)
  }

  async start (): Promise<void> {
    await this.listen.start()
  }

  /** Requests running application code on this door. */
  get inFlightCount (): number { return this.#inFlight.size }

  /** `preClose`: listen streams end with their completion result; running handlers may finish. */
  beginClose (): void {
    this.closing = true
    this.listen.endAll()
    this.#drained = this.#drain()
  }

  async close (): Promise<void> {
    await this.#drained
    await this.listen.close()
  }

  async #drain (): Promise<void> {
    const { drainTimeoutMs } = this.#options
    if (await settledWithin(this.#inFlight.whenIdle(), drainTimeoutMs)) return
    this.#log.warn({ requests: this.#inFlight.size, drainTimeoutMs }, 'mcp: aborting 2026-07-28 handlers still running at shutdown')
    for (const request of this.#inFlight.values()) {
      request.exchange.respond(JSON.stringify(errorResponse(request.id, ErrorCode.TransportError, SHUTTING_DOWN)), 503)
      request.cancel(SHUTTING_DOWN)
    }
  }

  /** A refusal before the request runs: an HTTP status and a JSON-RPC error echoing the id. */
  #refuse (reply: FastifyReply, status: number, id: RequestId | null, code: number, message: string, data?: unknown): FastifyReply {
    return reply.code(status).type('application/json').send(JSON.stringify(errorResponse(id, code, message, data)))
  }

  /** A POST the endpoint classified as 2026-07-28 (one message, never a batch or a response). */
  readonly post = (request: FastifyRequest, reply: FastifyReply): FastifyReply | Promise<FastifyReply> => {
    const message = request.body as JsonRpcRequest | JsonRpcNotification
    if (message.id === undefined) return this.#notification(request, reply, message)
    const { id, method } = message
    const headers = request.headers
    const meta = metaOf(message)
    const versionHeader = single(headers['mcp-protocol-version'])

    if (meta === undefined || !Object.hasOwn(meta, META.protocolVersion)) {
      // Classified modern by its header alone: never served as 2025 (the body has the last word).
      if (method === 'initialize') return this.#refuse(reply, 400, id, ErrorCode.HeaderMismatch, `Header mismatch: initialize selects the 2025 handshake, but the MCP-Protocol-Version header names ${quote(versionHeader ?? '')}`)
      return this.#refuse(reply, 400, id, ErrorCode.InvalidParams, 'Invalid params: the request is missing the required per-request envelope key(s): _meta', { envelope: { missing: ['_meta'] } })
    }
    const envelope = readEnvelope(meta)
    if (!isEnvelope(envelope)) {
      return this.#refuse(reply, 400, id, ErrorCode.InvalidParams, `Invalid params: _meta["${envelope.key}"] ${envelope.problem}`, { envelope })
    }
    const claim = envelope.protocolVersion
    if (versionHeader !== undefined && versionHeader !== claim && !this.#lenient(request, versionHeader, claim)) {
      return this.#refuse(reply, 400, id, ErrorCode.HeaderMismatch, `Header mismatch: the MCP-Protocol-Version header ${quote(versionHeader)} does not match the _meta protocol version ${quote(claim)}`, { mismatch: { header: shorten(versionHeader), body: shorten(claim) } })
    }
    const methodHeader = trimmed(single(headers['mcp-method']))
    if (methodHeader !== undefined && methodHeader !== method) {
      return this.#refuse(reply, 400, id, ErrorCode.HeaderMismatch, `Header mismatch: the Mcp-Method header ${quote(methodHeader)} does not match the method ${quote(method)}`, { mismatch: { header: shorten(methodHeader), body: shorten(method) } })
    }
    if (!isSupportedModernVersion(claim)) {
      return this.#refuse(reply, 400, id, ErrorCode.UnsupportedProtocolVersion, `Unsupported protocol version: ${quote(claim)}`, { supported: MODERN_VERSIONS, requested: shorten(claim) })
    }
    if (versionHeader === undefined) return this.#refuse(reply, 400, id, ErrorCode.HeaderMismatch, 'Header mismatch: the MCP-Protocol-Version header is required')
    if (methodHeader === undefined) return this.#refuse(reply, 400, id, ErrorCode.HeaderMismatch, 'Header mismatch: the Mcp-Method header is required')
    const params = message.params as Record<string, unknown> | undefined
    const nameProblem = checkNameHeader(headers, method, params)
    if (nameProblem !== undefined) return this.#refuse(reply, 400, id, ErrorCode.HeaderMismatch, nameProblem.message, nameProblem.data)

    if (method === 'subscriptions/listen') return this.#listen(request, reply, id, params, claim)
    if (method === 'tools/call' && typeof params?.name === 'string') {
      const declared = this.#core.tools.paramHeaders(params.name)
      if (declared !== undefined && declared.length > 0) {
        const problem = checkParamHeaders(headers, declared, params.arguments)
        if (problem !== undefined) return this.#refuse(reply, 400, id, ErrorCode.HeaderMismatch, problem.message, problem.data)
      }
    }
    // Ladder row 9: a token without the operation's scopes gets 403 before anything runs.
    const auth = this.#options.auth
    if (auth !== undefined && refuseInsufficientScope(auth, request, reply, id, this.#core.requiredScopes(method, params))) return reply
    if (method === 'server/discover') {
      const operation = this.#core.dispatcher.telemetry?.operation(method, true, id, params, claim, undefined)
      const response: JsonRpcResponse = { jsonrpc: '2.0', id, result: this.#discover() }
      this.#answer(reply, method, response)
      operation?.end(response)
      return reply
    }
    if (REMOVED.has(method) || !this.#core.dispatcher.has(method)) {
      return this.#refuse(reply, 404, id, ErrorCode.MethodNotFound, `Method not found: ${clip(method)}`)
    }
    if (this.closing) {
      reply.header('retry-after', '1')
      return this.#refuse(reply, 503, id, ErrorCode.TransportError, 'Service Unavailable: the server is shutting down')
    }
    return this.#dispatch(request, reply, message, envelope)
  }

  #dispatch (request: FastifyRequest, reply: FastifyReply, message: JsonRpcRequest, envelope: Envelope): FastifyReply | Promise<FastifyReply> {
    const exchange = new ModernExchange(reply, this.#deps)
    const scope = new ModernRequest(envelope, request.mcpAuth ?? undefined, request.log, reply, exchange, this.#inFlight)
    const answer = this.#core.dispatcher.handleRequest(message, scope)
    if (!(answer instanceof Promise)) return this.#answerOn(exchange, reply, message.method, answer)
    return answer.then((response) => {
      // Undefined: cancelled (the client went away); nothing more is sent.
      if (response === undefined || scope.cancelled) return reply
      return this.#answerOn(exchange, reply, message.method, response)
    })
  }

  #answer (reply: FastifyReply, method: string, response: JsonRpcResponse): FastifyReply {
    return this.#answerOn(new ModernExchange(reply, this.#deps), reply, method, response)
  }

  #answerOn (exchange: ModernExchange, reply: FastifyReply, method: string, response: JsonRpcResponse): FastifyReply {
    // A capability the request did not declare is the client's mistake, found while running
    // it: an HTTP 400, as for the checks before it (the spec and the SDK agree).
    const status = response.error?.code === ErrorCode.MissingRequiredClientCapability ? 400 : 200
    exchange.respond(stampedJson(response, method, this.#serverMeta, this.#options.cacheHints), status)
    return reply
  }

  /** What the endpoint serves in this revision (the capabilities are the same registrations'). */
  #discover (): Record<string, unknown> {
    const result: Record<string, unknown> = {
      supportedVersions: MODERN_VERSIONS,
      capabilities: this.#core.dispatcher.capabilities()
    }
    const { instructions } = this.#options
    if (instructions !== undefined) result.instructions = instructions
    return result
  }

  #listen (request: FastifyRequest, reply: FastifyReply, id: RequestId, params: Record<string, unknown> | undefined, claim: string): FastifyReply {
    const filter = params?.notifications
    const problem = filterProblem(filter)
    if (problem !== undefined) return this.#refuse(reply, 200, id, ErrorCode.InvalidParams, `Invalid params: ${problem}`)
    if (this.closing) {
      reply.header('retry-after', '1')
      return this.#refuse(reply, 503, id, ErrorCode.TransportError, 'Service Unavailable: the server is shutting down')
    }
    // One SERVER span for the whole subscription: it ends with the completion result, or
    // cancelled when the client closes the stream.
    const operation = this.#core.dispatcher.telemetry?.operation('subscriptions/listen', true, id, params, claim, undefined)
    const ended = operation === undefined ? undefined : (response: JsonRpcResponse | undefined) => operation.end(response, response === undefined)
    this.listen.open(reply, id, this.#readableOnly(request, filter as SubscriptionFilter), this.#core.dispatcher.capabilities(), ended)
    return reply
  }

  /**
   * With scopes per resource, updates are honoured only for the URIs the caller may read: the
   * others are left out of the acknowledgement, as anything else the server does not serve.
   */
  #readableOnly (request: FastifyRequest, filter: SubscriptionFilter): SubscriptionFilter {
    const uris = filter.resourceSubscriptions
    if (this.#options.auth === undefined || uris === undefined) return filter
    const granted = request.mcpAuth?.scopes
    const readable = uris.filter((uri) => missingScopes(granted, this.#core.requiredScopes('resources/read', { uri })).length === 0)
    return { ...filter, resourceSubscriptions: readable }
  }

  /**
   * Notifications are accepted (202) and have nothing to act on: a modern client cancels by
   * closing its stream, and its `notifications/cancelled` for a listen comes with that close.
   * The spec defines no header rules for them, so only a disagreeing `Mcp-Method` is refused.
   */
  #notification (request: FastifyRequest, reply: FastifyReply, message: JsonRpcNotification): FastifyReply {
    const methodHeader = trimmed(single(request.headers['mcp-method']))
    if (methodHeader !== undefined && methodHeader !== message.method) {
      return this.#refuse(reply, 400, null, ErrorCode.HeaderMismatch, `Header mismatch: the Mcp-Method header ${quote(methodHeader)} does not match the method ${quote(message.method)}`)
    }
    const telemetry = this.#core.dispatcher.telemetry
    if (telemetry?.recording === true) {
      const claim = readEnvelope(metaOf(message) ?? {})
      telemetry.operation(message.method, false, undefined, message.params, isEnvelope(claim) && isSupportedModernVersion(claim.protocolVersion) ? claim.protocolVersion : undefined, undefined)?.end()
    }
    return reply.code(202).send()
  }

  /**
   * Opt-in leniency for a known client bug: a header naming a 2025 revision, or the claimed
   * version repeated comma-joined by a proxy, beside a supported modern claim. Served, with a
   * warning; anything else (e.g. an unknown claim) is still refused.
   */
  #lenient (request: FastifyRequest, header: string, claim: string): boolean {
    if (!this.#options.lenientVersionHeader || !isSupportedModernVersion(claim)) return false
    const repeated = header.split(',').every((part) => part.trim() === claim)
    if (!repeated && !isSupportedVersion(header)) return false
    request.log.warn({ header, claim }, 'mcp: MCP-Protocol-Version header disagrees with the _meta claim; served (lenientVersionHeader)')
    return true
  }
}
