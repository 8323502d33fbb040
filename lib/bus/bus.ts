/**
 * Cross-instance delivery (DESIGN §3). In one process it is a local dispatcher; with Redis,
 * pub/sub. Messages are JSON-serialisable values; handlers of one channel run in publish
 * order.
 */
export interface MessageBus {
  /** Deliver `message` to every subscriber of `channel`, on every instance. */
  publish (channel: string, message: unknown): Promise<void>
  /** Resolves once the subscription is active (messages published after that are received). */
  subscribe (channel: string, handler: (message: unknown) => void): Promise<() => Promise<void>>
  close (): Promise<void>
}

/** The bus of a single process: `publish` runs the handlers of the channel before it resolves. */
export class MemoryMessageBus implements MessageBus {
  readonly #channels = new Map<string, Set<(message: unknown) => void>>()

  async publish (channel: string, message: unknown): Promise<void> {
    const handlers = this.#channels.get(channel)
    if (handlers === undefined) return
    // Through JSON, like the wire: a subscriber never shares an object with the publisher.
    const copy = JSON.stringify(message)
    for (const handler of [...handlers]) handler(JSON.parse(copy))
  }

  async subscribe (channel: string, handler: (message: unknown) => void): Promise<() => Promise<void>> {
    let handlers = this.#channels.get(channel)
    if (handlers === undefined) {
      handlers = new Set()
      this.#channels.set(channel, handlers)
    }
    handlers.add(handler)
    return async () => {
      handlers.delete(handler)
      if (handlers.size === 0 && this.#channels.get(channel) === handlers) this.#channels.delete(channel)
    }
  }

  async close (): Promise<void> {
    this.#channels.clear()
  }
}
