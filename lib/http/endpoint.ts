import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction, onRequestAsyncHookHandler, onRequestHookHandler } from 'fastify'
import fastifyCors, { type FastifyCorsOptions } from '@fastify/cors'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import sjson from 'secure-json-parse'
import { JsonRpcBodySchema, type JsonRpcBody } from '../../schemas/jsonrpc.js'
import { hasClaim } from '../core/envelope.js'
import { ErrorCode } from '../core/jsonrpc.js'
import { isModernVersionName } from '../core/versions.js'
import { errors } from '../errors.js'
import type { McpTelemetry } from '../telemetry/telemetry.js'
import { classifyPost, refuseLegacy, refuseModern, type Eras } from './era.js'
import { createAuthGuard, refuseHostOrOrigin, type GuardOptions, type OriginPolicy } from './guard.js'
import { RequestLimits, registerRateLimit, sendRateLimited, type RateLimitSetup, type RateLimitedError } from './rate-limit.js'
import { accepts, sendHttpError } from './wire.js'

/** The HTTP methods a protocol front door answers on the endpoint. */
export interface FrontDoor {
  post (request: FastifyRequest, reply: FastifyReply): FastifyReply | Promise<FastifyReply>
  get (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply>
  delete (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply>
}

/** The 2026-07-28 front door: stateless POSTs only. */
export interface ModernFrontDoor {
  post (request: FastifyRequest, reply: FastifyReply): FastifyReply | Promise<FastifyReply>
}

/** What the endpoint reads of the plugin's options. */
export interface EndpointOptions extends GuardOptions {
  readonly eras: Eras
  readonly stateless: boolean
  readonly bodyLimit: number
  readonly maxBatchSize: number
  /** @fastify/cors options for the endpoint, if the plugin registers CORS itself. */
  readonly cors: FastifyCorsOptions | undefined
}

export interface EndpointSetup {
  readonly options: EndpointOptions
  /** The 2025 front door (sessions). */
  readonly door: FrontDoor
  readonly modern: ModernFrontDoor
  readonly policy: OriginPolicy
  /** Rate limiting (the `rateLimit` option), with its counters. */
  readonly rateLimit?: RateLimitSetup | undefined
  /** Counts refused requests, when metrics are recorded. */
  readonly telemetry?: McpTelemetry | undefined
}

/** The statuses counted as refusals (`mcp.server.request.refused`): the request never reached an MCP method. */
const REFUSALS = new Set([400, 403, 404, 406, 413, 415, 429, 503])

/** Thrown by the body parser; mapped to JSON-RPC errors by the MCP error handler. */
export class BodyError extends Error {
  readonly code: 'MCP_PARSE_ERROR' | 'MCP_FORBIDDEN_KEY'
  constructor (code: BodyError['code'], message: string) {
    super(message)
    this.code = code
  }
}

const FORBIDDEN = { protoAction: 'error', constructorAction: 'error' } as const

/**
 * `application/json` parser for the MCP route: invalid JSON → -32700; `__proto__` or
 * `constructor.prototype` keys → -32600 (they are refused rather than silently dropped).
 */
export function parseJsonBody (_request: FastifyRequest, body: string | Buffer, done: (err: Error | null, body?: unknown) => void): void {
  const text = typeof body === 'string' ? body : body.toString('utf8')
  // An empty body (a DELETE sent with a Content-Type) is no body; the POST handler
  // answers it with -32700 itself.
  if (text === '') {
    done(null, undefined)
    return
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    done(new BodyError('MCP_PARSE_ERROR', 'Parse error: Invalid JSON'))
    return
  }
  // The scan only runs when the text could hold a poisoned key, so clean bodies pay nothing.
  // A `\u` escape can spell either key without its letters appearing in the raw text.
  if (value !== null && typeof value === 'object' && (text.includes('__proto__') || text.includes('constructor') || text.includes('\\u'))) {
    try {
      sjson.scan(value as Record<string, unknown>, FORBIDDEN)
    } catch {
      done(new BodyError('MCP_FORBIDDEN_KEY', 'Invalid Request: "__proto__" and "constructor.prototype" keys are not allowed'))
      return
    }
  }
  done(null, value)
}

function describeMessage (message: unknown): string {
  if (message === null || typeof message !== 'object' || Array.isArray(message)) return 'a JSON-RPC message must be an object'
  const m = message as Record<string, unknown>
  if (m.jsonrpc !== '2.0') return 'jsonrpc must be "2.0"'
  if ('method' in m) {
    if (typeof m.method !== 'string' || m.method === '') return 'method must be a non-empty string'
    if (m.id === null) return 'a request id must be a string or an integer, not null'
    if ('id' in m && typeof m.id !== 'string' && !Number.isInteger(m.id)) return 'a request id must be a string or an integer'
    if (typeof m.id === 'number' && !Number.isSafeInteger(m.id)) return 'a request id must be a string or an integer of at most 2^53 - 1 in magnitude (a larger one does not survive JSON parsing exactly)'
    if (m.params !== undefined && (m.params === null || typeof m.params !== 'object')) return 'params must be an object'
    if ('result' in m || 'error' in m) return 'a request must not carry result or error'
  } else if ('result' in m || 'error' in m) {
    return 'a response needs a string or integer id and exactly one of result (an object) or error ({code, message})'
  }
  return 'not a JSON-RPC 2.0 request, notification or response'
}

/** Why a body failed the envelope schema, in words a client developer can act on. */
export function describeInvalidBody (body: unknown): string {
  if (Array.isArray(body)) {
    if (body.length === 0) return 'Invalid Request: an empty batch'
    for (let i = 0; i < body.length; i++) {
      const reason = describeMessage(body[i])
      if (reason !== '') return `Invalid Request: batch item ${i}: ${reason}`
    }
  }
  return `Invalid Request: ${describeMessage(body)}`
}

const checkEnvelope = TypeCompiler.Compile(JsonRpcBodySchema)

/**
 * Whether the parsed body may go to the front door; otherwise its 400/415 is answered: no
 * body (415 without a Content-Type, else -32700), a batch over `maxBatchSize` (checked before
 * the batch is walked), or JSON that is not JSON-RPC (-32600, saying what is wrong).
 */
function admitBody (request: FastifyRequest, reply: FastifyReply, maxBatchSize: number): boolean {
  const body = request.body
  if (body === undefined) {
    if (request.headers['content-type'] === undefined) sendHttpError(reply, 415, ErrorCode.TransportError, 'Unsupported Media Type: Content-Type must be application/json')
    else sendHttpError(reply, 400, ErrorCode.ParseError, 'Parse error: empty body')
    return false
  }
  if (Array.isArray(body) && body.length > maxBatchSize) {
    sendHttpError(reply, 400, ErrorCode.InvalidRequest, `Invalid Request: a batch must not exceed ${maxBatchSize} messages`)
    return false
  }
  if (!checkEnvelope.Check(body)) {
    sendHttpError(reply, 400, ErrorCode.InvalidRequest, describeInvalidBody(body))
    return false
  }
  return true
}

/** The headers a browser client needs to speak MCP through CORS. */
export const MCP_REQUEST_HEADERS = ['Content-Type', 'Mcp-Session-Id', 'MCP-Protocol-Version', 'Mcp-Method', 'Mcp-Name', 'Last-Event-ID', 'Authorization']
// Retry-After: a browser client must be able to read when to retry a 429 or a 503.
export const MCP_EXPOSED_HEADERS = ['Mcp-Session-Id', 'MCP-Protocol-Version', 'WWW-Authenticate', 'Retry-After']

/** Fastify errors raised before the handler (parser, limits) → JSON-RPC bodies. */
/** How much of a refused body is read and thrown away, and for how long, so its sender can read the 413. */
const DRAIN_BYTES = 64 * 1024 * 1024
const DRAIN_MS = 5000

/**
 * Answer a body over the limit, or one refused before it was read (406, 405, 415), once its
 * sender has finished sending it (bounded in bytes and time): answered at once, the
 * connection closes with unread bytes in its buffer, the kernel resets it, and most clients
 * report a broken pipe instead of the answer.
 */
function afterDrain (request: FastifyRequest, answer: () => FastifyReply): FastifyReply | Promise<FastifyReply> {
  const raw = request.raw
  if (raw.readableEnded || raw.destroyed) return answer()
  return new Promise((resolve) => {
    let read = 0
    const finish = (): void => {
      clearTimeout(timer)
      raw.off('data', count)
      raw.off('end', finish)
      raw.off('close', finish)
      raw.pause()
      resolve(answer())
    }
    const count = (chunk: Buffer): void => {
      read += chunk.length
      if (read > DRAIN_BYTES) finish()
    }
    const timer = setTimeout(finish, DRAIN_MS)
    raw.on('data', count)
    raw.once('end', finish)
    raw.once('close', finish)
    raw.resume()
  })
}

function mcpErrorHandler (error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply | Promise<FastifyReply> {
  if (error instanceof BodyError) {
    return error.code === 'MCP_PARSE_ERROR'
      ? sendHttpError(reply, 400, ErrorCode.ParseError, error.message)
      : sendHttpError(reply, 400, ErrorCode.InvalidRequest, error.message)
  }
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_TYPE':
      return afterDrain(request, () => sendHttpError(reply, 415, ErrorCode.TransportError, 'Unsupported Media Type: Content-Type must be application/json'))
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return afterDrain(request, () => sendHttpError(reply, 413, ErrorCode.TransportError, `Payload Too Large: the body must not exceed ${reply.routeOptions.bodyLimit} bytes`))
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return sendHttpError(reply, 400, ErrorCode.ParseError, 'Parse error: empty body')
    case 'FST_MCP_RATE_LIMITED':
      return sendRateLimited(request, reply, (error as RateLimitedError).retryAfter)
    case 'FST_MCP_STORE_UNAVAILABLE':
      // Redis is away: say so at once, and when to retry, rather than hang or crash.
      request.log.warn({ err: error.cause ?? error }, 'mcp: shared store unreachable')
      reply.header('retry-after', '1')
      return sendHttpError(reply, 503, ErrorCode.TransportError, 'Service Unavailable: the session store is unreachable')
  }
  const status = error.statusCode ?? 500
  if (status >= 400 && status < 500) {
    return sendHttpError(reply, status, ErrorCode.TransportError, `Bad Request: ${error.message}`)
  }
  request.log.error({ err: error }, 'mcp: unexpected error')
  return sendHttpError(reply, 500, ErrorCode.InternalError, 'Internal error')
}

/**
 * The MCP endpoint, the edge both protocol eras share: body parsing, error mapping, CORS,
 * the Host/Origin and auth guards, Accept checks and 405s; the front door answers POST
 * (messages), GET (the standalone stream) and DELETE (end a session). Registered
 * encapsulated, so its parser, error handler and hooks apply to these routes only.
 */
export async function mcpEndpoint (app: FastifyInstance, { options, door, modern, policy, rateLimit, telemetry }: EndpointSetup): Promise<void> {
  const { eras } = options
  // Only with a meter behind the API: without one, no hook runs per request.
  if (telemetry?.metricsOn === true) {
    app.addHook('onResponse', (_request, reply, done) => {
      if (REFUSALS.has(reply.statusCode)) telemetry.refused(reply.statusCode)
      done()
    })
  }
  // Only POST exists without 2025 sessions.
  const stateless = options.stateless || eras === 'modern'

  app.removeAllContentTypeParsers()
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: options.bodyLimit }, parseJsonBody)
  app.setErrorHandler(mcpErrorHandler)

