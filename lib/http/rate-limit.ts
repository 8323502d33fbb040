import { createHash } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fastifyRateLimit, { normalizeIP } from '@fastify/rate-limit'
import type { JsonRpcBody, JsonRpcMessage, RequestId } from '../../schemas/jsonrpc.js'
import { ErrorCode, errorResponse } from '../core/jsonrpc.js'
import { errors } from '../errors.js'

/** A limit: at most `max` hits per `timeWindow` ms. */
export interface RateWindow {
  max: number
  /** Milliseconds. */
  timeWindow: number
}

/** The `rateLimit` option. */
export interface RateLimitOptions extends Partial<RateWindow> {
  /** A separate limit on `initialize` (new sessions), counted per principal, else per client address. */
  initialize?: RateWindow
  /** Keys each in-memory counter keeps (an LRU; the least recent go first). Default 5000. */
  cache?: number
}

export interface NormalizedRateLimit extends RateWindow {
  initialize: RateWindow | undefined
  cache: number
}

/** A counter of `@fastify/rate-limit`'s store shape (`lib/stores/rate-limit-counter.ts` builds them). */
export interface RateCounter {
  incr (key: string, callback: (err: Error | null, result?: { current: number, ttl: number }) => void, timeWindow: number, max: number): void
  child (routeOptions: unknown): RateCounter
}

/** What the endpoint needs to limit requests: the options, a counter per kind, the tools' own limits. */
export interface RateLimitSetup {
  readonly options: NormalizedRateLimit
  counter (kind: 'req' | 'init' | 'tool'): RateCounter
  toolLimit (name: string): RateWindow | undefined
}

/** Thrown by `@fastify/rate-limit` (its `errorResponseBuilder`), answered by the endpoint's error handler. */
export type RateLimitedError = InstanceType<typeof errors.FST_MCP_RATE_LIMITED> & { retryAfter: number }

/** Long keys (a principal, a session id) are hashed, so a counter's key stays small whatever a client sends. */
function bounded (prefix: string, value: string): string {
  return prefix + (value.length <= 64 ? value : createHash('sha256').update(value).digest('base64url'))
}

/**
 * Whose budget a request spends: its principal (with `auth`), else its session (2025
 * sessions; 2026-07-28 requests carry none), else its client address (IPv6 by /64, as
 * `@fastify/rate-limit` does). An unknown session id still spends its own budget and gets
 * 404: without `auth`, a client can start afresh with any id, so the address-keyed
 * `initialize` limit is what bounds session churn.
 */
export function rateLimitKey (request: FastifyRequest): string {
  const principal = request.mcpAuth?.principal
  if (principal !== undefined) return bounded('p:', principal)
  const session = request.headers['mcp-session-id']
  if (typeof session === 'string' && session !== '') return bounded('s:', session)
  return 'a:' + normalizeIP(request.ip)
}

/** `initialize` opens a session rather than using one: a session id it carries must not buy a fresh budget. */
function initializeKey (request: FastifyRequest): string {
  const principal = request.mcpAuth?.principal
  return principal !== undefined ? bounded('p:', principal) : 'a:' + normalizeIP(request.ip)
}

/** The id to echo in a refusal: a single request's, else null (a batch, a notification, no body yet). */
function requestIdOf (body: unknown): RequestId | null {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return null
  const id = (body as { id?: unknown }).id
  return typeof id === 'string' || (typeof id === 'number' && Number.isSafeInteger(id)) ? id : null
}

/** The 429 answer: `Retry-After` in seconds, a JSON-RPC error echoing the request id, `data.retryAfter`. */
export function sendRateLimited (request: FastifyRequest, reply: FastifyReply, retryAfter: number, what = 'rate limit exceeded'): FastifyReply {
  reply.header('retry-after', String(retryAfter))
  const body = errorResponse(requestIdOf(request.body), ErrorCode.TransportError, `Too Many Requests: ${what}, retry in ${retryAfter} s`, { retryAfter })
  return reply.code(429).type('application/json').send(JSON.stringify(body))
}

