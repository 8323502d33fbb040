import { Redis } from 'ioredis'
import { errors } from '../errors.js'
import { settledWithin } from '../timeout.js'

/**
 * Close a connection, waiting at most `ms` for a polite QUIT before cutting it: a Redis that
 * is down must not hang shutdown.
 */
export async function closeBounded (client: Redis, ms: number): Promise<void> {
  if (client.status === 'end') return
  const quit = client.quit().then(() => true, () => false)
  if (!await settledWithin(quit, ms) || !await quit) client.disconnect(false)
}

/** Options for clients the plugin creates itself from a URL: fail fast rather than queue. */
export function createClient (url: string, commandTimeoutMs: number): Redis {
  return new Redis(url, {
    // A request must answer 503 quickly while Redis is away, not wait in a queue.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: commandTimeoutMs,
    connectTimeout: Math.max(commandTimeoutMs, 1000),
    // Keep reconnecting (capped backoff) so the server recovers without a restart.
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
    lazyConnect: false
  })
}

/**
 * Hold the client's writes until the end of this turn of the event loop, so the commands of
 * every request read in the same turn leave in one write. Requests arrive one per I/O callback,
 * so nothing short of `setImmediate` gathers them (ioredis auto-pipelining does, but builds a
 * pipeline per batch, which costs more than it saves). One write instead of one per request
 * halves redis-server's CPU per lookup and saves the client a syscall each (bench/redis-lookup.ts).
 * Anything else sent on this client meanwhile waits for the same turn's end, never longer.
 */
export function corkForTurn (client: Redis): void {
  const stream = client.stream as Redis['stream'] | undefined
  // Already corked (by an earlier call this turn): that uncork flushes this command too.
  if (stream === undefined || typeof stream.cork !== 'function' || stream.writableCorked > 0) return
  stream.cork()
  setImmediate(() => stream.uncork())
}

/** A Redis failure as the plugin reports it: 503, the cause kept for logs. */
export function unavailable (err: unknown): Error {
  if (err instanceof Error && (err as { code?: string }).code === 'FST_MCP_STORE_UNAVAILABLE') return err
  const wrapped = new errors.FST_MCP_STORE_UNAVAILABLE(err instanceof Error ? err.message : String(err))
  wrapped.cause = err
  return wrapped
}
