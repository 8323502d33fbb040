import { errors } from '../errors.js'
import { readSse } from './sse.js'
import type { HttpAnswer } from './transport.js'
import type { RpcMessage } from './types.js'

/** The most of an error body read to explain a refusal. */
const MAX_ERROR_BODY = 64 * 1024

export interface AnswerOptions {
  /** The id of the request whose response ends the wait. */
  id: string | number
  /** What the request was, for error messages. */
  what: string
  /** Every other message on the stream (notifications, server→client requests). */
  onMessage: (message: RpcMessage) => void
  /**
   * Re-open a broken stream after `lastEventId` (a GET with `Last-Event-ID`, 2025 sessions);
   * absent where streams cannot be resumed (2026-07-28).
   */
  resume?: (lastEventId: string) => Promise<HttpAnswer>
  maxEventChars: number
  maxResumes: number
  signal: AbortSignal
}

/**
 * Wait for the response to one request in the answer to its POST, JSON or SSE. A broken
 * stream is resumed with `Last-Event-ID` after the server's `retry:` delay, so each event
 * is seen once: the server replays only what came after the last id read.
 */
export async function awaitAnswer (first: HttpAnswer, options: AnswerOptions): Promise<RpcMessage> {
  let res = first
  let lastEventId: string | undefined
  let retryMs = 0
  let resumes = 0
  for (;;) {
    const type = res.headers.get('content-type') ?? ''
    if (type.startsWith('application/json')) return pickResponse(await readJson(res, options.what), options)
    if (!type.startsWith('text/event-stream')) {
      res.cancel()
      throw new errors.FST_MCP_BAD_RESPONSE(options.what, `content type "${type}" is neither JSON nor SSE`)
    }
    let response: RpcMessage | undefined
    let broken: unknown
    const stop = new AbortController()
    try {
      await readSse(res.body, {
        maxEventChars: options.maxEventChars,
        onRetry: (ms) => { retryMs = ms },
        onEvent: (event) => {
          if (event.id !== undefined) lastEventId = event.id
          if (event.data === '' || response !== undefined) return
          const message = parseMessage(event.data, options.what)
          if (isResponseTo(message, options.id)) {
            response = message
            stop.abort()
          } else options.onMessage(message)
        },
        stop: stop.signal
      })
    } catch (err) {
      if ((err as { code?: string }).code === 'FST_MCP_SSE_OVERFLOW' || options.signal.aborted) throw options.signal.aborted ? options.signal.reason : err
      broken = err
    }
    if (response !== undefined) return response
    if (options.resume === undefined || lastEventId === undefined || resumes >= options.maxResumes) {
      throw new errors.FST_MCP_BAD_RESPONSE(options.what, `the stream ended before the response${broken === undefined ? '' : ` (${String((broken as Error).message ?? broken)})`}${options.resume !== undefined && lastEventId === undefined ? ', and it carried no event id to resume from' : ''}`)
    }
    resumes++
    await sleep(retryMs, options.signal)
    res = await options.resume(lastEventId)
    if (!res.ok) throw await httpError(res, `${options.what} (resuming after event ${lastEventId})`)
  }
}

function pickResponse (body: unknown, options: AnswerOptions): RpcMessage {
  const messages = Array.isArray(body) ? body as RpcMessage[] : [body as RpcMessage]
  let response: RpcMessage | undefined
  for (const message of messages) {
    if (isResponseTo(message, options.id)) response = message
    else options.onMessage(message)
  }
  if (response === undefined) throw new errors.FST_MCP_BAD_RESPONSE(options.what, 'the JSON answer holds no response with the request id')
  return response
}

function isResponseTo (message: RpcMessage, id: string | number): boolean {
  return message.method === undefined && message.id === id && (message.result !== undefined || message.error !== undefined)
}

