import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import Fastify, { type FastifyInstance, type FastifyServerOptions, type LightMyRequestResponse } from 'fastify'
import type { Test } from 'tap'
import { buildDemo } from '../../examples/demo/app.js'
import mcp, { type McpPluginOptions } from '../../lib/index.js'

export const ACCEPT_BOTH = 'application/json, text/event-stream'
export const LATEST = '2025-11-25'

/** Headers of a well-formed POST, plus extras (a header set to `undefined` is left out). */
export function postHeaders (extra: Record<string, string | undefined> = {}): Record<string, string> {
  const headers: Record<string, string | undefined> = { 'content-type': 'application/json', accept: ACCEPT_BOTH, ...extra }
  return Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== undefined)) as Record<string, string>
}

export function rpc (id: string | number, method: string, params?: Record<string, unknown>): Record<string, unknown> {
  return params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params }
}

export function notification (method: string, params?: Record<string, unknown>): Record<string, unknown> {
  return params === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', method, params }
}

export function initializeParams (protocolVersion = LATEST, capabilities: Record<string, unknown> = {}): Record<string, unknown> {
  return { protocolVersion, capabilities, clientInfo: { name: 'test-client', version: '1.0.0' } }
}

/** Adds tools, resources, prompts or hooks to an app before it is ready. */
export type Setup = (app: FastifyInstance) => void

export interface AppOptions {
  /** The plugin's options, passed as they are. */
  options?: McpPluginOptions
  /** Fastify's own options. */
  fastify?: FastifyServerOptions
  /** Start from the demo server (examples/demo: echo, add, countdown, its serverInfo and instructions). */
  demo?: boolean
  /** Runs once the plugin is registered, before ready: tools, resources, prompts, hooks. */
  setup?: Setup
}

/** Fastify with the plugin (or the demo server) and whatever `setup` adds, ready; closed at teardown. */
export async function buildApp (t: Test, { options = {}, fastify = {}, demo = false, setup }: AppOptions = {}): Promise<FastifyInstance> {
  let app: FastifyInstance
  if (demo) {
    app = await buildDemo(options, fastify)
    t.teardown(() => app.close())
  } else {
    app = Fastify(fastify)
    t.teardown(() => app.close())
    await app.register(mcp, options)
  }
  setup?.(app)
  await app.ready()
  return app
}

/** `buildApp`, listening on a free loopback port. */
export async function serve (t: Test, appOptions: AppOptions = {}): Promise<{ app: FastifyInstance, url: URL }> {
  const app = await buildApp(t, appOptions)
  return { app, url: await listen(app) }
}

/** A `tools/call` request, with a progress token when one is given. */
export function callTool (id: number, name: string, args: Record<string, unknown>, progressToken?: string): Record<string, unknown> {
  const params: Record<string, unknown> = { name, arguments: args }
  if (progressToken !== undefined) params._meta = { progressToken }
  return rpc(id, 'tools/call', params)
}

export interface Session {
  id: string
  protocolVersion: string
  /** Headers for later POSTs of this session. */
  headers: Record<string, string>
}

/** The `result` of a single-request answer, sent as JSON or as an SSE stream (responseMode). */
export function resultOf (contentType: string, body: string): Record<string, any> {
  const message = contentType.startsWith('text/event-stream') ? sseMessages(body).at(-1) : JSON.parse(body)
  return message.result
}

/** initialize + notifications/initialized through `inject`. */
export async function openSession (app: FastifyInstance, protocolVersion = LATEST, capabilities: Record<string, unknown> = {}): Promise<Session> {
  const res = await app.inject({ method: 'POST', url: '/mcp', headers: postHeaders(), payload: rpc(0, 'initialize', initializeParams(protocolVersion, capabilities)) })
  if (res.statusCode !== 200) throw new Error(`initialize failed: ${res.statusCode} ${res.payload}`)
  const id = res.headers['mcp-session-id'] as string
  const negotiated = resultOf(String(res.headers['content-type']), res.payload).protocolVersion as string
  const headers = postHeaders({ 'mcp-session-id': id, 'mcp-protocol-version': negotiated })
  const ack = await app.inject({ method: 'POST', url: '/mcp', headers, payload: notification('notifications/initialized') })
  if (ack.statusCode !== 202) throw new Error(`initialized failed: ${ack.statusCode}`)
  return { id, protocolVersion: negotiated, headers }
}

export function post (app: FastifyInstance, payload: unknown, headers: Record<string, string>): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url: '/mcp', headers, payload: typeof payload === 'string' ? payload : JSON.stringify(payload) })
}

export interface SseEvent {
  id?: string
  event?: string
  data: string
  retry?: number
}

/** Parse a complete `text/event-stream` body (comments are dropped). */
export function parseSse (text: string): SseEvent[] {
  const events: SseEvent[] = []
  for (const block of text.split('\n\n')) {
    if (block.trim() === '') continue
    const event: SseEvent = { data: '' }
    const data: string[] = []
    let fields = 0
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) continue
      const colon = line.indexOf(':')
      const field = colon === -1 ? line : line.slice(0, colon)
      const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '')
      fields++
      if (field === 'data') data.push(value)
      else if (field === 'id') event.id = value
      else if (field === 'event') event.event = value
      else if (field === 'retry') event.retry = Number(value)
    }
    if (fields === 0) continue
    event.data = data.join('\n')
    events.push(event)
  }
  return events
}

