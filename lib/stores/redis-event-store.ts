import type { Redis } from 'ioredis'
import { compareSeq, formatEventId, parseEventId, type EventStore, type ReplayResult, type StoredEvent } from './event-store.js'
import { RedisKeys } from './redis-keys.js'
import { RedisBreaker } from './redis-breaker.js'
import { defineScripts } from './redis-session-store.js'

export interface RedisEventStoreOptions {
  /** Key prefix (default `mcp:`). */
  prefix?: string
  /** Entries kept per stream (`XADD MAXLEN ~`, so Redis may keep a few more). Default 10,000. */
  maxEventsPerStream?: number
  /** A stream's history expires this long after its last event (the session idle TTL). */
  ttlMs?: number
  /** Shared with the other users of the client; by default the store has one of its own. */
  breaker?: RedisBreaker
}

type Scripted = Redis & {
  mcpEventAppend (events: string, streams: string, maxLen: number, data: string, ttl: number, streamId: string, channel: string): Promise<string>
  mcpEventEnd (events: string, streams: string, ttl: number, streamId: string, channel: string): Promise<string | null>
  mcpEventReplay (events: string, after: string): Promise<[string, number, Array<[string, string[]]>] | null>
  mcpEventDrop (streams: string, keyPrefix: string): Promise<number>
}

// All keys of one session share its hash tag: one Cluster slot. The append and its
// publication happen in one script, so subscribers see events in history order.
const SCRIPTS = {
  mcpEventAppend: `
    local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'd', ARGV[2])
    redis.call('PEXPIRE', KEYS[1], ARGV[3])
    redis.call('SADD', KEYS[2], ARGV[4])
    redis.call('PEXPIRE', KEYS[2], ARGV[3])
    redis.call('PUBLISH', ARGV[5], cjson.encode({i = ARGV[4] .. '.' .. id, d = ARGV[2]}))
    return id`,
  mcpEventEnd: `
    if redis.call('EXISTS', KEYS[1]) == 0 then return false end
    local id = redis.call('XADD', KEYS[1], '*', 'e', '1')
    redis.call('PEXPIRE', KEYS[1], ARGV[1])
    redis.call('PUBLISH', ARGV[3], cjson.encode({i = ARGV[2] .. '.' .. id, e = 1}))
    return id`,
  // {last generated id, 1 if events after ARGV[1] may have been trimmed, entries after it},
  // or nil for no such stream. Trimming leaves no trace of what it removed, so: an entry at
  // or before ARGV[1] survives → nothing between was trimmed; none does while some were.
  mcpEventReplay: `
    if redis.call('EXISTS', KEYS[1]) == 0 then return false end
    local info = redis.call('XINFO', 'STREAM', KEYS[1])
    local last, added, length = '0-0', 0, 0
    for i = 1, #info, 2 do
      if info[i] == 'last-generated-id' then last = info[i + 1] end
      if info[i] == 'entries-added' then added = info[i + 1] end
      if info[i] == 'length' then length = info[i + 1] end
    end
    local truncated = 0
    if added > length and #redis.call('XREVRANGE', KEYS[1], ARGV[1], '-', 'COUNT', 1) == 0 then truncated = 1 end
    return {last, truncated, redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], '+')}`,
  mcpEventDrop: `
    local streams = redis.call('SMEMBERS', KEYS[1])
    for _, stream in ipairs(streams) do redis.call('DEL', ARGV[1] .. stream) end
    redis.call('DEL', KEYS[1])
    return #streams`
} as const

const SCRIPT_KEYS = { mcpEventAppend: 2, mcpEventEnd: 2, mcpEventReplay: 1, mcpEventDrop: 1 }

/**
 * Event histories in Redis Streams, one per SSE stream: ids come from Redis (`XADD *`), so
 * appends from several instances never collide; each history is capped with `MAXLEN ~` and
 * expires with the session's idle TTL. Every append is also published on the stream's
 * channel (`streamChannel`), in the same script, for the instance holding its connection.
 */
export class RedisEventStore implements EventStore {
  readonly #client: Scripted
  readonly #breaker: RedisBreaker
  readonly #ownBreaker: boolean
  readonly #keys: RedisKeys
  readonly #maxLen: number
  readonly #ttlMs: number

