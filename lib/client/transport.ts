import http from 'node:http'
import https from 'node:https'

/** One HTTP answer, its body not yet read. */
export interface HttpAnswer {
  status: number
  ok: boolean
  headers: { get: (name: string) => string | null }
  /** The body, chunk by chunk; leaving a `for await` early releases it. */
  body: AsyncIterable<Buffer>
  /** The whole body as text. */
  text: () => Promise<string>
  /** Drop the body (the connection is closed rather than drained). */
  cancel: () => void
}

export interface HttpExchange {
  method: string
  headers: Record<string, string>
  body?: string
  signal: AbortSignal
}

/** Sends one request; resolves with the answer's head. */
export type HttpSend = (url: URL, exchange: HttpExchange) => Promise<HttpAnswer>

/**
 * A keep-alive connection pool on node:http(s). Not fetch: fetch's WHATWG streams cost about
 * four times the CPU per request of node:http (measured by bench/client.ts), and the client
 * is meant to be cheap enough to drive load tests.
 */
export function createSend (agents: { http?: http.Agent, https?: https.Agent } = {}): { send: HttpSend, close: () => void } {
  const httpAgent = agents.http ?? new http.Agent({ keepAlive: true })
  const httpsAgent = agents.https ?? new https.Agent({ keepAlive: true })
  const once = (url: URL, exchange: HttpExchange): Promise<{ answer: HttpAnswer } | { error: Error, reused: boolean }> => new Promise((resolve) => {
    const secure = url.protocol === 'https:'
    const headers: Record<string, string | number> = exchange.headers
    if (exchange.body !== undefined) headers['content-length'] = Buffer.byteLength(exchange.body)
    const req = (secure ? https : http).request({ ...targetOf(url), method: exchange.method, headers, agent: secure ? httpsAgent : httpAgent, signal: exchange.signal }, (res) => {
      resolve({ answer: answerOf(res) })
    })
    req.on('error', (error) => resolve({ error, reused: req.reusedSocket }))
    req.end(exchange.body)
  })
  const send: HttpSend = async (url, exchange) => {
    let outcome = await once(url, exchange)
    // A pooled connection the server closed while idle (a restart, its keep-alive timeout)
    // fails before any server read the request: send it again. The pool may hold several
    // such connections; each fails at once, and a fresh one ends the loop.
    for (let stale = 0; 'error' in outcome && outcome.reused && !exchange.signal.aborted && isReset(outcome.error) && stale < MAX_STALE; stale++) outcome = await once(url, exchange)
    if ('error' in outcome) throw exchange.signal.aborted ? exchange.signal.reason : outcome.error
    return outcome.answer
  }
  return { send, close: () => { if (agents.http === undefined) httpAgent.destroy(); if (agents.https === undefined) httpsAgent.destroy() } }
}

const MAX_STALE = 16

interface Target { protocol: string, hostname: string, port: string, path: string, auth?: string }
const targets = new WeakMap<URL, Target>()

/** The request options of a URL, worked out once: node:http would convert the URL on every request. */
function targetOf (url: URL): Target {
  let target = targets.get(url)
  if (target === undefined) {
    // A bracketed IPv6 literal is given to node:http without its brackets.
    target = { protocol: url.protocol, hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: url.port, path: `${url.pathname}${url.search}` }
    if (url.username !== '' || url.password !== '') target.auth = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`
    targets.set(url, target)
  }
  return target
}

function isReset (err: Error): boolean {
  const code = (err as NodeJS.ErrnoException).code
  return code === 'ECONNRESET' || code === 'EPIPE'
}

function answerOf (res: http.IncomingMessage): HttpAnswer {
  const status = res.statusCode ?? 0
  return {
    status,
    ok: status >= 200 && status < 300,
    headers: { get: (name) => { const value = res.headers[name.toLowerCase()]; return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value } },
    body: res,
    // Events, not `for await`: an async iterator per answer costs more than the read itself.
    text: () => new Promise((resolve, reject) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { text += chunk })
      res.on('end', () => resolve(text))
      res.on('error', reject)
      res.on('close', () => { if (!res.complete) reject(new Error('the connection closed before the end of the answer')) })
    }),
    // An empty body is drained, keeping the connection in the pool; anything else is cut.
    cancel: () => { if (res.complete || res.headers['content-length'] === '0') res.resume(); else res.destroy() }
  }
}
