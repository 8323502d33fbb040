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

interface LiveSession {
  standalone: SseStream | undefined
  /** The GET stream may carry `notifications/tools/list_changed` (declared at initialize). */
  toolsListChanged: boolean
  inflight: Map<RequestId, InFlight> | undefined
}

export type BeginResult = InFlight | 'duplicate' | 'busy'

function abortError (reason: string): Error {
  const error = new Error(reason)
  error.name = 'AbortError'
  return error
}

/**
 * What this instance holds for its sessions beyond the store's records: the standalone
 * GET stream and the requests in flight. An entry exists only while it holds something,
 * so idle sessions cost nothing here.
 */
export class LiveSessions {
  readonly #sessions = new Map<string, LiveSession>()

  #entry (sessionId: string): LiveSession {
    let live = this.#sessions.get(sessionId)
    if (live === undefined) {
      live = { standalone: undefined, toolsListChanged: false, inflight: undefined }
      this.#sessions.set(sessionId, live)
    }
    return live
  }

  #dropIfIdle (sessionId: string, live: LiveSession): void {
    if (live.standalone === undefined && (live.inflight === undefined || live.inflight.size === 0)) {
      this.#sessions.delete(sessionId)
    }
  }

  /** Register a request; refuses an id already in flight and more than `max` at once. */
  begin (sessionId: string, id: RequestId, exchange: PostExchange, max: number): BeginResult {
    const live = this.#entry(sessionId)
    const inflight = (live.inflight ??= new Map())
    if (inflight.has(id)) return 'duplicate'
    if (inflight.size >= max) return 'busy'
    const entry: InFlight = { id, exchange, controller: undefined, cancelled: false }
    inflight.set(id, entry)
    return entry
  }

  end (sessionId: string, entry: InFlight): void {
    const live = this.#sessions.get(sessionId)
    if (live === undefined) return
    if (live.inflight?.get(entry.id) === entry) live.inflight.delete(entry.id)
    this.#dropIfIdle(sessionId, live)
  }

  /** `notifications/cancelled`: abort the handler and release its place in the POST. */
  cancel (sessionId: string, requestId: RequestId, reason: string | undefined): boolean {
    const entry = this.#sessions.get(sessionId)?.inflight?.get(requestId)
    if (entry === undefined || entry.cancelled) return false
    entry.cancelled = true
    if (entry.controller === undefined) entry.controller = new AbortController()
    entry.controller.abort(abortError(reason ?? 'Request cancelled by the client'))
    entry.exchange.release()
    return true
  }

  /** Open (or replace) the session's standalone GET stream. */
  attachStandalone (sessionId: string, stream: SseStream, toolsListChanged: boolean): void {
    const live = this.#entry(sessionId)
    const previous = live.standalone
    live.standalone = stream
    live.toolsListChanged = toolsListChanged
    // A client reconnecting over a half-dead socket must win, not get 409.
    if (previous !== undefined) previous.end()
    stream.onClose(() => {
      const current = this.#sessions.get(sessionId)
      if (current?.standalone === stream) {
        current.standalone = undefined
        this.#dropIfIdle(sessionId, current)
      }
    })
  }

  standalone (sessionId: string): SseStream | undefined {
    return this.#sessions.get(sessionId)?.standalone
  }

  /**
   * The session is gone (DELETE, expiry): close its stream, abort its handlers and
   * answer its open POSTs with `goneBody` (404) if they have not started streaming.
   */
  terminate (sessionId: string, goneBody: unknown): void {
    const live = this.#sessions.get(sessionId)
    if (live === undefined) return
    this.#sessions.delete(sessionId)
    live.standalone?.end()
    if (live.inflight !== undefined) {
      for (const entry of live.inflight.values()) {
        entry.cancelled = true
        if (entry.controller === undefined) entry.controller = new AbortController()
        entry.controller.abort(abortError('Session terminated'))
        entry.exchange.terminate(404, goneBody)
      }
    }
  }

  /** Send a notification on the GET stream of every session that accepts it here. */
  broadcastToolsListChanged (message: unknown): number {
    let sent = 0
    for (const live of this.#sessions.values()) {
      if (live.toolsListChanged && live.standalone?.send(message) === true) sent++
    }
    return sent
  }

  /** Sessions holding a standalone stream here: connected clients, in use even without POSTs. */
  * streamingSessions (): IterableIterator<string> {
    for (const [id, live] of this.#sessions) if (live.standalone !== undefined) yield id
  }

  get size (): number { return this.#sessions.size }
}
