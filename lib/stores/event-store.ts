import { assertStore } from './assert.js'

/** One event of a stream's history, as it is written on the wire. */
export interface StoredEvent {
  /** The SSE `id:` (see `formatEventId`). */
  readonly id: string
  /** The SSE `data:` payload: the JSON text of one JSON-RPC message, or `''` for a priming event. */
  readonly data: string
}

/** What a `Last-Event-ID` resumes. */
export interface ReplayResult {
  /** The stream the event id belongs to. */
  readonly streamId: string
  /** Events after the given id, oldest first (priming events included; the plugin skips them). */
  readonly events: StoredEvent[]
  /** The stream was ended with `end()`: nothing more will be appended to it. */
  readonly ended: boolean
  /** Events between the given id and the first one returned were evicted by the bounds. */
  readonly truncated: boolean
}

/**
 * Where the events of SSE streams are kept so that a client reconnecting with
 * `Last-Event-ID` loses nothing. Every message for a stream is appended before it is
 * written; a stream is a POST answer or a session's standalone GET stream.
 *
 * Histories are per session: `replayAfter` looks only inside the session it is given, so an
 * event id from another session (or a guessed one) can never reach that session's events.
 * Event ids must be built with `formatEventId(streamId, seq)`, where `seq` is one or two
 * non-negative integers joined by `-` (`42`, or Redis stream ids such as `1700000000000-3`)
 * and increases with every append to the stream.
 */
export interface EventStore {
  /** Append one event to a stream (creating it); resolves its event id. */
  append (sessionId: string, streamId: string, data: string): Promise<string>
  /** Nothing more will be appended to this stream (its request was answered or released). */
  end (sessionId: string, streamId: string): Promise<void>
  /**
   * The events of the session's stream named by `lastEventId` that come after it, or
   * `undefined` when the id is malformed or names no stream of this session.
   */
  replayAfter (sessionId: string, lastEventId: string): Promise<ReplayResult | undefined>
  /** Forget every stream of a session (it was deleted or expired). */
  deleteSession (sessionId: string): Promise<void>
  /** Release timers and connections. */
  close (): Promise<void>
}

const STORE_METHODS = ['append', 'end', 'replayAfter', 'deleteSession', 'close'] as const

/** Fail at registration, not at the first stream, when a custom store lacks a method. */
export function assertEventStore (store: unknown): asserts store is EventStore {
  assertStore('eventStore', 'EventStore', store, STORE_METHODS)
}

const SEQ = /^\d{1,16}(-\d{1,16})?$/
const STREAM_ID = /^[A-Za-z0-9_-]{1,64}$/

/** `<streamId>.<seq>`: the stream is recoverable from the id alone (spec: ids encode their stream). */
export function formatEventId (streamId: string, seq: string | number): string {
  return `${streamId}.${seq}`
}

/** The parts of an event id, or `undefined` for anything this plugin did not issue. */
export function parseEventId (eventId: string): { streamId: string, seq: string } | undefined {
  const dot = eventId.lastIndexOf('.')
  if (dot <= 0) return undefined
  const streamId = eventId.slice(0, dot)
  const seq = eventId.slice(dot + 1)
  return STREAM_ID.test(streamId) && SEQ.test(seq) ? { streamId, seq } : undefined
}

/** Orders two sequence parts of the same stream (`3` < `12`, `5-9` < `5-10` < `6-0`). */
export function compareSeq (a: string, b: string): number {
  const dashA = a.indexOf('-')
  const dashB = b.indexOf('-')
  const highA = Number(dashA === -1 ? a : a.slice(0, dashA))
  const highB = Number(dashB === -1 ? b : b.slice(0, dashB))
  if (highA !== highB) return highA < highB ? -1 : 1
  const lowA = dashA === -1 ? 0 : Number(a.slice(dashA + 1))
  const lowB = dashB === -1 ? 0 : Number(b.slice(dashB + 1))
  return lowA === lowB ? 0 : lowA < lowB ? -1 : 1
}
