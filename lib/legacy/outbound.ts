import { randomBytes } from 'node:crypto'
import type { TSchema } from '@sinclair/typebox'
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler'
import {
  CreateMessageResultSchema,
  ElicitResultSchema,
  ListRootsResultSchema,
  type CreateMessageParams,
  type CreateMessageResult,
  type ElicitResult,
  type ListRootsResult
} from '../../schemas/client.js'
import type { JsonRpcErrorResponse, JsonRpcResultResponse, RequestId } from '../../schemas/jsonrpc.js'
import type { ClientRequests, RequestOptions } from '../core/caller.js'
import { ErrorCode, McpError, describeErrors } from '../core/jsonrpc.js'
import type { SessionRecord } from '../core/session-record.js'
import { errors } from '../errors.js'
import type { ClientOperation, McpTelemetry } from '../telemetry/telemetry.js'

export type { RequestOptions }

/** A random instance name (hex: no `-`, which separates the parts of a request id). */
export function newInstanceId (): string {
  return randomBytes(6).toString('hex')
}

/** Delivers one message to the client; resolves false when there is no stream to carry it. */
export type Channel = (message: unknown) => Promise<boolean>

interface Pending {
  readonly sessionId: string
  readonly method: string
  readonly check: TypeCheck<TSchema>
  readonly channel: Channel
  readonly resolve: (result: unknown) => void
  readonly reject: (error: Error) => void
  readonly timer: NodeJS.Timeout
  readonly onAbort: (() => void) | undefined
  readonly signal: AbortSignal | undefined
}

export interface OutboundOptions {
  /** How long to wait for the client's answer before cancelling. */
  requestTimeoutMs: number
  /** Most unanswered requests per session. */
  maxPendingRequests: number
}

const checkElicit = TypeCompiler.Compile(ElicitResultSchema)
const checkCreateMessage = TypeCompiler.Compile(CreateMessageResultSchema)
const checkListRoots = TypeCompiler.Compile(ListRootsResultSchema)

/**
 * The server → client requests this instance is waiting on. Ids carry an instance prefix and
 * a counter: they never repeat within a session (the spec forbids reuse) and name the
 * instance that owns the pending entry, so an answer landing elsewhere can be routed home.
 */
export class OutboundRequests {
  readonly #options: OutboundOptions
  /** This instance, as named in the ids of the requests it issues. */
  readonly instanceId: string
  readonly #prefix: string
  readonly #pending = new Map<RequestId, Pending>()
  readonly #perSession = new Map<string, number>()
  #counter = 0
  readonly #telemetry: McpTelemetry | undefined

  constructor (options: OutboundOptions, instanceId = newInstanceId(), telemetry?: McpTelemetry) {
    this.#options = options
    this.#telemetry = telemetry
    this.instanceId = instanceId
    this.#prefix = `srv-${instanceId}-`
  }

  /** The instance that issued a request id (`srv-<instance>-<n>`), if this plugin issued it. */
  static ownerOf (id: RequestId | null): string | undefined {
    if (typeof id !== 'string' || !id.startsWith('srv-')) return undefined
    const end = id.indexOf('-', 4)
    return end === -1 ? undefined : id.slice(4, end)
  }

