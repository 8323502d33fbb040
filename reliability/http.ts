import http from 'node:http'

export const ACCEPT_BOTH = 'application/json, text/event-stream'
export const JSON_POST = { 'content-type': 'application/json', accept: ACCEPT_BOTH }
export const LATEST = '2025-11-25'
export const MODERN = '2026-07-28'

/** One HTTP exchange, read to its end or cut after `timeoutMs`. */
export interface Answer {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
  /** From the request's start to the end of the answer (or the failure). */
  ms: number
  /** The request failed at the HTTP level (reset, refused), or the answer did not end in time. */
  error?: string
  /** The answer was still streaming when `timeoutMs` passed (an SSE stream left open). */
  cut?: boolean
}

export interface ExchangeOptions {
  agent?: http.Agent | false
  timeoutMs?: number
}

/** Send a request and read the answer; never rejects, never hangs past `timeoutMs`. */
export function exchange (url: URL, method: string, headers: Record<string, string>, body?: string | Buffer, { agent = false, timeoutMs = 10_000 }: ExchangeOptions = {}): Promise<Answer> {
  const started = performance.now()
  return new Promise((resolve) => {
    let settled = false
    const finish = (answer: Omit<Answer, 'ms'>) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resolve({ ...answer, ms: performance.now() - started })
    }
    const sent = body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) }
    const req = http.request(url, { method, agent, headers: sent }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { text += chunk })
      res.on('end', () => finish({ status: res.statusCode ?? 0, headers: res.headers, body: text }))
      res.on('error', (err) => finish({ status: res.statusCode ?? 0, headers: res.headers, body: text, error: err.message }))
      timer.refresh()
      cutAt = () => {
        finish({ status: res.statusCode ?? 0, headers: res.headers, body: text, cut: true })
        res.destroy()
      }
    })
    let cutAt = () => {
      finish({ status: 0, headers: {}, body: '', error: `no answer within ${timeoutMs} ms` })
      req.destroy()
    }
    const timer = setTimeout(() => cutAt(), timeoutMs)
    req.on('error', (err) => finish({ status: 0, headers: {}, body: '', error: err.message }))
    req.end(body)
  })
}

/** The JSON-RPC messages of an answer: its JSON body (one message or a batch), or its SSE events' data. */
export function messagesOf (answer: Answer): unknown[] {
  const type = String(answer.headers['content-type'] ?? '')
  if (type.startsWith('text/event-stream')) {
    return answer.body.split('\n').filter((line) => line.startsWith('data:') && line.slice(5).trim() !== '').map((line) => JSON.parse(line.slice(5).trim()))
  }
  if (answer.body === '') return []
  const parsed: unknown = JSON.parse(answer.body)
  return Array.isArray(parsed) ? parsed : [parsed]
}

export interface Session {
  id: string
  /** Headers for the session's POSTs. */
  headers: Record<string, string>
}

/** initialize + notifications/initialized; throws unless both are accepted. */
export async function openSession (url: URL, options: ExchangeOptions = {}, protocolVersion = LATEST): Promise<Session> {
  const init = await exchange(url, 'POST', JSON_POST, JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion, capabilities: {}, clientInfo: { name: 'reliability', version: '1.0.0' } } }), options)
  const id = init.headers['mcp-session-id']
  if (init.status !== 200 || typeof id !== 'string') throw new Error(`initialize: ${init.status} ${init.error ?? init.body.slice(0, 200)}`)
  const headers = { ...JSON_POST, 'mcp-session-id': id, 'mcp-protocol-version': protocolVersion }
  const ack = await exchange(url, 'POST', headers, JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }), options)
  if (ack.status !== 202) throw new Error(`notifications/initialized: ${ack.status} ${ack.error ?? ack.body.slice(0, 200)}`)
  return { id, headers }
}

/** tools/call `echo` on a session; resolves the answer and whether it echoed `text` exactly. */
export async function echo (url: URL, session: Session, id: number, text: string, options: ExchangeOptions = {}): Promise<{ answer: Answer, ok: boolean }> {
  const answer = await exchange(url, 'POST', session.headers, JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo', arguments: { text } } }), options)
  return { answer, ok: answer.status === 200 && echoed(answer, id, text) }
}

/** A 2026-07-28 tools/call `echo`: no session, the envelope in `_meta`, the routing headers. */
export async function modernEcho (url: URL, id: number, text: string, options: ExchangeOptions = {}): Promise<{ answer: Answer, ok: boolean }> {
  const message = {
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: {
      name: 'echo',
      arguments: { text },
      _meta: {
        'io.modelcontextprotocol/protocolVersion': MODERN,
        'io.modelcontextprotocol/clientCapabilities': {},
        'io.modelcontextprotocol/clientInfo': { name: 'reliability', version: '1.0.0' }
      }
    }
  }
  const headers = { ...JSON_POST, 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': 'echo' }
  const answer = await exchange(url, 'POST', headers, JSON.stringify(message), options)
  return { answer, ok: answer.status === 200 && echoed(answer, id, text) }
}

function echoed (answer: Answer, id: number, text: string): boolean {
  try {
    const message = messagesOf(answer).at(-1) as { id?: unknown, result?: { content?: Array<{ text?: unknown }> } } | undefined
    return message?.id === id && message.result?.content?.[0]?.text === text
  } catch {
    return false
  }
}

/** Percentile (0–100) of `values`, nearest rank; NaN when empty. */
export function percentile (values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