  if (options.cors !== undefined) {
    if (app.hasRequestDecorator('corsPreflightEnabled')) {
      // Its hooks already reach these routes; a second @fastify/cors would throw at boot.
      throw new errors.FST_MCP_INVALID_OPTION('cors', '@fastify/cors is already registered on a parent instance: configure CORS there (allow Mcp-Session-Id, MCP-Protocol-Version, Last-Event-ID; expose Mcp-Session-Id) and leave this option off')
    }
    const user = options.cors
    const corsOptions: FastifyCorsOptions = {
      // Unless the application says otherwise, CORS follows the same Origin policy as the guard.
      origin: (origin, callback) => callback(null, policy.originAllowed(origin, undefined) ? (origin ?? false) : false),
      methods: stateless ? ['POST'] : ['GET', 'POST', 'DELETE'],
      ...user,
      allowedHeaders: mergeHeaders(MCP_REQUEST_HEADERS, user.allowedHeaders),
      exposedHeaders: mergeHeaders(MCP_EXPOSED_HEADERS, user.exposedHeaders)
    }
    await app.register(fastifyCors, corsOptions)
  }
  // Before the routes: its onRoute hook adds the limit to each of them.
  if (rateLimit !== undefined) await registerRateLimit(app, rateLimit)
  const limits = rateLimit === undefined ? undefined : new RequestLimits(rateLimit)

