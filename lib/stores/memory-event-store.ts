import { compareSeq, formatEventId, parseEventId, type EventStore, type ReplayResult, type StoredEvent } from './event-store.js'

export interface MemoryEventStoreOptions {
  /** Most events kept per stream; the oldest go first. Default 10,000. */
  maxEventsPerStream?: number
  /** Most bytes kept per stream (approximate: data length plus a fixed per-event cost). Default 4 MiB. */
  maxBytesPerStream?: number
  /** Most bytes kept across every stream of every session. Default 64 MiB. */
  maxBytes?: number
}

/**
 * `JSON.stringify` hands back a rope of pieces (a V8 cons string) that can take half as much
 * heap again as its characters; kept for a long time, it is worth one copy into a flat string,
 * which also keeps the byte bound honest. Converting to a number flattens it.
 */
function flatten (data: string): string {
  Number(data)
  return data
}

/** What an event costs beyond its data (entry object, id bookkeeping), for the byte bounds. */
const EVENT_OVERHEAD = 96
const MiB = 1024 * 1024

interface Entry {
  readonly seq: number
  readonly data: string
  readonly cost: number
  readonly history: History
  /** Cleared when the entry leaves its stream (evicted, session deleted). */
  alive: boolean
}

class History {
  readonly sessionId: string
  readonly streamId: string
  readonly entries: Entry[] = []
  head = 0
  bytes = 0
  nextSeq = 1
  /** Every seq up to this one has been evicted. */
  evictedUpTo = 0
  ended = false

  constructor (sessionId: string, streamId: string) {
    this.sessionId = sessionId
    this.streamId = streamId
  }

  get count (): number { return this.entries.length - this.head }

  /** Drop the oldest entry; returns it. */
  shift (): Entry {
    const entry = this.entries[this.head]!
    this.entries[this.head++] = undefined as never
    // Compact once the dead prefix dominates, so shifting stays O(1) amortised.
    if (this.head > 64 && this.head * 2 > this.entries.length) {
      this.entries.splice(0, this.head)
      this.head = 0
    }
    this.bytes -= entry.cost
    this.evictedUpTo = entry.seq
    entry.alive = false
    return entry
  }

  /** Index of the first entry with a seq above `seq`. */
  firstAfter (seq: number): number {
    let low = this.head
    let high = this.entries.length
    while (low < high) {
      const mid = (low + high) >>> 1
      if (this.entries[mid]!.seq <= seq) low = mid + 1
      else high = mid
    }
    return low
  }
}

/**
 * Event histories in this process, bounded per stream (events and bytes) and in total
 * (bytes), evicting the oldest events first. A stream whose every event was evicted and
 * that has ended is forgotten; resuming it then answers as for an unknown id.
 */
export class MemoryEventStore implements EventStore {
  readonly #sessions = new Map<string, Map<string, History>>()
  /** Every live entry in append order across all streams, for the global bound. */
  #order: Entry[] = []
  #orderHead = 0
  #dead = 0
  #bytes = 0
  #events = 0
  readonly #maxEventsPerStream: number
  readonly #maxBytesPerStream: number
  readonly #maxBytes: number

  constructor (options: MemoryEventStoreOptions = {}) {
    this.#maxEventsPerStream = options.maxEventsPerStream ?? 10_000
    this.#maxBytesPerStream = options.maxBytesPerStream ?? 4 * MiB
    this.#maxBytes = options.maxBytes ?? 64 * MiB
  }

