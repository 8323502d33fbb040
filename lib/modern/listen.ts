import type { FastifyReply } from 'fastify'
import type { JsonRpcResponse, RequestId } from '../../schemas/jsonrpc.js'
import type { Implementation, ServerCapabilities } from '../../schemas/mcp.js'
import { META } from '../core/envelope.js'
import type { ChangeAnnouncer, ListKind } from '../core/features/feature.js'
import { ErrorCode, errorResponse } from '../core/jsonrpc.js'
import { SseConnection, type ConnectionSet, type SseConnectionOptions } from '../http/sse-connection.js'
import type { Logger } from '../log.js'
import type { MessageBus } from '../stores/message-bus.js'

/** `params.notifications` of `subscriptions/listen`: what the client wants to hear of. */
export interface SubscriptionFilter {
  toolsListChanged?: boolean
  promptsListChanged?: boolean
  resourcesListChanged?: boolean
  resourceSubscriptions?: string[]
}

const FLAGS: ReadonlyArray<[keyof SubscriptionFilter & `${string}ListChanged`, ListKind]> = [
  ['toolsListChanged', 'tools'],
  ['promptsListChanged', 'prompts'],
  ['resourcesListChanged', 'resources']
]

const LIST_CHANGED_METHOD: Readonly<Record<ListKind, string>> = {
  tools: 'notifications/tools/list_changed',
  prompts: 'notifications/prompts/list_changed',
  resources: 'notifications/resources/list_changed'
}

/** What is wrong with a filter, or undefined. */
export function filterProblem (filter: unknown): string | undefined {
  if (filter === null || typeof filter !== 'object' || Array.isArray(filter)) return 'params.notifications must be an object'
  const f = filter as Record<string, unknown>
  for (const [flag] of FLAGS) {
    if (f[flag] !== undefined && typeof f[flag] !== 'boolean') return `params.notifications.${flag} must be a boolean`
  }
  const uris = f.resourceSubscriptions
  if (uris !== undefined && (!Array.isArray(uris) || uris.some((uri) => typeof uri !== 'string'))) {
    return 'params.notifications.resourceSubscriptions must be an array of URIs'
  }
  return undefined
}

/** The part of a requested filter this server honours: requested and advertised. */
export function honoredFilter (requested: SubscriptionFilter, capabilities: ServerCapabilities, maxUris: number): SubscriptionFilter {
  const honored: SubscriptionFilter = {}
  for (const [flag, kind] of FLAGS) {
    if (requested[flag] === true && capabilities[kind]?.listChanged === true) honored[flag] = true
  }
  const uris = requested.resourceSubscriptions
  if (uris !== undefined && uris.length > 0 && capabilities.resources?.subscribe === true) {
    honored.resourceSubscriptions = [...new Set(uris)].slice(0, maxUris)
  }
  return honored
}

/** A change, as it travels between instances. */
type Change = { t: 'list', kind: ListKind } | { t: 'updated', uri: string }

/** One open `subscriptions/listen` stream. */
class Listener {
  readonly id: RequestId
  readonly filter: SubscriptionFilter
  readonly uris: ReadonlySet<string>
  readonly connection: SseConnection
  /** How the `subscriptions/listen` request ended (its span, when traced). */
  readonly ended: ((response: JsonRpcResponse | undefined) => void) | undefined

  constructor (id: RequestId, filter: SubscriptionFilter, connection: SseConnection, ended?: (response: JsonRpcResponse | undefined) => void) {
    this.id = id
    this.ended = ended
    this.filter = filter
    this.uris = new Set(filter.resourceSubscriptions)
    this.connection = connection
  }

  wants (change: Change): boolean {
    if (change.t === 'updated') return this.uris.has(change.uri)
    return FLAGS.some(([flag, kind]) => kind === change.kind && this.filter[flag] === true)
  }

  /** A notification tagged with this subscription, as every message on the stream is. */
  send (method: string, params: Record<string, unknown> = {}): void {
    const meta = { ...(params._meta as Record<string, unknown> | undefined), [META.subscriptionId]: this.id }
    this.connection.sendData(JSON.stringify({ jsonrpc: '2.0', method, params: { ...params, _meta: meta } }))
  }
}

