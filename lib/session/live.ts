import type { RequestId } from '../../schemas/jsonrpc.js'
import type { PostExchange } from '../http/exchange.js'
import type { SseStream } from '../http/sse.js'

/** A request being handled on this instance, findable by `notifications/cancelled`. */
export interface InFlight {
  readonly id: RequestId
  readonly exchange: PostExchange
  /** Created on first use of `ctx.signal`: most handlers never look at it. */
  controller: AbortController | undefined
  cancelled: boolean
}

export type BeginResult = InFlight | 'duplicate' | 'busy'

/** One request in flight is stored as itself; a Map only once a session has several. */
type InFlightSlot = InFlight | Map<RequestId, InFlight>

function abortError (reason: string): Error {
  const error = new Error(reason)
  error.name = 'AbortError'
  return error
}

function abort (entry: InFlight, reason: string): void {
  entry.cancelled = true
  if (entry.controller === undefined) entry.controller = new AbortController()
  entry.controller.abort(abortError(reason))
}

/**
 * What this instance holds for its sessions beyond the store's records: the standalone
 * GET stream and the requests in flight. Entries exist only while they hold something, so
 * idle sessions cost nothing here, and the common case (one request at a time on a
 * session) costs one Map entry and no further allocation.
 */
export class LiveSessions {
  readonly #standalone = new Map<string, SseStream>()
  readonly #inflight = new Map<string, InFlightSlot>()
  readonly #onTerminate: (sessionId: string) => void

  /** `onTerminate` releases what other tables hold for a session that ends (pending requests). */
  constructor (onTerminate: (sessionId: string) => void = () => {}) {
    this.#onTerminate = onTerminate
  }

  /** Register a request; refuses an id already in flight and more than `max` at once. */
  begin (sessionId: string, id: RequestId, exchange: PostExchange, max: number): BeginResult {
    const entry: InFlight = { id, exchange, controller: undefined, cancelled: false }
    const slot = this.#inflight.get(sessionId)
    if (slot === undefined) {
      this.#inflight.set(sessionId, entry)
      return entry
    }
    if (!(slot instanceof Map)) {
      if (slot.id === id) return 'duplicate'
      if (max <= 1) return 'busy'
      this.#inflight.set(sessionId, new Map([[slot.id, slot], [id, entry]]))
      return entry
    }
    if (slot.has(id)) return 'duplicate'
    if (slot.size >= max) return 'busy'
    slot.set(id, entry)
    return entry
  }

  end (sessionId: string, entry: InFlight): void {
    const slot = this.#inflight.get(sessionId)
    if (slot === entry) {
      this.#inflight.delete(sessionId)
    } else if (slot instanceof Map && slot.get(entry.id) === entry) {
      slot.delete(entry.id)
      if (slot.size === 0) this.#inflight.delete(sessionId)
    }
  }

  #find (sessionId: string, requestId: RequestId): InFlight | undefined {
    const slot = this.#inflight.get(sessionId)
    if (slot === undefined) return undefined
    if (slot instanceof Map) return slot.get(requestId)
    return slot.id === requestId ? slot : undefined
  }

  /** `notifications/cancelled`: abort the handler and release its place in the POST. */
  cancel (sessionId: string, requestId: RequestId, reason: string | undefined): boolean {
    const entry = this.#find(sessionId, requestId)
    if (entry === undefined || entry.cancelled) return false
    abort(entry, reason ?? 'Request cancelled by the client')
    entry.exchange.release()
    return true
  }

  /** Open (or replace) the session's standalone GET stream. */
  attachStandalone (sessionId: string, stream: SseStream): void {
    const previous = this.#standalone.get(sessionId)
    this.#standalone.set(sessionId, stream)
    // A client reconnecting over a half-dead socket must win, not get 409.
    if (previous !== undefined) previous.end()
    stream.onClose(() => {
      if (this.#standalone.get(sessionId) === stream) this.#standalone.delete(sessionId)
    })
  }

  standalone (sessionId: string): SseStream | undefined {
    return this.#standalone.get(sessionId)
  }

  /**
   * The session is gone (DELETE, expiry): close its stream, abort its handlers and
   * answer its open POSTs with `goneBody` (404) if they have not started streaming.
   */
  terminate (sessionId: string, goneBody: unknown): void {
    this.#onTerminate(sessionId)
    const standalone = this.#standalone.get(sessionId)
    if (standalone !== undefined) {
      this.#standalone.delete(sessionId)
      standalone.end()
    }
    const slot = this.#inflight.get(sessionId)
    if (slot === undefined) return
    this.#inflight.delete(sessionId)
    for (const entry of slot instanceof Map ? slot.values() : [slot]) {
      abort(entry, 'Session terminated')
      entry.exchange.terminate(404, goneBody)
    }
  }

  /** Sessions holding a standalone stream here: connected clients, in use even without POSTs. */
  streamingSessions (): IterableIterator<string> {
    return this.#standalone.keys()
  }
}