  /** Events and approximate bytes held now. */
  get stats (): { events: number, bytes: number, streams: number } {
    let streams = 0
    for (const session of this.#sessions.values()) streams += session.size
    return { events: this.#events, bytes: this.#bytes, streams }
  }

  async append (sessionId: string, streamId: string, data: string): Promise<string> {
    return this.appendNow(sessionId, streamId, data)
  }

  /** `append`, synchronously (for tools and tests that hold the store directly). */
  appendNow (sessionId: string, streamId: string, data: string): string {
    let session = this.#sessions.get(sessionId)
    if (session === undefined) {
      session = new Map()
      this.#sessions.set(sessionId, session)
    }
    let history = session.get(streamId)
    if (history === undefined) {
      history = new History(sessionId, streamId)
      session.set(streamId, history)
    }
    const seq = history.nextSeq++
    const cost = data.length + EVENT_OVERHEAD
    if (cost > this.#maxBytesPerStream || cost > this.#maxBytes) {
      // Too large to keep at all: it still gets an id, and a resume after it is reported truncated.
      while (history.count > 0) this.#evict(history)
      history.evictedUpTo = seq
      return formatEventId(streamId, seq)
    }
    while (history.count > 0 && (history.count >= this.#maxEventsPerStream || history.bytes + cost > this.#maxBytesPerStream)) {
      this.#evict(history)
    }
    const entry: Entry = { seq, data: flatten(data), cost, history, alive: true }
    history.entries.push(entry)
    history.bytes += cost
    this.#bytes += cost
    this.#events++
    this.#order.push(entry)
    while (this.#bytes > this.#maxBytes) this.#evictOldest()
    return formatEventId(streamId, seq)
  }

  async end (sessionId: string, streamId: string): Promise<void> {
    const history = this.#sessions.get(sessionId)?.get(streamId)
    if (history === undefined) return
    history.ended = true
    if (history.count === 0) this.#forget(sessionId, streamId)
  }

  async replayAfter (sessionId: string, lastEventId: string): Promise<ReplayResult | undefined> {
    return this.replayNow(sessionId, lastEventId)
  }

  /** `replayAfter`, synchronously. */
  replayNow (sessionId: string, lastEventId: string): ReplayResult | undefined {
    const parsed = parseEventId(lastEventId)
    if (parsed === undefined || parsed.seq.includes('-')) return undefined
    const { streamId } = parsed
    const history = this.#sessions.get(sessionId)?.get(streamId)
    const seq = Number(parsed.seq)
    // An id this stream has not issued yet is as unknown as one from another stream.
    if (history === undefined || seq >= history.nextSeq) return undefined
    const events: StoredEvent[] = []
    for (let i = history.firstAfter(seq); i < history.entries.length; i++) {
      const entry = history.entries[i]!
      events.push({ id: formatEventId(streamId, entry.seq), data: entry.data })
    }
    return { streamId, events, ended: history.ended, truncated: compareSeq(parsed.seq, String(history.evictedUpTo)) < 0 }
  }

  async deleteSession (sessionId: string): Promise<void> {
    const session = this.#sessions.get(sessionId)
    if (session === undefined) return
    this.#sessions.delete(sessionId)
    for (const history of session.values()) {
      while (history.count > 0) this.#evict(history)
    }
  }

  async close (): Promise<void> {
    this.#sessions.clear()
    this.#order = []
    this.#orderHead = 0
    this.#dead = 0
    this.#bytes = 0
    this.#events = 0
  }

  #evict (history: History): void {
    const entry = history.shift()
    this.#bytes -= entry.cost
    this.#events--
    // Its slot in the global order is skipped when reached; compact when such slots pile up.
    this.#dead++
    if (this.#dead > 1024 && this.#dead * 2 > this.#order.length - this.#orderHead) this.#compactOrder()
  }

  #evictOldest (): void {
    while (this.#orderHead < this.#order.length) {
      const entry = this.#order[this.#orderHead]!
      this.#order[this.#orderHead++] = undefined as never
      if (!entry.alive) {
        this.#dead--
        continue
      }
      // Within one stream, global order is stream order: the oldest live entry is its head.
      const history = entry.history
      history.shift()
      this.#bytes -= entry.cost
      this.#events--
      if (history.count === 0 && history.ended) this.#forget(history.sessionId, history.streamId)
      break
    }
    if (this.#orderHead > 1024 && this.#orderHead * 2 > this.#order.length) {
      this.#order.splice(0, this.#orderHead)
      this.#orderHead = 0
    }
  }

  #compactOrder (): void {
    this.#order = this.#order.slice(this.#orderHead).filter((entry) => entry.alive)
    this.#orderHead = 0
    this.#dead = 0
  }

  #forget (sessionId: string, streamId: string): void {
    const session = this.#sessions.get(sessionId)
    if (session === undefined) return
    session.delete(streamId)
    if (session.size === 0) this.#sessions.delete(sessionId)
  }
}
