import { TypeCompiler } from '@sinclair/typebox/compiler'
import type { JsonRpcErrorResponse, JsonRpcNotification, JsonRpcRequest, JsonRpcResponse, JsonRpcResultResponse } from '../../schemas/jsonrpc.js'
import {
  CallToolParamsSchema,
  CancelledParamsSchema,
  InitializeParamsSchema,
  PaginatedParamsSchema,
  SetLevelParamsSchema,
  type InitializeParams,
  type InitializeResult,
  type ServerCapabilities
} from '../../schemas/mcp.js'
import type { NormalizedOptions } from '../options.js'
import type { ToolRegistry } from './features/tools.js'
import type { OutboundRequests } from './outbound.js'
import { validParams } from './params.js'
import type { InFlight, LocalStreams } from '../legacy/local-streams.js'
import type { StandaloneStreams } from '../legacy/standalone.js'
import type { RemoteSessions } from '../legacy/cluster.js'
import type { SessionRecord, SessionStore } from '../stores/session-store.js'
import { negotiateVersion } from './versions.js'
import { RequestContext, type ContextScope, type NotificationScope } from './context.js'
import { ErrorCode, McpError, errorResponse, resultResponse } from './jsonrpc.js'

export type Params = Record<string, unknown>
/** `ctx` is set for cancellable methods only. */
export type MethodHandler = (params: Params, ctx: RequestContext | undefined, scope: ContextScope) => Promise<Params> | Params
/** Acts on a client notification; malformed params are the handler's to ignore. */
export type NotificationHandler = (params: unknown, scope: NotificationScope) => void | Promise<void>

interface MethodSpec {
  readonly handler: MethodHandler
  /**
   * Long-running methods that run application code: they get a handler context and are
   * registered in flight so `notifications/cancelled` can find them. The others (ping,
   * lists) answer at once and skip both.
   */
  readonly cancellable: boolean
}


export interface ProtocolDeps {
  readonly options: NormalizedOptions
  readonly store: SessionStore
  readonly live: LocalStreams
  readonly tools: ToolRegistry
  readonly outbound: OutboundRequests
  /** Where messages for the sessions' GET streams go (here, or shared through Redis). */
  readonly standalone: StandaloneStreams
  /** Other instances, when sessions are shared. */
  readonly remote: RemoteSessions | undefined
}

const checkInitialize = TypeCompiler.Compile(InitializeParamsSchema)
const checkPaginated = TypeCompiler.Compile(PaginatedParamsSchema)
const checkCallTool = TypeCompiler.Compile(CallToolParamsSchema)
const checkSetLevel = TypeCompiler.Compile(SetLevelParamsSchema)
const checkCancelled = TypeCompiler.Compile(CancelledParamsSchema)

/** JSON-RPC dispatch for everything after the HTTP edge has resolved the session. */
export class McpProtocol {
  readonly #deps: ProtocolDeps
  readonly #methods = new Map<string, MethodSpec>()
  readonly #notifications = new Map<string, NotificationHandler>()
  readonly #contributors: Array<(capabilities: ServerCapabilities) => void> = []
  #capabilities: ServerCapabilities | undefined

  constructor (deps: ProtocolDeps) {
    this.#deps = deps
    deps.tools.onChange(() => this.invalidateCapabilities())
    this.contributeCapabilities((capabilities) => {
      capabilities.logging = {}
      if (deps.tools.size > 0) capabilities.tools = { listChanged: true }
    })
    this.method('ping', false, () => ({}))
    this.method('tools/list', false, (params) => {
      const { cursor } = validParams(checkPaginated, params)
      return deps.tools.list(cursor, deps.options.pageSize)
    })
    this.method('tools/call', true, (params, ctx) => {
      const { name, arguments: args } = validParams(checkCallTool, params)
      return deps.tools.call(name, args, ctx!) as Params | Promise<Params>
    })
    this.method('logging/setLevel', false, async (params, _ctx, scope) => {
      const { level } = validParams(checkSetLevel, params)
      if (scope.session !== undefined) await deps.store.update(scope.session.id, { logLevel: level })
      return {}
    })
    this.onNotification('notifications/initialized', async (_params, { session }) => {
      if (session !== undefined && !session.initialized) await deps.store.update(session.id, { initialized: true })
    })
    this.onNotification('notifications/cancelled', (params, { session }) => {
      if (session === undefined || !checkCancelled.Check(params)) return
      // Not running here: it may be running on another instance.
      if (!deps.live.cancel(session.id, params.requestId, params.reason)) deps.remote?.cancel(session.id, params.requestId, params.reason)
    })
  }