  /** Send a request on `channel` and wait for the client's answer, checked against `check`. */
  async request<T> (sessionId: string, channel: Channel, method: string, params: Record<string, unknown>, check: TypeCheck<TSchema>, options: RequestOptions = {}): Promise<T> {
    const { signal } = options
    if (signal?.aborted === true) throw signal.reason
    const count = this.#perSession.get(sessionId) ?? 0
    if (count >= this.#options.maxPendingRequests) {
      throw new errors.FST_MCP_CLIENT_REQUEST(method, `more than ${this.#options.maxPendingRequests} requests are waiting for this client`)
    }
    const id = this.#prefix + (++this.#counter).toString(36)
    const answer = new Promise<T>((resolve, reject) => {
      const timeoutMs = options.timeoutMs ?? this.#options.requestTimeoutMs
      const timer = setTimeout(() => this.#cancel(id, `Request timed out after ${timeoutMs} ms`, new errors.FST_MCP_CLIENT_TIMEOUT(method, timeoutMs)), timeoutMs).unref()
      const onAbort = signal === undefined ? undefined : () => this.#cancel(id, 'The request that needed it was cancelled', signal.reason instanceof Error ? signal.reason : new Error('Aborted'))
      signal?.addEventListener('abort', onAbort!, { once: true })
      this.#pending.set(id, { sessionId, method, check, channel, resolve: resolve as (r: unknown) => void, reject, timer, onAbort, signal })
      this.#perSession.set(sessionId, count + 1)
    })
    const operation = this.#telemetry?.clientRequest(method, id, params, sessionId)
    if (operation !== undefined) answer.then(() => operation.end(), (err: unknown) => endFailed(operation, err))
    const delivered = await channel({ jsonrpc: '2.0', id, method, params: operation?.params ?? params })
    if (!delivered) {
      this.#settle(id)?.reject(new errors.FST_MCP_CLIENT_REQUEST(method, 'no open stream to the client can carry it (open the GET stream, or call from inside a request)'))
    }
    return answer
  }

  /**
   * A JSON-RPC response POSTed by the client. Returns whether it answered a request of this
   * session waiting here; anything else (unknown id, another session's id) is ignored.
   */
  handleResponse (sessionId: string, message: JsonRpcResultResponse | JsonRpcErrorResponse): boolean {
    if (message.id === null) return false
    const pending = this.#pending.get(message.id)
    if (pending === undefined || pending.sessionId !== sessionId) return false
    this.#settle(message.id)
    if ('error' in message && message.error !== undefined) {
      pending.reject(new McpError(message.error.code, message.error.message, message.error.data))
    } else if (!pending.check.Check((message as JsonRpcResultResponse).result)) {
      const result = (message as JsonRpcResultResponse).result
      pending.reject(new McpError(ErrorCode.InvalidParams, `The client answered ${pending.method} with an invalid result: ${describeErrors(pending.check, result)}`))
    } else {
      pending.resolve((message as JsonRpcResultResponse).result)
    }
    return true
  }

  /** The session ended: every request waiting on it fails. */
  dropSession (sessionId: string): void {
    for (const [id, pending] of this.#pending) {
      if (pending.sessionId === sessionId) this.#settle(id)?.reject(new errors.FST_MCP_CLIENT_REQUEST(pending.method, 'the session ended'))
    }
  }

  #settle (id: RequestId): Pending | undefined {
    const pending = this.#pending.get(id)
    if (pending === undefined) return undefined
    this.#pending.delete(id)
    clearTimeout(pending.timer)
    if (pending.onAbort !== undefined) pending.signal?.removeEventListener('abort', pending.onAbort)
    const left = (this.#perSession.get(pending.sessionId) ?? 1) - 1
    if (left === 0) this.#perSession.delete(pending.sessionId)
    else this.#perSession.set(pending.sessionId, left)
    return pending
  }

  /** Give up on a request: tell the client (spec: a timed-out request is cancelled), fail the waiter. */
  #cancel (id: RequestId, reason: string, error: Error): void {
    const pending = this.#settle(id)
    if (pending === undefined) return
    pending.channel({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason } }).catch(() => {})
    pending.reject(error)
  }
}

/** A request to the client failed: the client's JSON-RPC error, a timeout, or anything else. */
function endFailed (operation: ClientOperation, err: unknown): void {
  const message = err instanceof Error ? err.message : String(err)
  if (err instanceof McpError) operation.end({ code: err.code, message })
  else operation.end({ type: (err as { code?: unknown }).code === 'FST_MCP_CLIENT_TIMEOUT' ? 'timeout' : '_OTHER', message })
}

