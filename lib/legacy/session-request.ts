import type { RequestId } from '../../schemas/jsonrpc.js'
import type { LoggingLevel } from '../../schemas/mcp.js'
import type { Caller, ClientRequests, McpAuthInfo, Refusal, RequestScope } from '../core/caller.js'
import type { SessionRecord } from '../core/session-record.js'
import { errors } from '../errors.js'
import type { Logger } from '../log.js'
import type { PostExchange } from './exchange.js'
import type { InFlight, LocalStreams } from './local-streams.js'
import { ClientRequester, type Channel, type OutboundRequests } from './outbound.js'
import type { StandaloneStreams } from './standalone.js'

const NO_CAPABILITIES: Readonly<Record<string, unknown>> = Object.freeze({})

/** What every request of the 2025 front door shares. */
export interface RequestHome {
  readonly streams: LocalStreams
  readonly outbound: OutboundRequests
  readonly standalone: StandaloneStreams
  readonly maxInFlightRequests: number
}

/** The caller of a message on a 2025 session, or on none in stateless mode: read from the session record. */
export class SessionCaller implements Caller {
  readonly session: SessionRecord | undefined
  readonly protocolVersion: string
  readonly auth: McpAuthInfo | undefined
  readonly logger: Logger

  constructor (session: SessionRecord | undefined, protocolVersion: string, auth: McpAuthInfo | undefined, logger: Logger) {
    this.session = session
    this.protocolVersion = protocolVersion
    this.auth = auth
    this.logger = logger
  }

  get clientCapabilities (): Readonly<Record<string, unknown>> { return this.session?.clientCapabilities ?? NO_CAPABILITIES }
  get logLevel (): LoggingLevel | undefined { return this.session?.logLevel }
}

/**
 * One request of the 2025 front door: its caller, the POST exchange its answer and related
 * messages go out on, and (once it runs a handler) its entry among the session's requests in
 * flight, where `notifications/cancelled`, DELETE and shutdown find it.
 */
export class SessionRequest extends SessionCaller implements RequestScope, InFlight {
  id: RequestId = ''
  controller: AbortController | undefined = undefined
  cancelled = false
  readonly exchange: PostExchange
  readonly #home: RequestHome
  #tracked = false

  constructor (caller: SessionCaller, exchange: PostExchange, home: RequestHome) {
    super(caller.session, caller.protocolVersion, caller.auth, caller.logger)
    this.exchange = exchange
    this.#home = home
  }

  /** Created on first use: most handlers never look at it. */
  get signal (): AbortSignal {
    return (this.controller ??= new AbortController()).signal
  }

  begin (id: RequestId): Refusal | undefined {
    this.id = id
    // Stateless: nothing can cancel it (there is no session to send notifications/cancelled on).
    if (this.session === undefined) return undefined
    const refused = this.#home.streams.begin(this.session.id, this, this.#home.maxInFlightRequests)
    this.#tracked = refused === undefined
    return refused
  }

  end (): void {
    if (this.#tracked) this.#home.streams.end(this.session!.id, this)
  }

  sendRelated (message: unknown): Promise<void> {
    return this.exchange.sendRelated(message)
  }

  closeConnection (): boolean {
    return this.exchange.closeConnection()
  }

  client (method: string): ClientRequests {
    const session = this.session
    if (session === undefined) throw new errors.FST_MCP_CLIENT_REQUEST(method, 'stateless mode has no session for the client to answer on')
    const { exchange } = this
    const { standalone } = this.#home
    // The request's own stream first (spec: messages relating to a request travel with it);
    // in JSON response mode that stream does not exist, so the GET stream carries it.
    const channel: Channel = async (message) => {
      if (exchange.canCarry) {
        await exchange.sendRelated(message)
        return true
      }
      return standalone.send(session.id, message)
    }
    return new ClientRequester(this.#home.outbound, session, channel, this.signal)
  }
}
