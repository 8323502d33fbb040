/**
 * Every key the plugin writes, in one place. Per-session keys carry the session id as a
 * `{hash tag}`, so all of a session's keys live in one Redis Cluster slot and can be used
 * together in one script; the session index is the only key shared by all sessions.
 */
export class RedisKeys {
  readonly prefix: string

  constructor (prefix: string) {
    this.prefix = prefix
  }

  /** Hash: the session record, one JSON-encoded field per record field. */
  session (sessionId: string): string { return `${this.prefix}{${sessionId}}:s` }
  /** Stream: one SSE stream's event history. */
  events (sessionId: string, streamId: string): string { return `${this.prefix}{${sessionId}}:e:${streamId}` }
  /** Set: the stream ids of the session that have a history (to delete them with it). */
  eventStreams (sessionId: string): string { return `${this.prefix}{${sessionId}}:e` }
  /** Sorted set: session id → expiry time (ms), for the cap, `size()` and expiry notices. */
  sessionIndex (): string { return `${this.prefix}sessions` }
  /** Set: sessions that have a standalone GET stream (where notifications are kept). */
  standaloneIndex (): string { return `${this.prefix}standalone` }
  /** Set: sessions subscribed to a resource URI. */
  subscribers (uri: string): string { return `${this.prefix}sub:${uri}` }
  /** A pub/sub channel of this deployment. */
  channel (name: string): string { return `${this.prefix}ch:${name}` }
}