/** The JSON-RPC messages carried by an SSE body. */
export function sseMessages (text: string): any[] {
  return parseSse(text).filter((e) => e.data !== '').map((e) => JSON.parse(e.data))
}

/** Listen on a free loopback port; returns the MCP URL. */
export async function listen (app: FastifyInstance): Promise<URL> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  return new URL(`http://127.0.0.1:${port}/mcp`)
}

/**
 * A streaming HTTP response read over a real socket, event by event. `raw` is everything
 * received so far (comments included); `destroy()` cuts the connection like a network drop.
 */
export class StreamReader {
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
  raw = ''
  ended = false
  readonly #response: http.IncomingMessage
  #events: SseEvent[] = []
  #buffer = ''
  #waiters: Array<() => void> = []

  constructor (response: http.IncomingMessage) {
    this.#response = response
    this.status = response.statusCode ?? 0
    this.headers = response.headers
    response.setEncoding('utf8')
    response.on('data', (chunk: string) => {
      this.raw += chunk
      this.#buffer += chunk
      let end: number
      while ((end = this.#buffer.indexOf('\n\n')) !== -1) {
        const block = this.#buffer.slice(0, end + 2)
        this.#buffer = this.#buffer.slice(end + 2)
        this.#events.push(...parseSse(block))
      }
      this.#wake()
    })
    const finish = () => { this.ended = true; this.#wake() }
    response.on('end', finish)
    response.on('close', finish)
    response.on('error', finish)
  }

  get events (): readonly SseEvent[] { return this.#events }

  /** The JSON-RPC messages received so far. */
  messages (): any[] {
    return this.#events.filter((e) => e.data !== '').map((e) => JSON.parse(e.data))
  }

  /** Resolve once `predicate` holds (checked on every chunk), or reject after `ms`. */
  async until (predicate: (reader: StreamReader) => boolean, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms
    while (!predicate(this)) {
      if (this.ended) throw new Error(`stream ended before the condition held; received: ${this.raw.slice(0, 500)}`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`timed out after ${ms} ms; received: ${this.raw.slice(0, 500)}`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.#waiters.push(() => { clearTimeout(timer); resolve() })
      })
    }
  }

  /** Wait for the server to end the response. */
  async waitEnd (ms = 5000): Promise<void> {
    await this.until((r) => r.ended, ms).catch((err) => { if (!this.ended) throw err })
  }

  /** Cut the connection from the client side. */
  destroy (): void { this.#response.destroy() }

  #wake (): void {
    const waiters = this.#waiters
    this.#waiters = []
    for (const wake of waiters) wake()
  }
}

/** Send a request over a real socket and read the answer as a stream. */
export function request (url: URL, method: string, headers: Record<string, string>, body?: unknown): Promise<StreamReader> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body)
    const req = http.request(url, { method, headers: payload === undefined ? headers : { ...headers, 'content-length': Buffer.byteLength(payload) }, agent: false }, (res) => resolve(new StreamReader(res)))
    req.on('error', reject)
    req.end(payload)
  })
}

/** initialize + initialized over a real socket. */
export async function openSessionHttp (url: URL, protocolVersion = LATEST, capabilities: Record<string, unknown> = {}): Promise<Session> {
  const init = await request(url, 'POST', postHeaders(), rpc(0, 'initialize', initializeParams(protocolVersion, capabilities)))
  await init.waitEnd()
  if (init.status !== 200) throw new Error(`initialize failed: ${init.status} ${init.raw}`)
  const id = init.headers['mcp-session-id'] as string
  const negotiated = resultOf(String(init.headers['content-type']), init.raw).protocolVersion as string
  const headers = postHeaders({ 'mcp-session-id': id, 'mcp-protocol-version': negotiated })
  const ack = await request(url, 'POST', headers, notification('notifications/initialized'))
  await ack.waitEnd()
  if (ack.status !== 202) throw new Error(`initialized failed: ${ack.status}`)
  return { id, protocolVersion: negotiated, headers }
}

/** GET headers for the standalone stream of a session. */
export function streamHeaders (session: Session, extra: Record<string, string> = {}): Record<string, string> {
  return { accept: 'text/event-stream', 'mcp-session-id': session.id, 'mcp-protocol-version': session.protocolVersion, ...extra }
}

export interface Deferred<T> {
  promise: Promise<T>
  resolve (value: T): void
}

export function deferred<T = void> (): Deferred<T> {
  const pending = {} as Deferred<T>
  pending.promise = new Promise<T>((resolve) => { pending.resolve = resolve })
  return pending
}

/** A safety net only: fail instead of hanging if an event never comes. */
export function within<T> (promise: Promise<T>, what: string, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** A logger destination (`Fastify({ logger: { stream } })`) keeping each line written: as text, and parsed. */
export function logCapture (): { stream: Writable, lines: string[], records: any[] } {
  const lines: string[] = []
  const records: any[] = []
  const stream = new Writable({
    write (chunk: Buffer | string, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) {
        if (line === '') continue
        lines.push(line)
        records.push(JSON.parse(line))
      }
      callback()
    }
  })
  return { stream, lines, records }
}