export interface ListenOptions {
  /** Most open listen streams on this instance. */
  readonly maxSubscriptions: number
  /** Most resource URIs one listen stream may watch. */
  readonly maxSubscriptionUris: number
  readonly streamOptions: SseConnectionOptions
  readonly connections: ConnectionSet
  readonly serverInfo: Implementation
  readonly logger: Logger
  /** With several instances: the bus and channel on which changes reach every instance's streams. */
  readonly bus: MessageBus | undefined
  readonly channel: string
}

/**
 * `subscriptions/listen`, the one piece of cross-request state of 2026-07-28: open streams
 * that hear of list changes and resource updates. The core's announcements are delivered
 * here; with a bus, they are published and every instance (this one included) delivers them
 * to its own streams, so a change made on one instance reaches listeners on all of them.
 */
export class ListenRouter {
  readonly #options: ListenOptions
  readonly #listeners = new Set<Listener>()
  #unsubscribe: (() => Promise<void>) | undefined

  constructor (options: ListenOptions) {
    this.#options = options
  }

  get size (): number { return this.#listeners.size }

  /** Where the core's announcements go. */
  readonly announcer: ChangeAnnouncer = {
    listChanged: (kind) => this.#publish({ t: 'list', kind }),
    resourceUpdated: (uri) => this.#publish({ t: 'updated', uri })
  }

  async start (): Promise<void> {
    const { bus, channel } = this.#options
    if (bus !== undefined) this.#unsubscribe = await bus.subscribe(channel, (change) => this.#deliver(change as Change))
  }

  /**
   * Open a listen stream: refused in-band beyond the cap; otherwise the acknowledgement
   * first (the spec: nothing precedes it), and an empty honoured filter ends at once.
   * `ended` hears how the request ended: its completion result, the in-band refusal, or
   * undefined when the client closed the stream.
   */
  open (reply: FastifyReply, id: RequestId, filter: SubscriptionFilter, capabilities: ServerCapabilities, ended?: (response: JsonRpcResponse | undefined) => void): void {
    const options = this.#options
    if (this.#listeners.size >= options.maxSubscriptions) {
      const refusal = errorResponse(id, ErrorCode.InternalError, 'Subscription limit reached', { maxSubscriptions: options.maxSubscriptions })
      reply.code(200).type('application/json').send(JSON.stringify(refusal))
      ended?.(refusal)
      return
    }
    const honored = honoredFilter(filter, capabilities, options.maxSubscriptionUris)
    reply.hijack()
    const connection = new SseConnection(reply.raw, reply.getHeaders(), options.streamOptions, options.connections)
    const listener = new Listener(id, honored, connection, ended)
    listener.send('notifications/subscriptions/acknowledged', { notifications: honored })
    if (Object.keys(honored).length === 0) {
      this.#complete(listener)
      return
    }
    this.#listeners.add(listener)
    connection.onClose(() => {
      // Still listed: the client went away, no completion was sent.
      if (this.#listeners.delete(listener)) listener.ended?.(undefined)
    })
  }

  /** End every stream with its completion result (graceful shutdown). */
  endAll (): void {
    for (const listener of [...this.#listeners]) this.#complete(listener)
  }

  async close (): Promise<void> {
    this.endAll()
    await this.#unsubscribe?.().catch(() => {})
  }

  #complete (listener: Listener): void {
    this.#listeners.delete(listener)
    const result = { resultType: 'complete', _meta: { [META.subscriptionId]: listener.id, [META.serverInfo]: this.#options.serverInfo } }
    const completion: JsonRpcResponse = { jsonrpc: '2.0', id: listener.id, result }
    listener.connection.sendData(JSON.stringify(completion))
    listener.connection.end()
    listener.ended?.(completion)
  }

  async #publish (change: Change): Promise<number> {
    const { bus, channel } = this.#options
    if (bus === undefined) return this.#deliver(change)
    await bus.publish(channel, change)
    return 0
  }

  #deliver (change: Change): number {
    let told = 0
    for (const listener of this.#listeners) {
      if (!listener.wants(change)) continue
      if (change.t === 'updated') listener.send('notifications/resources/updated', { uri: change.uri })
      else listener.send(LIST_CHANGED_METHOD[change.kind])
      told++
    }
    return told
  }
}