/** Revisions whose clients may be asked for elicitation (it arrived in 2025-06-18). */
const ELICITATION_SINCE = '2025-06-18'
const URL_ELICITATION_SINCE = '2025-11-25'

/** Asks one client for things: elicitation, sampling, roots. Shared by handler contexts and `app.mcp.client()`. */
export class ClientRequester implements ClientRequests {
  readonly #outbound: OutboundRequests
  readonly #session: Readonly<SessionRecord>
  readonly #channel: Channel
  readonly #signal: AbortSignal | undefined

  constructor (outbound: OutboundRequests, session: Readonly<SessionRecord>, channel: Channel, signal?: AbortSignal) {
    this.#outbound = outbound
    this.#session = session
    this.#channel = channel
    this.#signal = signal
  }

  /** Form-mode elicitation: ask the user to fill `requestedSchema` (a flat object schema). */
  async elicit (message: string, requestedSchema: Record<string, unknown>, options?: RequestOptions): Promise<ElicitResult> {
    const elicitation = this.#capability('elicitation/create', 'elicitation', ELICITATION_SINCE)
    // 2025-11-25: an empty `elicitation: {}` means form mode; a client listing modes must list form.
    if (Object.keys(elicitation).length > 0 && elicitation.form === undefined && this.#session.protocolVersion >= URL_ELICITATION_SINCE) {
      throw new errors.FST_MCP_CLIENT_CAPABILITY('elicitation/create', 'elicitation.form')
    }
    return this.#request('elicitation/create', { message, requestedSchema }, checkElicit, options)
  }

  /** URL-mode elicitation (2025-11-25): send the user to `url` (never a pre-authenticated one). */
  async elicitUrl (message: string, url: string, elicitationId: string, options?: RequestOptions): Promise<ElicitResult> {
    const elicitation = this.#capability('elicitation/create', 'elicitation', URL_ELICITATION_SINCE)
    if (elicitation.url === undefined) throw new errors.FST_MCP_CLIENT_CAPABILITY('elicitation/create', 'elicitation.url')
    return this.#request('elicitation/create', { mode: 'url', message, url, elicitationId }, checkElicit, options)
  }

  /** `sampling/createMessage`: ask the client's model. */
  async sample (params: CreateMessageParams, options?: RequestOptions): Promise<CreateMessageResult> {
    const sampling = this.#capability('sampling/createMessage', 'sampling')
    if (params.tools !== undefined && sampling.tools === undefined) {
      throw new errors.FST_MCP_CLIENT_CAPABILITY('sampling/createMessage', 'sampling.tools')
    }
    return this.#request('sampling/createMessage', params as Record<string, unknown>, checkCreateMessage, options)
  }

  /** `roots/list`: the client's roots. */
  async listRoots (options?: RequestOptions): Promise<ListRootsResult> {
    this.#capability('roots/list', 'roots')
    return this.#request('roots/list', {}, checkListRoots, options)
  }

  #capability (method: string, name: string, since?: string): Record<string, unknown> {
    // Spec: no requests but pings and logging before the client's `initialized`.
    if (!this.#session.initialized) throw new errors.FST_MCP_CLIENT_REQUEST(method, 'the client has not sent notifications/initialized yet')
    const declared = this.#session.clientCapabilities[name]
    if (declared === null || typeof declared !== 'object' || (since !== undefined && this.#session.protocolVersion < since)) {
      throw new errors.FST_MCP_CLIENT_CAPABILITY(method, name)
    }
    return declared as Record<string, unknown>
  }

  #request<T> (method: string, params: Record<string, unknown>, check: TypeCheck<TSchema>, options: RequestOptions = {}): Promise<T> {
    return this.#outbound.request<T>(this.#session.id, this.#channel, method, params, check, { ...options, signal: options.signal ?? this.#signal })
  }
}