function parseMessage (text: string, what: string): RpcMessage {
  let message: unknown
  try { message = JSON.parse(text) } catch { throw new errors.FST_MCP_BAD_RESPONSE(what, `an SSE event is not JSON: ${text.slice(0, 80)}`) }
  if (message === null || typeof message !== 'object') throw new errors.FST_MCP_BAD_RESPONSE(what, 'an SSE event is not a JSON-RPC message')
  return message as RpcMessage
}

async function readJson (res: HttpAnswer, what: string): Promise<unknown> {
  const text = await res.text()
  try { return JSON.parse(text) } catch { throw new errors.FST_MCP_BAD_RESPONSE(what, `the JSON answer does not parse: ${text.slice(0, 80)}`) }
}

function sleep (ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason)
    const timer = setTimeout(() => { signal.removeEventListener('abort', onAbort); resolve() }, ms)
    const onAbort = (): void => { clearTimeout(timer); reject(signal.reason) }
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

/** What each refusal means and what to do about it: the hint in every HTTP error. */
export const STATUS_HINTS: Readonly<Record<number, string>> = {
  400: 'The server refused the request as malformed: a missing Mcp-Session-Id (no initialize first?), an unsupported MCP-Protocol-Version, or a header that disagrees with the body.',
  401: 'Credentials are missing or invalid: pass them with --header "Authorization: Bearer <token>" (the headers option).',
  403: 'Refused: the Origin or Host is not allowed, or the credentials lack a scope. Check the server\'s allowed origins and the token\'s scopes.',
  404: 'Unknown session (expired, deleted, or the server restarted) or a wrong URL path. The client re-initializes once on a known session; otherwise check the URL (often /mcp).',
  405: 'The server does not allow this HTTP method here (a stateless server has no GET stream and no DELETE).',
  406: 'The Accept header must list both application/json and text/event-stream.',
  413: 'The request body is over the server\'s limit.',
  415: 'The Content-Type must be application/json.',
  429: 'Rate limited: wait (see Retry-After) and try again.',
  500: 'The server failed: see its logs.',
  502: 'A proxy in front of the server failed to reach it.',
  503: 'The server is unavailable (starting, shutting down, or its store is down): wait (see Retry-After) and try again.'
}

/** The error thrown for a non-2xx answer: the status, the JSON-RPC error if the body has one, and the fix. */
export async function httpError (res: HttpAnswer, what: string): Promise<Error & { status: number, rpcError?: RpcMessage['error'] }> {
  let rpcError: RpcMessage['error']
  const text = await readBounded(res, MAX_ERROR_BODY)
  try {
    const body = JSON.parse(text) as RpcMessage
    if (body !== null && typeof body.error === 'object') rpcError = body.error
  } catch {}
  const detail = rpcError === undefined ? text.slice(0, 200) : `${rpcError.code} ${rpcError.message}`
  const hint = STATUS_HINTS[res.status] ?? (res.status >= 500 ? STATUS_HINTS[500]! : '')
  const err = new errors.FST_MCP_HTTP_STATUS(`HTTP ${res.status} to ${what}${detail === '' ? '' : ` (${detail})`}`, hint)
  return Object.assign(err, { status: res.status }, rpcError === undefined ? {} : { rpcError })
}

async function readBounded (res: HttpAnswer, limit: number): Promise<string> {
  const decoder = new TextDecoder()
  let text = ''
  try {
    for await (const chunk of res.body) {
      text += decoder.decode(chunk, { stream: true })
      if (text.length >= limit) break
    }
  } catch {}
  return text.slice(0, limit)
}

/** The error thrown for a JSON-RPC error response. */
export function rpcError (what: string, error: NonNullable<RpcMessage['error']>): Error & { rpcCode: number, data?: unknown } {
  const err = new errors.FST_MCP_RPC_ERROR(what, `${error.code} ${error.message}`)
  return Object.assign(err, { rpcCode: error.code }, error.data === undefined ? {} : { data: error.data })
}