  // Every route checks Host and Origin (403), then authentication (401), before its body
  // is read. Callback-style hooks: a promise per request is measurable on the hot path.
  const authGuard = createAuthGuard(options)
  function originGuard (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    if (!refuseHostOrOrigin(policy, request, reply)) done()
  }
  const guarded = (...then: onRequestHookHandler[]): Array<onRequestHookHandler | onRequestAsyncHookHandler> =>
    authGuard === undefined ? [originGuard, ...then] : [originGuard, authGuard, ...then]

  const allow = stateless ? 'POST' : 'GET, POST, DELETE'
  const notAllowed = async (request: FastifyRequest, reply: FastifyReply) => {
    reply.header('allow', allow)
    return afterDrain(request, () => sendHttpError(reply, 405, ErrorCode.TransportError, 'Method Not Allowed'))
  }

  // Runs before the body is read, so a client that cannot take the answer gets 406 first.
  // 2026-07-28 does not require Accept (the SDK does not check it, and real connectors omit
  // it): a request whose header names a modern revision is let through, and checked in the
  // handler if its body turns out to be 2025 traffic.
  const modernHeader = (request: FastifyRequest): boolean => {
    const header = request.headers['mcp-protocol-version']
    return eras !== 'legacy' && typeof header === 'string' && isModernVersionName(header)
  }
  let lastAccept: string | undefined
  let lastAcceptOk = false
  function refusePostAccept (request: FastifyRequest, reply: FastifyReply): boolean {
    const accept = request.headers.accept
    // Clients send the same Accept on every request: remember the last verdict.
    if (accept !== lastAccept || accept === undefined) {
      lastAcceptOk = accepts(accept, 'application/json') && accepts(accept, 'text/event-stream')
      lastAccept = accept
    }
    if (lastAcceptOk) return false
    void afterDrain(request, () => sendHttpError(reply, 406, ErrorCode.TransportError, 'Not Acceptable: Client must accept both application/json and text/event-stream'))
    return true
  }
  function checkPostAccept (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    if (modernHeader(request) || !refusePostAccept(request, reply)) done()
  }
  // Without auth, the hot path's two checks run in one hook.
  function postGate (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    if (!refuseHostOrOrigin(policy, request, reply) && (modernHeader(request) || !refusePostAccept(request, reply))) done()
  }

