import type { RequestId } from '../../schemas/jsonrpc.js'
import type { CreateMessageParams, CreateMessageResult, ElicitResult, ListRootsResult } from '../../schemas/client.js'
import type { LoggingLevel } from '../../schemas/mcp.js'
import type { Logger } from '../log.js'
import type { SessionRecord } from './session-record.js'

/** Who made a request, as the `auth.authenticate` hook decided. */
export interface McpAuthInfo {
  /** A stable id of the user or client. Sessions are bound to it: another principal gets 404. */
  principal: string
  scopes?: string[]
  /** Anything else the application wants handlers to see (never logged by the plugin). */
  extra?: Record<string, unknown>
}

/**
 * Who is asking, for one message: all the core needs to know of the client, whatever the
 * protocol era. The 2025 front door builds it from a session record; a stateless one from
 * the request alone.
 */
export interface Caller {
  /** The protocol revision this message is served under. */
  readonly protocolVersion: string
  /** What the client declared it can do. */
  readonly clientCapabilities: Readonly<Record<string, unknown>>
  /** The lowest level of `notifications/message` the client wants; undefined sends every level, null none. */
  readonly logLevel: LoggingLevel | null | undefined
  /** The principal from the `auth` hook, if any. */
  readonly auth: McpAuthInfo | undefined
  /** The request's logger. */
  readonly logger: Logger
  /** The 2025 session the message arrived on; undefined without one (stateless). */
  readonly session: Readonly<SessionRecord> | undefined
}

/** Per-request options of a request to the client. */
export interface RequestOptions {
  /** Overrides `requestTimeoutMs` for this request. */
  timeoutMs?: number
  /** Aborting it cancels the request (and tells the client). */
  signal?: AbortSignal
}

/** Asking the client for things on behalf of a request: elicitation, sampling, roots. */
export interface ClientRequests {
  /** Form-mode elicitation: ask the user to fill `requestedSchema` (a flat object schema). */
  elicit (message: string, requestedSchema: Record<string, unknown>, options?: RequestOptions): Promise<ElicitResult>
  /** URL-mode elicitation (2025-11-25): send the user to `url` (never a pre-authenticated one). */
  elicitUrl (message: string, url: string, elicitationId: string, options?: RequestOptions): Promise<ElicitResult>
  /** `sampling/createMessage`: ask the client's model. */
  sample (params: CreateMessageParams, options?: RequestOptions): Promise<CreateMessageResult>
  /** `roots/list`: the client's roots. */
  listRoots (options?: RequestOptions): Promise<ListRootsResult>
}

/**
 * What the core does with an input-required result (multi round-trip requests):
 * - `return`: send it to the client, which retries (2026-07-28; capabilities checked, state signed);
 * - `fulfil`: ask the client itself, over the 2025 session, and run the handler again;
 * - `none`: refuse it (a 2025 request without a session: nobody to ask).
 */
export type InputMode = 'return' | 'fulfil' | 'none'

/** Why a front door refuses to run a request: its id is in flight already, or too many are. */
export type Refusal = 'duplicate' | 'busy'

/**
 * One request as a front door hands it to the core: the caller, where messages related to
 * the request go before its answer, and its lifetime (cancellation).
 */
export interface RequestScope extends Caller {
  /** Aborted when the request is cancelled or its session ends. */
  readonly signal: AbortSignal
  /** The request was cancelled: no answer is due, and later progress and logs are dropped. */
  readonly cancelled: boolean
  /**
   * The request runs application code: make it cancellable from now on. Returns why it must
   * be refused instead, if it must.
   */
  begin (id: RequestId): Refusal | undefined
  /** The request that `begin` started is over (answered or failed). */
  end (): void
  /** Send a message that belongs to this request before its answer. Resolves when more can be sent. */
  sendRelated (message: unknown): Promise<void>
  /** SSE polling: close the connection carrying the request, not its stream. False where impossible. */
  closeConnection (): boolean
  /** What an input-required result of this request's handler becomes. */
  readonly inputMode: InputMode
  /** Requests to the client on behalf of this request; throws (`FST_MCP_CLIENT_REQUEST`) where there is no way to ask. */
  client (method: string): ClientRequests
}
