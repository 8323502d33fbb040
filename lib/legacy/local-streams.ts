import { createHash } from 'node:crypto'
import type { JsonRpcResponse, RequestId } from '../../schemas/jsonrpc.js'
import type { Refusal } from '../core/caller.js'
import { EventStream, type StreamEnv } from './event-stream.js'
import type { SseConnection } from '../http/sse-connection.js'

/** What the table does with the POST answer of a request it cancels or aborts (a `PostExchange`). */
export interface InFlightAnswer {
  /** The answer became an SSE stream. */
  readonly streaming: boolean
  respond (response: JsonRpcResponse): void
  /** The request will never be answered (cancelled). */
  release (): void
  /** Answer an undecided POST with `status` and `body`; end a stream. */
  terminate (status: number, body: unknown): void
}

/** A request being handled on this instance, findable by `notifications/cancelled`. */
export interface InFlight {
  readonly id: RequestId
  readonly exchange: InFlightAnswer
  /** Created on first use of `ctx.signal`: most handlers never look at it. */
  controller: AbortController | undefined
  cancelled: boolean
}

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

function entriesOf (slot: InFlightSlot): Iterable<InFlight> {
  return slot instanceof Map ? [...slot.values()] : [slot]
}

/** How `abortAll` answers the requests it aborts. */
export interface AbortAllOptions {
  /** The abort reason handlers see. */
  readonly reason: string
  /** The HTTP status and body of a POST that has not started streaming. */
  readonly status: number
  readonly body: unknown
  /** The JSON-RPC error a streaming POST ends with, for each aborted request. */
  readonly errorFor: (id: RequestId) => JsonRpcResponse
}

/**
 * The id of a session's standalone GET stream: the same on every instance, yet different in
 * every session, so a `Last-Event-ID` copied from another session never names a stream here.
 */
export function standaloneStreamId (sessionId: string): string {
  return 'g' + createHash('sha256').update(sessionId).digest('base64url').slice(0, 12)
}

/**
 * What this instance holds for its sessions beyond the store's records: the standalone
 * GET streams, the POST streams still being answered, and the requests in flight. Entries
 * exist only while they hold something, so idle sessions cost nothing here, and the common
 * case (one request at a time on a session) costs one Map entry and no further allocation.
 */
export class LocalStreams {
  readonly #env: StreamEnv
  readonly #standalone = new Map<string, EventStream>()
  // Not Maps: see KeyedTable.
  readonly #posts = new KeyedTable<EventStream>()
  readonly #inflight = new KeyedTable<InFlightSlot>()
  readonly #onTerminate: (sessionId: string) => void
  #inflightCount = 0
  #idleWaiters: Array<() => void> = []

  /** `onTerminate` releases what other tables hold for a session that ends (pending requests, events). */
  constructor (env: StreamEnv, onTerminate: (sessionId: string) => void = () => {}) {
    this.#env = env
    this.#onTerminate = onTerminate
  }

  /** Register a request; refuses an id already in flight and more than `max` at once. */
  begin (sessionId: string, entry: InFlight, max: number): Refusal | undefined {
    const { id } = entry
    const slot = this.#inflight.get(sessionId)
    if (slot === undefined) {
      this.#inflight.add(sessionId, entry)
    } else if (!(slot instanceof Map)) {
      if (slot.id === id) return 'duplicate'
      if (max <= 1) return 'busy'
      this.#inflight.replace(sessionId, new Map([[slot.id, slot], [id, entry]]))
    } else {
      if (slot.has(id)) return 'duplicate'
      if (slot.size >= max) return 'busy'
      slot.set(id, entry)
    }
    this.#inflightCount++
    return undefined
  }

