import { TypeCompiler } from '@sinclair/typebox/compiler'
import type { JsonRpcNotification, JsonRpcRequest, JsonRpcResponse, RequestId } from '../../schemas/jsonrpc.js'
import { InitializeParamsSchema, type Implementation, type InitializeParams, type InitializeResult, type ServerCapabilities } from '../../schemas/mcp.js'
import type { Caller, RequestScope } from './caller.js'
import { RequestContext } from './context.js'
import { ErrorCode, McpError, errorResponse, resultResponse } from './jsonrpc.js'
import { validParams } from './params.js'
import { negotiateVersion } from './versions.js'

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

  constructor (identity: ServerIdentity) {
    this.#identity = identity
    this.contributeCapabilities((capabilities) => { capabilities.logging = {} })
    this.method('ping', () => ({}))
  }

  /** Serve a JSON-RPC method. */
  method (name: string, handler: MethodHandler, options: MethodOptions = {}): void {
    this.#methods.set(name, { handler, runsHandler: options.runsHandler === true })
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
    const { id } = message
    const spec = this.#methods.get(message.method)
    if (spec === undefined) return errorResponse(id, ErrorCode.MethodNotFound, `Method not found: ${message.method}`)
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
      outcome = spec.handler(params, ctx, scope)
    } catch (err) {
      done(ctx, scope)
      return failure(id, err, scope, message.method)
    }
    if (!(outcome instanceof Promise)) {
      done(ctx, scope)
      return resultResponse(id, outcome)
    }
    return outcome.then(
      (result) => {
        done(ctx, scope)
        return scope.cancelled ? undefined : resultResponse(id, result)
      },
      (err: unknown) => {
        done(ctx, scope)
        return scope.cancelled ? undefined : failure(id, err, scope, message.method)
      }
    )
  }

  /** Act on a notification. Unknown or malformed notifications are ignored, as the spec asks. */
  async handleNotification (message: JsonRpcNotification, caller: Caller): Promise<void> {
    const handler = this.#notifications.get(message.method)
    if (handler !== undefined) await handler(message.params, caller)
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