  // The envelope is checked here, not by a Fastify body schema and a preValidation hook:
  // on the hot path that is one function call instead of two runners. Then the body picks
  // its era (the header only cross-checks).
  const { maxBatchSize } = options
  function handlePost (request: FastifyRequest, reply: FastifyReply): FastifyReply | Promise<FastifyReply> {
    if (!admitBody(request, reply, maxBatchSize)) return reply
    const body = request.body as JsonRpcBody
    const limited = limits?.refuse(request, reply, body)
    if (limited !== undefined) return limited.then((refused) => refused ? reply : routePost(request, reply, body))
    return routePost(request, reply, body)
  }

  function routePost (request: FastifyRequest, reply: FastifyReply, body: JsonRpcBody): FastifyReply | Promise<FastifyReply> {
    if (eras === 'legacy') {
      return !Array.isArray(body) && hasClaim(body) ? refuseModern(reply, body) : door.post(request, reply)
    }
    const header = request.headers['mcp-protocol-version']
    const era = classifyPost(body, typeof header === 'string' ? header : undefined)
    if (era === 'modern') return modern.post(request, reply)
    if (era === 'modern-batch') return sendHttpError(reply, 400, ErrorCode.InvalidRequest, 'Invalid Request: batches may not contain requests for protocol revision 2026-07-28 or later')
    if (eras === 'modern') return refuseLegacy(reply, body, typeof header === 'string' ? header : undefined)
    // 2025 traffic whose Accept the gate let through for its modern header.
    if (modernHeader(request) && refusePostAccept(request, reply)) return reply
    return door.post(request, reply)
  }

  function checkGetAccept (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    if (!accepts(request.headers.accept, 'text/event-stream')) {
      sendHttpError(reply, 406, ErrorCode.TransportError, 'Not Acceptable: Client must accept text/event-stream')
      return
    }
    done()
  }

  const url = '/'
  app.route({
    method: 'POST',
    url,
    bodyLimit: options.bodyLimit,
    onRequest: authGuard === undefined ? postGate : guarded(checkPostAccept),
    handler: handlePost
  })
  const others = ['PUT', 'PATCH', 'HEAD']
  if (options.cors === undefined) others.push('OPTIONS')
  if (stateless) {
    others.push('GET', 'DELETE')
  } else {
    app.route({ method: 'GET', url, exposeHeadRoute: false, onRequest: guarded(checkGetAccept), handler: door.get })
    app.route({ method: 'DELETE', url, onRequest: guarded(), handler: door.delete })
  }
  // Answered in onRequest so that no body is read for a method we do not serve.
  app.route({ method: others, url, onRequest: guarded(notAllowed), handler: notAllowed })
  if (options.cors !== undefined) {
    // @fastify/cors answers real preflights in its hook; anything else reaching here is not one.
    app.route({ method: 'OPTIONS', url, onRequest: guarded(notAllowed), handler: notAllowed })
  }
}

function mergeHeaders (required: string[], extra: string | string[] | undefined): string[] {
  const list = extra === undefined ? [] : Array.isArray(extra) ? extra : extra.split(',').map((h) => h.trim())
  const seen = new Set(required.map((h) => h.toLowerCase()))
  return [...required, ...list.filter((h) => h !== '' && !seen.has(h.toLowerCase()))]
}