  constructor (client: Redis, options: RedisEventStoreOptions = {}) {
    this.#keys = new RedisKeys(options.prefix ?? 'mcp:')
    this.#maxLen = options.maxEventsPerStream ?? 10_000
    this.#ttlMs = options.ttlMs ?? 30 * 60_000
    defineScripts(client, SCRIPTS, SCRIPT_KEYS)
    this.#client = client as Scripted
    this.#ownBreaker = options.breaker === undefined
    this.#breaker = options.breaker ?? new RedisBreaker(client, { probeIntervalMs: client.options.commandTimeout })
  }

  /** The channel on which a stream's appends are published (as `FeedEvent` JSON, see lib/legacy/feed-stream.ts). */
  streamChannel (sessionId: string, streamId: string): string {
    return this.#keys.channel(`{${sessionId}}:${streamId}`)
  }

  append (sessionId: string, streamId: string, data: string): Promise<string> {
    return this.#breaker.open ? this.#breaker.refuse() : this.#append(sessionId, streamId, data).then(this.#breaker.pass, this.#breaker.fail)
  }

  async #append (sessionId: string, streamId: string, data: string): Promise<string> {
    const seq = await this.#client.mcpEventAppend(this.#keys.events(sessionId, streamId), this.#keys.eventStreams(sessionId), this.#maxLen, data, this.#ttlMs, streamId, this.streamChannel(sessionId, streamId))
    return formatEventId(streamId, seq)
  }

  end (sessionId: string, streamId: string): Promise<void> {
    return this.#breaker.open ? this.#breaker.refuse() : this.#end(sessionId, streamId).then(this.#breaker.pass, this.#breaker.fail)
  }

  async #end (sessionId: string, streamId: string): Promise<void> {
    await this.#client.mcpEventEnd(this.#keys.events(sessionId, streamId), this.#keys.eventStreams(sessionId), this.#ttlMs, streamId, this.streamChannel(sessionId, streamId))
  }

  replayAfter (sessionId: string, lastEventId: string): Promise<ReplayResult | undefined> {
    return this.#breaker.open ? this.#breaker.refuse() : this.#replayAfter(sessionId, lastEventId).then(this.#breaker.pass, this.#breaker.fail)
  }

  async #replayAfter (sessionId: string, lastEventId: string): Promise<ReplayResult | undefined> {
    const parsed = parseEventId(lastEventId)
    if (parsed === undefined || !parsed.seq.includes('-')) return undefined
    const { streamId, seq } = parsed
    const reply = await this.#client.mcpEventReplay(this.#keys.events(sessionId, streamId), seq)
    if (reply === null) return undefined
    const [last, truncated, entries] = reply
    // An id this stream has not issued is as unknown as one from another stream.
    if (compareSeq(seq, last) > 0) return undefined
    const events: StoredEvent[] = []
    let ended = false
    for (const [id, fields] of entries) {
      if (fields[0] === 'e') {
        ended = true
        continue
      }
      events.push({ id: formatEventId(streamId, id), data: fields[1] ?? '' })
    }
    return { streamId, events, ended, truncated: truncated === 1 }
  }

  /** The id of the stream's last event so far (`<streamId>.0-0` for a stream with none). */
  async position (sessionId: string, streamId: string): Promise<string> {
    const breaker = this.#breaker
    const last = await (breaker.open ? breaker.refuse() : this.#client.xrevrange(this.#keys.events(sessionId, streamId), '+', '-', 'COUNT', 1).then(breaker.pass, breaker.fail))
    return formatEventId(streamId, last[0]?.[0] ?? '0-0')
  }

  deleteSession (sessionId: string): Promise<void> {
    return this.#breaker.open ? this.#breaker.refuse() : this.#deleteSession(sessionId).then(this.#breaker.pass, this.#breaker.fail)
  }

  async #deleteSession (sessionId: string): Promise<void> {
    await this.#client.mcpEventDrop(this.#keys.eventStreams(sessionId), this.#keys.events(sessionId, ''))
  }

  /** The client is the plugin's (or yours): only a breaker of its own to stop. */
  async close (): Promise<void> {
    if (this.#ownBreaker) this.#breaker.close()
  }
}
