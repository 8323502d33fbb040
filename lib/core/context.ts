import type { RequestId } from '../../schemas/jsonrpc.js'
import type { LoggingLevel, ProgressToken } from '../../schemas/mcp.js'
import type { CreateMessageParams, CreateMessageResult, ElicitResult, ListRootsResult } from '../../schemas/client.js'
import { errors } from '../errors.js'
import { shortSessionId, type Logger } from '../log.js'
import type { ClientRequests, McpAuthInfo, RequestOptions, RequestScope } from './caller.js'
import { isLogLevel, shouldSend } from './logging.js'
import type { SessionRecord } from './session-record.js'

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
  readonly logger: Logger
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

/** The handler context: a view of the request's scope, built for methods that run application code. */
export class RequestContext implements ToolContext {
  readonly requestId: RequestId
  readonly meta: Readonly<Record<string, unknown>> | undefined
  readonly #scope: RequestScope
  #client: ClientRequests | undefined
  #logger: Logger | undefined
  #lastProgress = -Infinity
  #done = false

  constructor (scope: RequestScope, requestId: RequestId, meta: Record<string, unknown> | undefined) {
    this.#scope = scope
    this.requestId = requestId
    this.meta = meta
  }

  get signal (): AbortSignal { return this.#scope.signal }
  get sessionId (): string | undefined { return this.#scope.session?.id }
  get session (): Readonly<SessionRecord> | undefined { return this.#scope.session }
  get protocolVersion (): string { return this.#scope.protocolVersion }
  get auth (): McpAuthInfo | undefined { return this.#scope.auth }

  get logger (): Logger {
    if (this.#logger === undefined) {
      const session = this.#scope.session
      this.#logger = session === undefined
        ? this.#scope.logger
        : this.#scope.logger.child({ mcpSession: shortSessionId(session.id) })
    }
    return this.#logger
  }

  /** The request has been answered (or cancelled): later progress and logs are dropped. */
  finish (): void { this.#done = true }

  get #over (): boolean { return this.#done || this.#scope.cancelled }

  progress (progress: number, total?: number, message?: string): Promise<void> {
    const token = this.meta?.progressToken as ProgressToken | undefined
    if (token === undefined || this.#over) return Promise.resolve()
    if (typeof progress !== 'number' || !Number.isFinite(progress) || progress <= this.#lastProgress) {
      throw new errors.FST_MCP_PROGRESS_NOT_INCREASING(progress, this.#lastProgress)
    }
    this.#lastProgress = progress
    const params: Record<string, unknown> = { progressToken: token, progress }
    if (total !== undefined) params.total = total
    if (message !== undefined) params.message = message
    return this.#scope.sendRelated({ jsonrpc: '2.0', method: 'notifications/progress', params })
  }

  elicit (message: string, requestedSchema: Record<string, unknown>, options?: RequestOptions): Promise<ElicitResult> {
    return this.#ask('elicitation/create').then((client) => client.elicit(message, requestedSchema, options))
  }

  elicitUrl (message: string, url: string, elicitationId: string, options?: RequestOptions): Promise<ElicitResult> {
    return this.#ask('elicitation/create').then((client) => client.elicitUrl(message, url, elicitationId, options))
  }

  sample (params: CreateMessageParams, options?: RequestOptions): Promise<CreateMessageResult> {
    return this.#ask('sampling/createMessage').then((client) => client.sample(params, options))
  }

  listRoots (options?: RequestOptions): Promise<ListRootsResult> {
    return this.#ask('roots/list').then((client) => client.listRoots(options))
  }

  async #ask (method: string): Promise<ClientRequests> {
    this.#client ??= this.#scope.client(method)
    return this.#client
  }

  closeStream (): boolean {
    if (this.#over) return false
    return this.#scope.closeConnection()
  }

  log (level: LoggingLevel, data: unknown, logger?: string): Promise<void> {
    if (!isLogLevel(level)) throw new errors.FST_MCP_INVALID_LOG_LEVEL(String(level))
    if (this.#over || !shouldSend(level, this.#scope.logLevel)) return Promise.resolve()
    const params: Record<string, unknown> = logger === undefined ? { level, data } : { level, logger, data }
    return this.#scope.sendRelated({ jsonrpc: '2.0', method: 'notifications/message', params })
  }
}