  end (sessionId: string, entry: InFlight): void {
    const slot = this.#inflight.get(sessionId)
    if (slot === entry) {
      this.#inflight.remove(sessionId)
    } else if (slot instanceof Map && slot.get(entry.id) === entry) {
      slot.delete(entry.id)
      if (slot.size === 0) this.#inflight.remove(sessionId)
    } else {
      return
    }
    this.#released(1)
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

  /** Requests being handled on this instance. */
  get inflightCount (): number { return this.#inflightCount }

  /**
   * Resolves once no request is in flight here and every POST stream has recorded its end
   * (with an event store across a network, the last messages are still being stored when the
   * handler returns).
   */
  whenIdle (): Promise<void> {
    if (this.#idle) return Promise.resolve()
    return new Promise((resolve) => this.#idleWaiters.push(resolve))
  }

  /**
   * Shutdown gave up waiting: abort every handler. A streaming POST gets a JSON-RPC error
   * for the request (stored, so a client resuming elsewhere gets an answer) and ends; one
   * still undecided is answered with `status` and `body`.
   */
  abortAll ({ reason, status, body, errorFor }: AbortAllOptions): void {
    const slots = this.#inflight.drain()
    let count = 0
    for (const slot of slots) {
      for (const entry of entriesOf(slot)) {
        abort(entry, reason)
        if (entry.exchange.streaming) entry.exchange.respond(errorFor(entry.id))
        else entry.exchange.terminate(status, body)
        count++
      }
    }
    this.#released(count)
  }

  get #idle (): boolean { return this.#inflightCount === 0 && this.#posts.size === 0 }

  #released (count: number): void {
    this.#inflightCount -= count
    this.#checkIdle()
  }

  #checkIdle (): void {
    if (this.#idle && this.#idleWaiters.length > 0) {
      for (const resolve of this.#idleWaiters.splice(0)) resolve()
    }
  }

  /** The session's standalone stream, created if this instance has none yet. */
  standaloneFor (sessionId: string): EventStream {
    let stream = this.#standalone.get(sessionId)
    if (stream === undefined) {
      stream = new EventStream(this.#env, sessionId, standaloneStreamId(sessionId))
      this.#standalone.set(sessionId, stream)
    }
    return stream
  }

  /**
   * Carry the session's standalone stream on `connection` (a GET without `Last-Event-ID`),
   * priming it if asked. An older connection is ended: a client reconnecting over a
   * half-dead socket must win, not get 409.
   */
  openStandalone (sessionId: string, connection: SseConnection, prime: boolean): void {
    const stream = this.standaloneFor(sessionId)
    void stream.open(connection, prime)
    if (!stream.resumable) {
      // Without an event store nothing can be kept for the client between connections.
      connection.onClose(() => {
        if (this.#standalone.get(sessionId) === stream && !stream.connected) this.#standalone.delete(sessionId)
      })
    }
  }

  /**
   * Queue a message on the session's standalone stream without waiting for the reader (a
   * fan-out must not be paced by its slowest client). False when it cannot reach the client:
   * no stream here, or no connection and no event store to keep it in.
   */
  sendStandalone (sessionId: string, message: unknown): boolean {
    const stream = this.#standalone.get(sessionId)
    if (stream === undefined || !stream.canCarry) return false
    void stream.send(message)
    return true
  }

  /** The POST stream a `Last-Event-ID` names, while its request is still being answered here. */
  findStream (sessionId: string, streamId: string): EventStream | undefined {
    return this.#posts.get(sessionId + ' ' + streamId)
  }

  registerStream (stream: EventStream): void {
    this.#posts.set(stream.sessionId + ' ' + stream.id, stream)
  }

  unregisterStream (stream: EventStream): void {
    const key = stream.sessionId + ' ' + stream.id
    if (this.#posts.get(key) === stream) {
      this.#posts.delete(key)
      this.#checkIdle()
    }
  }

  /**
   * The session is gone (DELETE, expiry): close its streams, abort its handlers and
   * answer its open POSTs with `goneBody` (404) if they have not started streaming.
   */
  terminate (sessionId: string, goneBody: unknown): void {
    const standalone = this.#standalone.get(sessionId)
    if (standalone !== undefined) {
      this.#standalone.delete(sessionId)
      standalone.close()
    }
    const slot = this.#inflight.get(sessionId)
    if (slot !== undefined) {
      this.#inflight.delete(sessionId)
      let count = 0
      for (const entry of entriesOf(slot)) {
        abort(entry, 'Session terminated')
        entry.exchange.terminate(404, goneBody)
        count++
      }
      this.#released(count)
    }
    // After the streams are closed, so none of them stores anything for the gone session.
    this.#onTerminate(sessionId)
  }

  /** Sessions with a standalone stream here (connected or awaiting a resume): where notifications go. */
  standaloneSessions (): IterableIterator<string> {
    return this.#standalone.keys()
  }

  /** Sessions whose client holds a GET connection here: in use even without POSTs. */
  * connectedSessions (): IterableIterator<string> {
    for (const [sessionId, stream] of this.#standalone) {
      if (stream.connected) yield sessionId
    }
  }
}

/**
 * A string-keyed table for entries that come and go with requests (requests in flight, POST
 * streams being answered): a dictionary-mode object rather than a Map.
 *
 * V8 links each table a Map outgrows to its successor (for live iterators), and does not
 * clear the entries the old table held. Once one of those tables is promoted, every later
 * table and every entry they held stays reachable until a mark-compact. With dozens of
 * requests in flight (a Redis reply batch resumes them together) a Map here promoted each
 * finished request's whole object graph: about 2 MB per scavenge and a mark-compact a
 * second under load, against nothing with this table (test/inflight-gc.test.ts).
 */
export class KeyedTable<V> {
  #entries: Record<string, V> = Object.create(null)
  #size = 0

  get size (): number { return this.#size }

  get (key: string): V | undefined {
    return this.#entries[key]
  }

  set (key: string, value: V): void {
    if (this.#entries[key] === undefined) this.#size++
    this.#entries[key] = value
  }

  delete (key: string): void {
    if (this.#entries[key] === undefined) return
    delete this.#entries[key]
    this.#size--
  }

  // The in-flight table's hot path: the caller has just read the key, so one lookup less each.

  /** `set` for a key the caller just found absent. */
  add (key: string, value: V): void {
    this.#entries[key] = value
    this.#size++
  }

  /** `set` for a key the caller just found present. */
  replace (key: string, value: V): void {
    this.#entries[key] = value
  }

  /** `delete` for a key the caller just found present. */
  remove (key: string): void {
    delete this.#entries[key]
    this.#size--
  }

  /** Empty the table, returning what it held. */
  drain (): V[] {
    const values = Object.values(this.#entries)
    this.#entries = Object.create(null)
    this.#size = 0
    return values
  }
}
