import type { OutgoingHttpHeaders, ServerResponse } from 'node:http'
import type { FastifyBaseLogger } from 'fastify'

export interface SseConnectionOptions {
  /** Interval of `: keepalive` comments while the stream is idle; 0 disables. */
  keepAliveMs: number
  /** Bytes that may wait behind a slow reader before the stream is cut. */
  maxQueuedBytes: number
  /** How long a reader may leave the socket undrained before the stream is cut. */
  slowReaderTimeoutMs: number
  logger: FastifyBaseLogger
}

export const SSE_HEADERS: Readonly<OutgoingHttpHeaders> = Object.freeze({
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no'
})

const KEEPALIVE = ': keepalive\n\n'

/** A stream's place in its ConnectionSet. */
interface ConnectionLink {
  readonly stream: SseConnection
  previous: ConnectionLink | undefined
  next: ConnectionLink | undefined
}

/**
 * Every open stream of one plugin instance, for health counts and shutdown: a linked list,
 * each link cleared on close, not a Set. In `sse` response mode every POST opens and closes
 * a stream, and a Set churned that way keeps finished ones reachable (see KeyedTable).
 */
export class ConnectionSet {
  #first: ConnectionLink | undefined
  #size = 0

  get size (): number { return this.#size }

  add (stream: SseConnection): ConnectionLink {
    const link: ConnectionLink = { stream, previous: undefined, next: this.#first }
    if (this.#first !== undefined) this.#first.previous = link
    this.#first = link
    this.#size++
    return link
  }

  delete (link: ConnectionLink): void {
    const { previous, next } = link
    if (previous === undefined && this.#first !== link) return
    if (previous === undefined) this.#first = next
    else previous.next = next
    if (next !== undefined) next.previous = previous
    link.previous = undefined
    link.next = undefined
    this.#size--
  }

  /** End every connection (shutdown), telling clients when to reconnect. */
  endAll (retryMs?: number): void {
    const open: SseConnection[] = []
    for (let link = this.#first; link !== undefined; link = link.next) open.push(link.stream)
    for (const stream of open) stream.end(retryMs)
  }
}

/**
 * One Server-Sent Events response written straight to the raw Node response (the Fastify
 * reply is hijacked first). Honours backpressure: once `write()` returns false nothing more
 * is written until `drain`; events wait in a queue, and a queue larger than
 * `maxQueuedBytes` closes the stream instead of growing without bound.
 */
export class SseConnection {
  readonly #raw: ServerResponse
  readonly #options: SseConnectionOptions
  readonly #set: ConnectionSet
  readonly #link: ConnectionLink
  readonly #closeListeners: Array<() => void> = []
  #queue: string[] = []
  #queuedBytes = 0
  #waitingForDrain = false
  #drainWaiters: Array<() => void> = []
  #timer: NodeJS.Timeout | undefined
  #stallTimer: NodeJS.Timeout | undefined
  #closed = false
  #ending = false

  constructor (raw: ServerResponse, headers: Record<string, unknown>, options: SseConnectionOptions, set: ConnectionSet) {
    this.#raw = raw
    this.#options = options
    this.#set = set
    raw.writeHead(200, { ...headers, ...SSE_HEADERS } as OutgoingHttpHeaders)
    raw.flushHeaders()
    raw.on('close', () => this.#onClose())
    raw.on('drain', () => this.#onDrain())
    raw.on('error', (err) => options.logger.debug({ err }, 'mcp: SSE socket error'))
    if (options.keepAliveMs > 0) {
      this.#timer = setTimeout(() => this.#keepAlive(), options.keepAliveMs).unref()
    }
    this.#link = set.add(this)
  }

  get closed (): boolean { return this.#closed || this.#ending }

  /** Write one JSON-RPC message (its JSON text) as a `message` event. Returns false if the stream is closed. */
  sendData (data: string, eventId?: string): boolean {
    const head = eventId === undefined ? 'event: message\ndata: ' : `id: ${eventId}\nevent: message\ndata: `
    return this.#write(head + data + '\n\n')
  }

  /**
   * The 2025-11-25 priming event: an id and empty data, so the client holds a
   * `Last-Event-ID` before anything else arrives, and the reconnection delay.
   */
  prime (eventId: string, retryMs: number): boolean {
    return this.#write(`id: ${eventId}\nretry: ${retryMs}\ndata: \n\n`)
  }

  /** Whether writes are waiting for the reader to drain. */
  get waiting (): boolean { return this.#waitingForDrain }

  /** Resolves once the stream can take more (immediately unless a reader is slow). */
  ready (): Promise<void> {
    if (!this.#waitingForDrain || this.closed) return Promise.resolve()
    return new Promise((resolve) => this.#drainWaiters.push(resolve))
  }

  onClose (listener: () => void): void {
    if (this.#closed) listener()
    else this.#closeListeners.push(listener)
  }

  /**
   * Finish the response after whatever is queued has been handed to the socket. With
   * `retryMs`, a `retry:` field goes last: the stream is not over, the client should
   * reconnect after that long (SSE polling, shutdown).
   */
  end (retryMs?: number): void {
    if (this.closed) return
    this.#ending = true
    // Node buffers what we hand it; the bound was enforced as the queue grew.
    for (const chunk of this.#queue) this.#raw.write(chunk)
    if (retryMs !== undefined) this.#raw.write(`retry: ${retryMs}\n\n`)
    this.#queue = []
    this.#queuedBytes = 0
    this.#raw.end()
    this.#releaseWaiters()
  }

  /** Cut the connection at once (slow reader, shutdown of a dead socket). */
  destroy (): void {
    if (this.#closed) return
    this.#raw.destroy()
    this.#onClose()
  }

  #write (chunk: string): boolean {
    if (this.closed) return false
    if (this.#waitingForDrain) {
      this.#queue.push(chunk)
      this.#queuedBytes += Buffer.byteLength(chunk)
      if (this.#queuedBytes + this.#raw.writableLength > this.#options.maxQueuedBytes) {
        this.#options.logger.warn({ queuedBytes: this.#queuedBytes }, 'mcp: SSE reader too slow, closing stream')
        this.destroy()
        return false
      }
      return true
    }
    if (!this.#raw.write(chunk)) this.#startWaiting()
    this.#timer?.refresh()
    return true
  }

  // A handler awaiting ready() would otherwise wait forever on a reader that never reads,
  // holding its in-flight slot; a reader that makes no progress for this long is dead.
  #startWaiting (): void {
    this.#waitingForDrain = true
    if (this.#stallTimer === undefined) {
      this.#stallTimer = setTimeout(() => {
        this.#options.logger.warn({ slowReaderTimeoutMs: this.#options.slowReaderTimeoutMs }, 'mcp: SSE reader stalled, closing stream')
        this.destroy()
      }, this.#options.slowReaderTimeoutMs).unref()
    } else {
      this.#stallTimer.refresh()
    }
  }

  #stopWaiting (): void {
    this.#waitingForDrain = false
    if (this.#stallTimer !== undefined) clearTimeout(this.#stallTimer)
    this.#stallTimer = undefined
  }

  #onDrain (): void {
    if (this.closed) return
    this.#stopWaiting()
    while (this.#queue.length > 0) {
      const chunk = this.#queue.shift()!
      this.#queuedBytes -= Buffer.byteLength(chunk)
      if (!this.#raw.write(chunk)) {
        this.#startWaiting()
        return
      }
    }
    this.#timer?.refresh()
    this.#releaseWaiters()
  }

  #keepAlive (): void {
    if (this.closed) return
    // A reader that is not draining does not need keep-alives; it needs to catch up.
    if (!this.#waitingForDrain) this.#raw.write(KEEPALIVE)
    this.#timer?.refresh()
  }

  #releaseWaiters (): void {
    const waiters = this.#drainWaiters
    this.#drainWaiters = []
    for (const resolve of waiters) resolve()
  }

  #onClose (): void {
    if (this.#closed) return
    this.#closed = true
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    if (this.#stallTimer !== undefined) clearTimeout(this.#stallTimer)
    this.#queue = []
    this.#queuedBytes = 0
    this.#set.delete(this.#link)
    this.#releaseWaiters()
    for (const listener of this.#closeListeners.splice(0)) listener()
  }
}
