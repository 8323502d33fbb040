import type { Redis } from 'ioredis'
import type { FastifyBaseLogger } from 'fastify'
import type { MessageBus } from './message-bus.js'
import { closeBounded } from './redis-connection.js'
import type { RedisBreaker } from './redis-breaker.js'

/**
 * Redis pub/sub. Publishing goes through the command client; subscriptions live on a
 * connection of their own (a subscribed connection can issue nothing else), which this bus
 * opens with `duplicate()` and closes. ioredis re-subscribes by itself after a reconnect;
 * `onReconnect` listeners hear of it, since messages published meanwhile were missed.
 */
export class RedisMessageBus implements MessageBus {
  readonly #client: Redis
  readonly #subscriber: Redis
  readonly #logger: FastifyBaseLogger | undefined
  readonly #channels = new Map<string, Set<(message: unknown) => void>>()
  readonly #reconnectListeners = new Set<() => void>()
  #wasReady = false

  readonly #closeTimeoutMs: number
  readonly #breaker: RedisBreaker | undefined

  /** `breaker`, when given, guards publishing (the command client's) as it guards the stores. */
  constructor (client: Redis, logger?: FastifyBaseLogger, closeTimeoutMs = 1000, breaker?: RedisBreaker) {
    this.#client = client
    this.#breaker = breaker
    this.#logger = logger
    this.#closeTimeoutMs = closeTimeoutMs
    this.#subscriber = client.duplicate({ enableOfflineQueue: true, lazyConnect: false })
    this.#subscriber.on('message', (channel: string, payload: string) => this.#dispatch(channel, payload))
    this.#subscriber.on('error', (err: Error) => this.#logger?.debug({ err }, 'mcp: Redis subscriber error'))
    this.#subscriber.on('ready', () => {
      if (this.#wasReady) for (const listener of this.#reconnectListeners) listener()
      this.#wasReady = true
    })
  }

  /** The subscriber connection is up (messages from other instances arrive). */
  get connected (): boolean {
    return this.#subscriber.status === 'ready'
  }

  async publish (channel: string, message: unknown): Promise<void> {
    const breaker = this.#breaker
    if (breaker === undefined) await this.#client.publish(channel, JSON.stringify(message))
    else await (breaker.open ? breaker.refuse() : this.#client.publish(channel, JSON.stringify(message)).then(breaker.pass, breaker.fail))
  }

  async subscribe (channel: string, handler: (message: unknown) => void): Promise<() => Promise<void>> {
    let handlers = this.#channels.get(channel)
    if (handlers === undefined) {
      handlers = new Set()
      this.#channels.set(channel, handlers)
      handlers.add(handler)
      try {
        await this.#subscriber.subscribe(channel)
      } catch (err) {
        handlers.delete(handler)
        if (handlers.size === 0) this.#channels.delete(channel)
        throw err
      }
    } else {
      handlers.add(handler)
    }
    const current = handlers
    return async () => {
      current.delete(handler)
      if (current.size === 0 && this.#channels.get(channel) === current) {
        this.#channels.delete(channel)
        await this.#subscriber.unsubscribe(channel).catch(() => {})
      }
    }
  }

  /** Called after the subscriber connection came back (messages may have been missed). */
  onReconnect (listener: () => void): () => void {
    this.#reconnectListeners.add(listener)
    return () => { this.#reconnectListeners.delete(listener) }
  }

  async close (): Promise<void> {
    this.#channels.clear()
    this.#reconnectListeners.clear()
    await closeBounded(this.#subscriber, this.#closeTimeoutMs)
  }

  #dispatch (channel: string, payload: string): void {
    const handlers = this.#channels.get(channel)
    if (handlers === undefined) return
    let message: unknown
    try {
      message = JSON.parse(payload)
    } catch {
      return
    }
    for (const handler of [...handlers]) {
      try {
        handler(message)
      } catch (err) {
        this.#logger?.error({ err, channel }, 'mcp: bus handler threw')
      }
    }
  }
}
