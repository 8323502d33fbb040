import type { FastifyBaseLogger } from 'fastify'
import { unavailable } from './redis-connection.js'

/** What ioredis rejects a command with once its `commandTimeout` has elapsed. */
const TIMED_OUT = 'Command timed out'

/** What the breaker needs of a Redis client: a probe. */
export interface Pingable {
  ping (): Promise<unknown>
}

export interface RedisBreakerOptions {
  /** Consecutive command timeouts that open the breaker. Default 3. */
  threshold?: number
  /** Time between probes while open (the command timeout bounds each one). Default 2000. */
  probeIntervalMs?: number
  logger?: FastifyBaseLogger
}

/**
 * A circuit breaker for one Redis client, shared by everything that uses it. A hung Redis
 * (stopped, or behind a network black hole) keeps its connection, so every command waits the
 * full command timeout before failing, and requests pile up meanwhile. After `threshold`
 * timeouts in a row the breaker opens: guarded calls are refused at once with
 * `FST_MCP_STORE_UNAVAILABLE` (503), and a `PING` probes Redis every `probeIntervalMs` until
 * one answers, which closes it again; so does any guarded command that succeeds.
 *
 * A guarded call reads `open` first, then settles through `pass` and `fail`:
 * `breaker.open ? breaker.refuse() : command().then(breaker.pass, breaker.fail)`.
 */
export class RedisBreaker {
  /** Open: guarded calls are refused without reaching Redis. */
  open = false
  readonly #client: Pingable
  readonly #threshold: number
  readonly #probeIntervalMs: number
  readonly #logger: FastifyBaseLogger | undefined
  #timeouts = 0
  #timer: NodeJS.Timeout | undefined
  #closed = false

  constructor (client: Pingable, options: RedisBreakerOptions = {}) {
    this.#client = client
    this.#threshold = options.threshold ?? 3
    this.#probeIntervalMs = options.probeIntervalMs ?? 2000
    this.#logger = options.logger
  }

  /** For `.then()`: the command succeeded, so Redis answers; resolves its value. */
  readonly pass = <T>(value: T): T => {
    this.#timeouts = 0
    if (this.open) this.#shut()
    return value
  }

  /** For `.then(, fail)`: count the failure, then reject as `unavailable` does. */
  readonly fail = (err: unknown): never => {
    this.record(err)
    throw unavailable(err)
  }

  /** Count a failed command (only timeouts count: other failures are fast already). */
  record (err: unknown): void {
    if (!(err instanceof Error) || err.message !== TIMED_OUT || this.open) return
    if (++this.#timeouts >= this.#threshold) this.#trip()
  }

  /** The answer to a guarded call while open. */
  refuse (): Promise<never> {
    return Promise.reject(unavailable(new Error(`Redis did not answer ${this.#threshold} commands in a row; waiting for a probe to succeed`)))
  }

  /** Stop probing (the deployment is closing). */
  close (): void {
    this.#closed = true
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #trip (): void {
    this.open = true
    this.#logger?.warn(`mcp: Redis timed out ${this.#threshold} times in a row; answering 503 at once until it answers a probe`)
    this.#schedule()
  }

  #shut (): void {
    this.open = false
    this.#timeouts = 0
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#logger?.info('mcp: Redis answers again; requests reach it again')
  }

  #schedule (): void {
    if (this.#closed) return
    this.#timer = setTimeout(() => { void this.#probe() }, this.#probeIntervalMs).unref()
  }

  async #probe (): Promise<void> {
    this.#timer = undefined
    let answered: boolean
    try {
      await this.#client.ping()
      answered = true
    } catch {
      answered = false
    }
    if (!this.open) return
    if (answered) this.#shut()
    else this.#schedule()
  }
}
