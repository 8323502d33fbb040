import type { RpcMessage } from './types.js'

/** What a subscription wants to hear of (`params.notifications` of `subscriptions/listen`). */
export interface ListenFilter {
  toolsListChanged?: boolean
  promptsListChanged?: boolean
  resourcesListChanged?: boolean
  /** Resources whose `notifications/resources/updated` are wanted. */
  resourceSubscriptions?: string[]
}

export interface ListenOptions {
  /** Ends the subscription, as `close()` does. */
  signal?: AbortSignal
  /** Each notification as it arrives (besides the async iterator). */
  onNotification?: (notification: RpcMessage) => void
  /**
   * Most notifications held for the iterator (default 256). A notification equal to one
   * still unread is not queued twice (a list changed twice is one re-list); beyond the cap
   * the oldest are dropped and counted in `dropped`.
   */
  maxBuffered?: number
}

/** How a subscription ended: `closed` by the client, `completed` by the server, `broken` (the stream failed). */
export type ListenEnd = 'closed' | 'completed' | 'broken'

const FLAGS: ReadonlyArray<[keyof ListenFilter, string, string]> = [
  ['toolsListChanged', 'tools', 'notifications/tools/list_changed'],
  ['promptsListChanged', 'prompts', 'notifications/prompts/list_changed'],
  ['resourcesListChanged', 'resources', 'notifications/resources/list_changed']
]

/** The part of a filter a 2025 server can honour: requested and advertised (as 2026-07-28 servers compute it). */
export function honoredFilter (requested: ListenFilter, capabilities: Record<string, any>): ListenFilter {
  const honored: ListenFilter = {}
  for (const [flag, kind] of FLAGS) if (requested[flag] === true && capabilities[kind]?.listChanged === true) (honored as Record<string, boolean>)[flag] = true
  const uris = requested.resourceSubscriptions
  if (uris !== undefined && uris.length > 0 && capabilities.resources?.subscribe === true) honored.resourceSubscriptions = [...new Set(uris)]
  return honored
}

/** Whether a notification is one the filter asked for. */
export function wanted (filter: ListenFilter, message: RpcMessage): boolean {
  if (message.method === 'notifications/resources/updated') return filter.resourceSubscriptions?.includes(String(message.params?.uri)) === true
  return FLAGS.some(([flag, , method]) => method === message.method && filter[flag] === true)
}

function sameAs (a: RpcMessage, b: RpcMessage): boolean {
  return a.method === b.method && a.params?.uri === b.params?.uri
}

/**
 * An open subscription to list changes and resource updates, in either era: iterate it
 * (`for await (const n of subscription)`) or pass `onNotification`; `close()` ends it.
 */
export class Subscription implements AsyncIterable<RpcMessage> {
  /** The honoured filter: what the server agreed to send (the acknowledgement's). */
  readonly notifications: ListenFilter
  /** Notifications dropped because the iterator fell `maxBuffered` behind. */
  dropped = 0
  /** Resolves when the subscription ends, with how. */
  readonly ended: Promise<ListenEnd>

  readonly #queue: RpcMessage[] = []
  readonly #max: number
  readonly #onNotification: ((n: RpcMessage) => void) | undefined
  readonly #teardown: () => Promise<void>
  #end: ListenEnd | undefined
  #resolveEnd!: (end: ListenEnd) => void
  #wake: (() => void) | undefined

  /** Built by `McpClient.listen`. */
  constructor (notifications: ListenFilter, options: ListenOptions, teardown: () => Promise<void>) {
    this.notifications = notifications
    this.#max = options.maxBuffered ?? 256
    this.#onNotification = options.onNotification
    this.#teardown = teardown
    this.ended = new Promise((resolve) => { this.#resolveEnd = resolve })
    options.signal?.addEventListener('abort', () => { void this.close() }, { once: true })
  }

  /** Whether it has ended. */
  get done (): boolean { return this.#end !== undefined }

  /** A notification from the stream (the transport calls this). */
  push (message: RpcMessage): void {
    if (this.#end !== undefined) return
    this.#onNotification?.(message)
    if (this.#queue.some((queued) => sameAs(queued, message))) return
    if (this.#queue.length >= this.#max) {
      this.#queue.shift()
      this.dropped++
    }
    this.#queue.push(message)
    this.#wake?.()
  }

  /** The stream ended (the transport calls this); queued notifications can still be read. */
  finish (end: ListenEnd): void {
    if (this.#end !== undefined) return
    this.#end = end
    this.#resolveEnd(end)
    this.#wake?.()
  }

  /** End the subscription: the stream is closed (2026-07-28) or the session stops forwarding (2025). */
  async close (): Promise<void> {
    if (this.#end !== undefined) return
    this.finish('closed')
    await this.#teardown().catch(() => {})
  }

  async * [Symbol.asyncIterator] (): AsyncIterator<RpcMessage> {
    try {
      for (;;) {
        const next = this.#queue.shift()
        if (next !== undefined) { yield next; continue }
        if (this.#end !== undefined) return
        await new Promise<void>((resolve) => { this.#wake = resolve })
        this.#wake = undefined
      }
    } finally {
      // Leaving the loop early (break, an exception) ends the subscription.
      if (this.#end === undefined) await this.close()
    }
  }
}
