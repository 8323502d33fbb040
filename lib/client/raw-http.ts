import http from 'node:http'
import https from 'node:https'
import { createParser } from 'eventsource-parser'

/**
 * What the doctor sees of one exchange. It uses node:http, not fetch: fetch adds headers of
 * its own (`Accept: *\/*`, `Sec-Fetch-Mode`) and lowercases names, and the doctor must send
 * exactly what it means to test.
 */
export interface RawAnswer {
  status: number
  /** Header values by lowercased name. */
  headers: http.IncomingHttpHeaders
  /** Header names as the server spelled them. */
  rawNames: string[]
  body: string
  /** SSE events read (for `text/event-stream` answers). */
  events: Array<{ id?: string, data: string }>
  /** The server's `retry:` value, if any. */
  retry?: number
}

export interface RawRequest {
  method: string
  headers: Record<string, string>
  body?: unknown
  /** Give up on the answer after this long (an open stream is then cut, not an error). */
  ms?: number
  /** Stop reading a stream once this many events arrived. */
  events?: number
  /**
   * Stop reading a stream `settleMs` after this first holds (checked on every chunk), rather
   * than at `ms`: waits for what is expected however slow the server, then a little longer
   * for what should not come.
   */
  until?: (answer: RawAnswer) => boolean
  settleMs?: number
}

const MAX_BODY = 1 << 20

/** One request; a stream is read until it ends, `events` arrive or `ms` passes. Rejects only on network failure. */
export function rawRequest (url: URL, request: RawRequest): Promise<RawAnswer> {
  const payload = request.body === undefined ? undefined : typeof request.body === 'string' ? request.body : JSON.stringify(request.body)
  const headers: Record<string, string | number> = { ...request.headers }
  if (payload !== undefined) headers['Content-Length'] = Buffer.byteLength(payload)
  const client = url.protocol === 'https:' ? https : http
  return new Promise((resolve, reject) => {
    const req = client.request(url, { method: request.method, headers, agent: false }, (res) => {
      // From here the answer's own timer decides: an open stream going quiet is no failure.
      req.setTimeout(0)
      const answer: RawAnswer = { status: res.statusCode ?? 0, headers: res.headers, rawNames: res.rawHeaders.filter((_, i) => i % 2 === 0), body: '', events: [] }
      const parser = createParser({ maxBufferSize: MAX_BODY, onEvent: (e) => answer.events.push(e.id === undefined ? { data: e.data } : { id: e.id, data: e.data }), onRetry: (ms) => { answer.retry = ms } })
      const sse = String(res.headers['content-type'] ?? '').startsWith('text/event-stream')
      let done = false
      const finish = (): void => {
        if (done) return
        done = true
        clearTimeout(timer)
        res.destroy()
        resolve(answer)
      }
      let timer = setTimeout(finish, request.ms ?? 5000)
      let settling = false
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        if (answer.body.length < MAX_BODY) answer.body += chunk
        if (sse) {
          try { parser.feed(chunk) } catch { finish() }
          if (request.events !== undefined && answer.events.length >= request.events) finish()
          if (!done && !settling && request.until?.(answer) === true) {
            settling = true
            clearTimeout(timer)
            timer = setTimeout(finish, request.settleMs ?? 0)
          }
        }
        if (answer.body.length >= MAX_BODY) finish()
      })
      res.on('end', finish)
      res.on('error', finish)
      res.on('close', finish)
    })
    req.setTimeout(request.ms ?? 5000, () => req.destroy(new Error(`no answer within ${request.ms ?? 5000} ms`)))
    req.on('error', reject)
    req.end(payload)
  })
}

/** The JSON-RPC messages of an answer, JSON or SSE (unparseable ones dropped). */
export function messagesOf (answer: RawAnswer): Array<Record<string, any>> {
  const texts = String(answer.headers['content-type'] ?? '').startsWith('text/event-stream') ? answer.events.map((e) => e.data).filter((d) => d !== '') : [answer.body]
  const messages: Array<Record<string, any>> = []
  for (const text of texts) {
    try {
      const parsed = JSON.parse(text) as unknown
      for (const m of Array.isArray(parsed) ? parsed : [parsed]) if (m !== null && typeof m === 'object') messages.push(m as Record<string, any>)
    } catch {}
  }
  return messages
}
