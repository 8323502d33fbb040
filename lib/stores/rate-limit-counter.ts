import { createRequire } from 'node:module'
import type { Redis } from 'ioredis'
import type { RedisBreaker } from './redis-breaker.js'

/** What one count of a rate limit answers: hits in the current window and the ms left of it. */
export interface HitCount {
  current: number
  ttl: number
}

/**
 * A rate-limit counter with the shape of `@fastify/rate-limit`'s stores (its `store` option):
 * `incr` counts one hit of `key` in a fixed window of `timeWindow` ms.
 */
export interface HitCounter {
  incr (key: string, callback: (err: Error | null, result?: HitCount) => void, timeWindow: number, max: number): void
  child (routeOptions: unknown): HitCounter
}

type LocalStoreCtor = new (continueExceeding: boolean, exponentialBackoff: boolean, cache: number) => HitCounter
type RedisStoreCtor = new (continueExceeding: boolean, exponentialBackoff: boolean, redis: Redis, key: string) => HitCounter

// The package's own stores (an LRU in memory; one Lua INCR + PEXPIRE in Redis), so every
// counter, the route limit's and the per-tool and initialize ones, counts the same way.
const require = createRequire(import.meta.url)
const LocalStore = require('@fastify/rate-limit/store/LocalStore.js') as LocalStoreCtor
const RedisStore = require('@fastify/rate-limit/store/RedisStore.js') as RedisStoreCtor

/** Where rate-limit counters live: in this process, or in Redis behind the client's breaker. */
export interface CounterHome {
  /** Keys each memory counter keeps (LRU). */
  readonly cache: number
  readonly redis?: { readonly client: Redis, readonly breaker: RedisBreaker, readonly prefix: string } | undefined
}

/**
 * A counter for one kind of limit (`req`, `init`, `tool`). In Redis its keys are
 * `<prefix>rl:<kind>:<key>`, shared by every instance on that Redis. A Redis that times out
 * trips the client's breaker like any store command; while it is open the count fails at
 * once instead of waiting out the command timeout.
 */
export function hitCounter (home: CounterHome, kind: string): HitCounter {
  const redis = home.redis
  if (redis === undefined) return new LocalStore(false, false, home.cache)
  return new GuardedCounter(new RedisStore(false, false, redis.client, `${redis.prefix}rl:${kind}:`), redis.breaker)
}

class GuardedCounter implements HitCounter {
  readonly #inner: HitCounter
  readonly #breaker: RedisBreaker

  constructor (inner: HitCounter, breaker: RedisBreaker) {
    this.#inner = inner
    this.#breaker = breaker
  }

  incr (key: string, callback: (err: Error | null, result?: HitCount) => void, timeWindow: number, max: number): void {
    const breaker = this.#breaker
    if (breaker.open) {
      breaker.refuse().catch((err: Error) => callback(err))
      return
    }
    this.#inner.incr(key, (err, result) => {
      if (err !== null) {
        breaker.record(err)
        callback(err)
      } else {
        callback(null, breaker.pass(result))
      }
    }, timeWindow, max)
  }

  child (): HitCounter {
    return this
  }
}