  /**
   * Serve a JSON-RPC method. `cancellable` methods run application code: they get a handler
   * context and can be cancelled; the others must answer quickly.
   */
  method (name: string, cancellable: boolean, handler: MethodHandler): void {
    this.#methods.set(name, { handler, cancellable })
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

  /** Validate `initialize` params and build the result; the caller creates the session. */
  initialize (params: unknown): { params: InitializeParams, result: InitializeResult } {
    const valid = validParams(checkInitialize, params ?? {})
    const { serverInfo, instructions } = this.#deps.options
    const result: InitializeResult = {
      protocolVersion: negotiateVersion(valid.protocolVersion),
      capabilities: this.capabilities(),
      serverInfo
    }
    if (instructions !== undefined) result.instructions = instructions
    return { params: valid, result }
  }

  /**
   * Answer one request. Synchronous methods (ping, tools/list) answer at once, without a
   * promise; the others resolve later, `undefined` when cancelled (no answer is due).
   */
  handleRequest (message: JsonRpcRequest, scope: ContextScope): JsonRpcResponse | Promise<JsonRpcResponse | undefined> {
    const { id } = message
    const spec = this.#methods.get(message.method)
    if (spec === undefined) return errorResponse(id, ErrorCode.MethodNotFound, `Method not found: ${message.method}`)
    const params = message.params ?? {}
    if (Array.isArray(params)) return errorResponse(id, ErrorCode.InvalidParams, 'Invalid params: params must be an object')

    let inflight: InFlight | undefined
    const session = scope.session
    if (spec.cancellable && session !== undefined) {
      const begun = this.#deps.live.begin(session.id, id, scope.exchange, this.#deps.options.maxInFlightRequests)
      if (begun === 'duplicate') return errorResponse(id, ErrorCode.InvalidRequest, 'Invalid Request: this id is already used by a request in flight')
      if (begun === 'busy') return errorResponse(id, ErrorCode.ConnectionClosed, 'Too many requests in flight on this session')
      inflight = begun
    }
    let ctx: RequestContext | undefined
    if (spec.cancellable) {
      const meta = params._meta
      ctx = new RequestContext(scope, id, meta !== null && typeof meta === 'object' ? meta as Params : undefined, inflight, this.#deps)
    }
    let outcome: Params | Promise<Params>
    try {
      outcome = spec.handler(params, ctx, scope)
    } catch (err) {
      this.#done(ctx, session, inflight)
      return this.#failure(id, err, scope, message.method)
    }
    if (!(outcome instanceof Promise)) {
      this.#done(ctx, session, inflight)
      return resultResponse(id, outcome)
    }
    return outcome.then(
      (result) => {
        this.#done(ctx, session, inflight)
        return inflight?.cancelled === true ? undefined : resultResponse(id, result)
      },
      (err: unknown) => {
        this.#done(ctx, session, inflight)
        return inflight?.cancelled === true ? undefined : this.#failure(id, err, scope, message.method)
      }
    )
  }

  #done (ctx: RequestContext | undefined, session: SessionRecord | undefined, inflight: InFlight | undefined): void {
    ctx?.finish()
    if (inflight !== undefined) this.#deps.live.end(session!.id, inflight)
  }

  #failure (id: JsonRpcRequest['id'], err: unknown, scope: ContextScope, method: string): JsonRpcResponse {
    if (err instanceof McpError) return errorResponse(id, err.code, err.message, err.data)
    scope.requestLogger.error({ err, method }, 'mcp: request handler failed')
    return errorResponse(id, ErrorCode.InternalError, 'Internal error')
  }

  /** A client's answer to a server → client request; answers nobody waits for are ignored. */
  handleResponse (message: JsonRpcResultResponse | JsonRpcErrorResponse, scope: NotificationScope): void {
    if (scope.session === undefined) return
    if (!this.#deps.outbound.handleResponse(scope.session.id, message)) this.#deps.remote?.answer(scope.session.id, message)
  }

  /** Act on a notification. Unknown or malformed notifications are ignored, as the spec asks. */
  async handleNotification (message: JsonRpcNotification, scope: NotificationScope): Promise<void> {
    const handler = this.#notifications.get(message.method)
    if (handler !== undefined) await handler(message.params, scope)
  }
}