/**
 * `@fastify/rate-limit` on the endpoint's routes (call it before they are declared). It runs
 * in `preHandler`, after authentication and body parsing, so the key can be the principal
 * and the refusal can echo the request id.
 */
export async function registerRateLimit (app: FastifyInstance, setup: RateLimitSetup): Promise<void> {
  const counter = setup.counter('req')
  await app.register(fastifyRateLimit, {
    global: true,
    hook: 'preHandler',
    max: setup.options.max,
    timeWindow: setup.options.timeWindow,
    keyGenerator: rateLimitKey,
    // A Redis that is away fails the request's own store work already (503); the limiter
    // lets requests through rather than turn a Redis outage into 500s on stateless requests.
    skipOnError: true,
    // The runtime builds the counter (memory, or Redis behind the client's breaker, which the
    // library's own Redis store would not consult); the library instantiates `store` with
    // `new`, and a constructor that returns an object yields that object.
    store: class { constructor () { return counter } } as never,
    errorResponseBuilder: (_request, context) => {
      const err = new errors.FST_MCP_RATE_LIMITED(context.after) as RateLimitedError
      err.retryAfter = Math.max(1, Math.ceil(context.ttl / 1000))
      return err
    }
  })
}

function isToolCall (message: JsonRpcMessage): message is JsonRpcMessage & { method: 'tools/call', params: { name: string } } {
  return 'method' in message && message.method === 'tools/call' && typeof (message.params as { name?: unknown } | undefined)?.name === 'string'
}

/**
 * The limits the route's cannot express: a tighter one on `initialize` (new sessions are the
 * expensive path), per principal, else client address; and each tool's own `rateLimit`, per caller (the route
 * limit's key) and tool. Checked in the POST handler, once the envelope is valid and before
 * the front door runs anything, so the answer is still an HTTP 429.
 */
export class RequestLimits {
  readonly #initialize: RateWindow | undefined
  readonly #init: RateCounter
  readonly #tool: RateCounter
  readonly #toolLimit: (name: string) => RateWindow | undefined

  constructor (setup: RateLimitSetup) {
    this.#initialize = setup.options.initialize
    this.#init = setup.counter('init')
    this.#tool = setup.counter('tool')
    this.#toolLimit = setup.toolLimit
  }

  /**
   * Refuse the body with 429 when a limit it meets is spent; resolves whether it answered.
   * `undefined` (no promise) when no limit applies, so unlimited requests stay synchronous.
   */
  refuse (request: FastifyRequest, reply: FastifyReply, body: JsonRpcBody): Promise<boolean> | undefined {
    const hits: Array<[RateCounter, string, RateWindow]> = []
    for (const message of Array.isArray(body) ? body : [body]) {
      if (!('method' in message)) continue
      if (message.method === 'initialize' && this.#initialize !== undefined) {
        hits.push([this.#init, initializeKey(request), this.#initialize])
      } else if (isToolCall(message)) {
        const limit = this.#toolLimit(message.params.name)
        if (limit !== undefined) hits.push([this.#tool, `${message.params.name}:${rateLimitKey(request)}`, limit])
      }
    }
    if (hits.length === 0) return undefined
    return Promise.all(hits.map(([counter, key, limit]) => count(counter, key, limit))).then((results) => {
      let wait = 0
      for (const result of results) if (result !== undefined && result.current > result.max) wait = Math.max(wait, result.ttl)
      if (wait === 0) return false
      sendRateLimited(request, reply, Math.max(1, Math.ceil(wait / 1000)), 'rate limit of this method exceeded')
      return true
    })
  }
}

/** One hit; undefined when the counter failed (a Redis away: let the request through, as the route limit does). */
function count (counter: RateCounter, key: string, limit: RateWindow): Promise<{ current: number, ttl: number, max: number } | undefined> {
  return new Promise((resolve) => {
    counter.incr(key, (err, result) => resolve(err !== null || result === undefined ? undefined : { ...result, max: limit.max }), limit.timeWindow, limit.max)
  })
}
