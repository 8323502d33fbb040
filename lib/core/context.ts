import type { FastifyBaseLogger } from 'fastify'
import type { RequestId } from '../../schemas/jsonrpc.js'
import type { LoggingLevel, ProgressToken } from '../../schemas/mcp.js'
import { errors } from '../errors.js'
import type { PostExchange } from '../legacy/exchange.js'
import type { McpAuthInfo } from '../options.js'
import type { CreateMessageParams, CreateMessageResult, ElicitResult, ListRootsResult } from '../../schemas/client.js'
import type { InFlight } from '../legacy/local-streams.js'
import type { StandaloneStreams } from '../legacy/standalone.js'
import { ClientRequester, type Channel, type OutboundRequests, type RequestOptions } from './outbound.js'
import type { SessionRecord } from '../stores/session-store.js'
import { isLogLevel, shouldSend } from './logging.js'

/** What a tool handler gets besides its arguments. */
export interface ToolContext {
  /** Aborted by the client's `notifications/cancelled` or when the session ends; not by a dropped connection. */
  readonly signal: AbortSignal
  /** The JSON-RPC id of the request being served. */
  readonly requestId: RequestId
  /** The session's id (undefined in stateless mode). */
  readonly sessionId: string | undefined
  /** The session record (read-only; undefined in stateless mode). */
  readonly session: Readonly<SessionRecord> | undefined
  /** The protocol revision in use for this request. */
  readonly protocolVersion: string
  /** The principal from the `auth` hook, if any. */
  readonly auth: McpAuthInfo | undefined
  /** The request's `params._meta`, if any. */
  readonly meta: Readonly<Record<string, unknown>> | undefined
  /** A pino child logger bound to the request and (abbreviated) session id. */
  readonly logger: FastifyBaseLogger
  /**
   * Send `notifications/progress` for this request. A no-op unless the request carried a
   * `progressToken`; `progress` must increase with each call. Resolves when the stream can
   * take more.
   */
  progress (progress: number, total?: number, message?: string): Promise<void>
  /** Send `notifications/message` to the client, honouring its `logging/setLevel`. */
  log (level: LoggingLevel, data: unknown, logger?: string): Promise<void>
  /**
   * Ask the user, through the client, to fill in `requestedSchema` (form-mode elicitation,
   * 2025-06-18+). Rejects with `FST_MCP_CLIENT_CAPABILITY` if the client did not declare
   * elicitation, `FST_MCP_CLIENT_TIMEOUT` after `requestTimeoutMs`, or an `McpError` the
   * client answered with. Sent on this request's stream; cancelled with the request.
   */
  elicit (message: string, requestedSchema: Record<string, unknown>, options?: RequestOptions): Promise<ElicitResult>
  /** URL-mode elicitation (2025-11-25 clients declaring `elicitation.url`). */
  elicitUrl (message: string, url: string, elicitationId: string, options?: RequestOptions): Promise<ElicitResult>
  /** `sampling/createMessage`: ask the client's model (the client must declare `sampling`). */
  sample (params: CreateMessageParams, options?: RequestOptions): Promise<CreateMessageResult>
  /** `roots/list`: the client's roots (the client must declare `roots`). */
  listRoots (options?: RequestOptions): Promise<ListRootsResult>
  /**
   * SSE polling (2025-11-25): close this request's connection now without ending its
   * stream. The client reconnects with `Last-Event-ID` after the `retry:` delay and receives
   * everything sent meanwhile, the result included. Lets a long handler free the connection
   * (and any proxy in between). Returns false, doing nothing, for clients older than
   * 2025-11-25, without resumability, in `json` mode, or once answered.
   */
  closeStream (): boolean
}

/** What a handler context needs to reach the client beyond its own POST. */
export interface ClientAccess {
  readonly outbound: OutboundRequests
  readonly standalone: StandaloneStreams
}

const NEVER_ABORTED = new AbortController().signal

/** Session ids are secrets: logs carry only a prefix. */
export function shortSessionId (id: string): string {
  return id.length > 8 ? id.slice(0, 8) + '…' : id
}

/** Where a message came from: what notifications need to be acted on. */
export interface NotificationScope {
  readonly session: SessionRecord | undefined
  readonly protocolVersion: string
  readonly auth: McpAuthInfo | undefined
  readonly requestLogger: FastifyBaseLogger
}

/** …and for a request, the POST its answer (and related messages) go out on. */
export interface ContextScope extends NotificationScope {
  readonly exchange: PostExchange
}

