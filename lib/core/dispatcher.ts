import { TypeCompiler } from '@sinclair/typebox/compiler'
import type { CreateMessageParams, CreateMessageResult, ElicitResult, ListRootsResult } from '../../schemas/client.js'
import type { JsonRpcNotification, JsonRpcRequest, JsonRpcResponse, RequestId } from '../../schemas/jsonrpc.js'
import { InitializeParamsSchema, type Implementation, type InitializeParams, type InitializeResult, type LoggingLevel, type ProgressToken, type ServerCapabilities } from '../../schemas/mcp.js'
import { errors } from '../errors.js'
import type { Logger } from '../log.js'
import type { Caller, ClientRequests, McpAuthInfo, RequestOptions, RequestScope } from './caller.js'
import { InputRounds, type RoundInputs } from './input-rounds.js'
import { ErrorCode, McpError, clip, errorResponse, resultResponse, validParams } from './jsonrpc.js'
import { isLogLevel, shouldSend } from './logging.js'
import { INPUT_REQUIRED_METHODS, isInputRequired } from './mrtr.js'
import type { SessionRecord } from './session-record.js'
import { negotiateVersion } from './versions.js'
import type { McpTelemetry } from '../telemetry/telemetry.js'

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
  /** What the client declared it can do (its session's, or this request's `_meta`). */
  readonly clientCapabilities: Readonly<Record<string, unknown>>
  /** The request's `params._meta`, if any. */
  readonly meta: Readonly<Record<string, unknown>> | undefined
  /** A pino child logger bound to the request and (abbreviated) session id. */
  readonly logger: Logger
  /**
   * Multi round-trip requests: the client's answers to the input requests of the handler's
   * last `inputRequired(...)` result, by the keys it chose; undefined on a first call. They
   * come from the client: a missing or unusable answer calls for a new `inputRequired(...)`.
   */
  readonly inputResponses: Readonly<Record<string, unknown>> | undefined
  /**
   * The `requestState` of the handler's last `inputRequired(...)` result, verified (signed by
   * this server, for this principal, method and tool, prompt or resource, not expired);
   * undefined on a first call.
   */
  readonly requestState: unknown
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
  #lastProgress = -Infinity
  #done = false
  #inputs: RoundInputs | undefined

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
  get clientCapabilities (): Readonly<Record<string, unknown>> { return this.#scope.clientCapabilities }
  get inputResponses (): Readonly<Record<string, unknown>> | undefined { return this.#inputs?.inputResponses }
  get requestState (): unknown { return this.#inputs?.requestState }

  /** The inputs the handler runs with from now on (a retry, or the next round on a 2025 session). */
  enterRound (inputs: RoundInputs): void { this.#inputs = inputs }

  /** The front door's logger for the request (the 2025 one binds the abbreviated session id). */
  get logger (): Logger {
    return this.#scope.logger
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

export type Params = Record<string, unknown>
/** `ctx` is set for methods that run application code only. */
export type MethodHandler = (params: Params, ctx: RequestContext | undefined, caller: Caller) => Promise<Params> | Params
/** Acts on a client notification; malformed params are the handler's to ignore. */
export type NotificationHandler = (params: unknown, caller: Caller) => void | Promise<void>

export interface MethodOptions {
  /**
   * The method runs application code (a tool, a prompt, a resource reader): it gets a handler
   * context and is registered with its front door so it can be cancelled. The others (ping,
   * lists) answer at once and skip both.
   */
  runsHandler?: boolean
}

interface MethodSpec {
  readonly handler: MethodHandler
  readonly runsHandler: boolean
  /** The method may answer `input_required` (multi round-trip requests). */
  readonly inputRequired: boolean
}

/** What the core says about itself at `initialize`. */
export interface ServerIdentity {
  readonly serverInfo: Implementation
  readonly instructions: string | undefined
}

const checkInitialize = TypeCompiler.Compile(InitializeParamsSchema)

/**
 * JSON-RPC dispatch of the MCP core: methods and notifications by name, capabilities derived
 * from what the features registered. It knows nothing of HTTP, sessions or stores: each
 * message comes with its caller (and, for a request, its scope) from a front door.
 */
export class Dispatcher {
  readonly #identity: ServerIdentity
  readonly #methods = new Map<string, MethodSpec>()
  readonly #notifications = new Map<string, NotificationHandler>()
  readonly #contributors: Array<(capabilities: ServerCapabilities) => void> = []
  #capabilities: ServerCapabilities | undefined
  readonly #rounds: InputRounds
  /** Traces and metrics of every request and notification; undefined when the application turned them off. */
  readonly telemetry: McpTelemetry | undefined

  constructor (identity: ServerIdentity, rounds: InputRounds = new InputRounds(), telemetry?: McpTelemetry) {
    this.#identity = identity
    this.#rounds = rounds
    this.telemetry = telemetry
    this.contributeCapabilities((capabilities) => { capabilities.logging = {} })
    this.method('ping', () => ({}))
  }

  /** Serve a JSON-RPC method. */
  method (name: string, handler: MethodHandler, options: MethodOptions = {}): void {
    const runsHandler = options.runsHandler === true
    this.#methods.set(name, { handler, runsHandler, inputRequired: runsHandler && INPUT_REQUIRED_METHODS[name] !== undefined })
  }

  /** Whether a method is served. */
  has (name: string): boolean {
    return this.#methods.has(name)
  }

  /** Act on a client notification. */
  onNotification (method: string, handler: NotificationHandler): void {
    this.#notifications.set(method, handler)
  }

  /** Add to the capabilities declared at `initialize`; call `invalidateCapabilities` when the input changes. */
  contributeCapabilities (contributor: (capabilities: ServerCapabilities) => void): void {
    this.#contributors.push(contributor)
    this.invalidateCapabilities()
  }

  invalidateCapabilities (): void {
    this.#capabilities = undefined
  }

  /** Server capabilities, derived from what is registered (cached until that changes). */
  capabilities (): ServerCapabilities {
    if (this.#capabilities === undefined) {
      const capabilities: ServerCapabilities = {}
      for (const contribute of this.#contributors) contribute(capabilities)
      this.#capabilities = Object.freeze(capabilities)
    }
    return this.#capabilities
  }

  /** Validate `initialize` params and build the result; the front door creates the session. */
  initialize (params: unknown): { params: InitializeParams, result: InitializeResult } {
    const valid = validParams(checkInitialize, params ?? {})
    const { serverInfo, instructions } = this.#identity
    const result: InitializeResult = {
      protocolVersion: negotiateVersion(valid.protocolVersion),
      capabilities: this.capabilities(),
      serverInfo
    }
    if (instructions !== undefined) result.instructions = instructions
    return { params: valid, result }
  }

  /**
   * Answer one request. Synchronous methods (ping, lists) answer at once, without a promise;
   * the others resolve later, `undefined` when cancelled (no answer is due).
   */
  handleRequest (message: JsonRpcRequest, scope: RequestScope): JsonRpcResponse | Promise<JsonRpcResponse | undefined> {
    const telemetry = this.telemetry
    // Without an SDK behind the API, nothing is built: not even the arguments.
    if (telemetry === undefined || !telemetry.recording) return this.#handle(message, scope)
    const operation = telemetry.operation(message.method, this.#methods.has(message.method), message.id ?? undefined, message.params, scope.protocolVersion, scope.session?.id)
    if (operation === undefined) return this.#handle(message, scope)
    let answer: ReturnType<Dispatcher['handleRequest']>
    try {
      answer = operation.run(() => this.#handle(message, scope))
    } catch (err) {
      // Not an answer (the front door maps it): the span still ends, as an internal error.
      operation.end(errorResponse(message.id, ErrorCode.InternalError, 'Internal error'))
      throw err
    }
    if (!(answer instanceof Promise)) {
      operation.end(answer)
      return answer
    }
    return answer.then((response) => {
      operation.end(response, response === undefined)
      return response
    }, (err: unknown) => {
      operation.end(errorResponse(message.id, ErrorCode.InternalError, 'Internal error'))
      throw err
    })
  }

  #handle (message: JsonRpcRequest, scope: RequestScope): JsonRpcResponse | Promise<JsonRpcResponse | undefined> {
    const { id } = message
    const spec = this.#methods.get(message.method)
    if (spec === undefined) return errorResponse(id, ErrorCode.MethodNotFound, `Method not found: ${clip(message.method)}`)
    const params = message.params ?? {}
    if (Array.isArray(params)) return errorResponse(id, ErrorCode.InvalidParams, 'Invalid params: params must be an object')

    let ctx: RequestContext | undefined
    if (spec.runsHandler) {
      const refused = scope.begin(id)
      if (refused === 'duplicate') return errorResponse(id, ErrorCode.InvalidRequest, 'Invalid Request: this id is already used by a request in flight')
      if (refused === 'busy') return errorResponse(id, ErrorCode.TransportError, 'Too many requests in flight on this session')
      const meta = params._meta
      ctx = new RequestContext(scope, id, meta !== null && typeof meta === 'object' ? meta as Params : undefined)
    }
    let outcome: Params | Promise<Params>
    try {
      if (spec.inputRequired) ctx!.enterRound(this.#rounds.enter(message.method, params, scope))
      outcome = spec.handler(params, ctx, scope)
      if (spec.runsHandler && !(outcome instanceof Promise)) outcome = this.#settle(message.method, spec, params, ctx!, scope, outcome)
    } catch (err) {
      done(ctx, scope)
      return failure(id, err, scope, message.method)
    }
    if (!(outcome instanceof Promise)) {
      done(ctx, scope)
      return resultResponse(id, outcome)
    }
    const answered = (result: Params): JsonRpcResponse | undefined => {
      done(ctx, scope)
      return scope.cancelled ? undefined : resultResponse(id, result)
    }
    const failed = (err: unknown): JsonRpcResponse | undefined => {
      done(ctx, scope)
      return scope.cancelled ? undefined : failure(id, err, scope, message.method)
    }
    if (!spec.runsHandler) return outcome.then(answered, failed)
    // Settled and answered in one turn: a promise per step costs a microtask per request.
    return outcome.then((result) => {
      let settled: Params | Promise<Params>
      try {
        settled = this.#settle(message.method, spec, params, ctx!, scope, result)
      } catch (err) {
        return failed(err)
      }
      return settled instanceof Promise ? settled.then(answered, failed) : answered(settled)
    }, failed)
  }

  /** A handler's result, unless it asks for input: then what `scope.inputMode` makes of it. */
  #settle (method: string, spec: MethodSpec, params: Params, ctx: RequestContext, scope: RequestScope, result: Params): Params | Promise<Params> {
    if (!isInputRequired(result)) return result
    return this.#rounds.answer(method, params, result, scope, (inputs) => {
      ctx.enterRound(inputs)
      return spec.handler(params, ctx, scope)
    })
  }

  /** Act on a notification. Unknown or malformed notifications are ignored, as the spec asks. */
  async handleNotification (message: JsonRpcNotification, caller: Caller): Promise<void> {
    const handler = this.#notifications.get(message.method)
    const telemetry = this.telemetry
    const operation = telemetry === undefined || !telemetry.recording ? undefined : telemetry.operation(message.method, handler !== undefined, undefined, message.params, caller.protocolVersion, caller.session?.id)
    if (operation === undefined) {
      if (handler !== undefined) await handler(message.params, caller)
      return
    }
    try {
      if (handler !== undefined) await operation.run(() => handler(message.params, caller))
    } finally {
      operation.end()
    }
  }
}

function done (ctx: RequestContext | undefined, scope: RequestScope): void {
  if (ctx === undefined) return
  ctx.finish()
  scope.end()
}

function failure (id: RequestId, err: unknown, caller: Caller, method: string): JsonRpcResponse {
  if (err instanceof McpError) return errorResponse(id, err.code, err.message, err.data)
  caller.logger.error({ err, method }, 'mcp: request handler failed')
  return errorResponse(id, ErrorCode.InternalError, 'Internal error')
}