export class RequestContext implements ToolContext {
  readonly requestId: RequestId
  readonly meta: Readonly<Record<string, unknown>> | undefined
  readonly #scope: ContextScope
  readonly #inflight: InFlight | undefined
  readonly #client: ClientAccess
  #requester: ClientRequester | undefined
  #logger: FastifyBaseLogger | undefined
  #lastProgress = -Infinity
  #done = false

  constructor (scope: ContextScope, requestId: RequestId, meta: Record<string, unknown> | undefined, inflight: InFlight | undefined, client: ClientAccess) {
    this.#scope = scope
    this.requestId = requestId
    this.meta = meta
    this.#inflight = inflight
    this.#client = client
  }

  get signal (): AbortSignal {
    const inflight = this.#inflight
    if (inflight === undefined) return NEVER_ABORTED
    return (inflight.controller ??= new AbortController()).signal
  }

  get sessionId (): string | undefined { return this.#scope.session?.id }
  get session (): Readonly<SessionRecord> | undefined { return this.#scope.session }
  get protocolVersion (): string { return this.#scope.protocolVersion }
  get auth (): McpAuthInfo | undefined { return this.#scope.auth }

  get logger (): FastifyBaseLogger {
    if (this.#logger === undefined) {
      const session = this.#scope.session
      this.#logger = session === undefined
        ? this.#scope.requestLogger
        : this.#scope.requestLogger.child({ mcpSession: shortSessionId(session.id) })
    }
    return this.#logger
  }

  /** The request has been answered (or cancelled): later progress and logs are dropped. */
  finish (): void { this.#done = true }

  progress (progress: number, total?: number, message?: string): Promise<void> {
    const token = this.meta?.progressToken as ProgressToken | undefined
    if (token === undefined || this.#done || this.#inflight?.cancelled === true) return Promise.resolve()
    if (typeof progress !== 'number' || !Number.isFinite(progress) || progress <= this.#lastProgress) {
      throw new errors.FST_MCP_PROGRESS_NOT_INCREASING(progress, this.#lastProgress)
    }
    this.#lastProgress = progress
    const params: Record<string, unknown> = { progressToken: token, progress }
    if (total !== undefined) params.total = total
    if (message !== undefined) params.message = message
    return this.#scope.exchange.sendRelated({ jsonrpc: '2.0', method: 'notifications/progress', params })
  }

  elicit (message: string, requestedSchema: Record<string, unknown>, options?: RequestOptions): Promise<ElicitResult> {
    return this.#requesterOrFail('elicitation/create').then((r) => r.elicit(message, requestedSchema, options))
  }

  elicitUrl (message: string, url: string, elicitationId: string, options?: RequestOptions): Promise<ElicitResult> {
    return this.#requesterOrFail('elicitation/create').then((r) => r.elicitUrl(message, url, elicitationId, options))
  }

  sample (params: CreateMessageParams, options?: RequestOptions): Promise<CreateMessageResult> {
    return this.#requesterOrFail('sampling/createMessage').then((r) => r.sample(params, options))
  }

  listRoots (options?: RequestOptions): Promise<ListRootsResult> {
    return this.#requesterOrFail('roots/list').then((r) => r.listRoots(options))
  }

  async #requesterOrFail (method: string): Promise<ClientRequester> {
    const session = this.#scope.session
    if (session === undefined) throw new errors.FST_MCP_CLIENT_REQUEST(method, 'stateless mode has no session for the client to answer on')
    if (this.#requester === undefined) {
      const { exchange } = this.#scope
      const { standalone } = this.#client
      // The request's own stream first (spec: messages relating to a request travel with it);
      // in JSON response mode that stream does not exist, so the GET stream carries it.
      const channel: Channel = async (message) => {
        if (exchange.canCarry) {
          await exchange.sendRelated(message)
          return true
        }
        return standalone.send(session.id, message)
      }
      this.#requester = new ClientRequester(this.#client.outbound, session, channel, this.signal)
    }
    return this.#requester
  }

  closeStream (): boolean {
    if (this.#done || this.#inflight?.cancelled === true) return false
    return this.#scope.exchange.closeConnection()
  }

  log (level: LoggingLevel, data: unknown, logger?: string): Promise<void> {
    if (!isLogLevel(level)) throw new errors.FST_MCP_INVALID_LOG_LEVEL(String(level))
    if (this.#done || this.#inflight?.cancelled === true) return Promise.resolve()
    if (!shouldSend(level, this.#scope.session?.logLevel)) return Promise.resolve()
    const params: Record<string, unknown> = logger === undefined ? { level, data } : { level, logger, data }
    return this.#scope.exchange.sendRelated({ jsonrpc: '2.0', method: 'notifications/message', params })
  }
}
