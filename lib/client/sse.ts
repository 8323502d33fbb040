import { errors } from '../errors.js'
import { createParser, type EventSourceMessage } from 'eventsource-parser'

/** One Server-Sent Event as the client needs it. */
export interface SseEvent {
  id?: string
  data: string
}

export interface SseReadOptions {
  /** Called for each complete event, in order. */
  onEvent: (event: SseEvent) => void
  /** Called when the server sets its reconnection delay (`retry:`). */
  onRetry?: (ms: number) => void
  /**
   * The most characters one event (or one unterminated line) may take. A hostile server
   * sending an endless line would otherwise grow the parser's buffer without bound.
   */
  maxEventChars: number
  /** Stop reading (the response wanted has arrived): the body is cancelled, the read resolves. */
  stop?: AbortSignal
}

/**
 * Read a `text/event-stream` body to its end. Resolves when the server ends the stream;
 * rejects when the connection breaks (the caller decides whether to resume) or when an
 * event exceeds `maxEventChars`.
 */
export async function readSse (body: AsyncIterable<Uint8Array | string>, options: SseReadOptions): Promise<void> {
  let overflow: Error | undefined
  const parser = createParser({
    maxBufferSize: options.maxEventChars,
    onEvent: (event: EventSourceMessage) => options.onEvent(event.id === undefined ? { data: event.data } : { id: event.id, data: event.data }),
    onRetry: options.onRetry,
    onError: (error) => {
      if (error.type === 'max-buffer-size-exceeded') overflow = new errors.FST_MCP_SSE_OVERFLOW(options.maxEventChars)
    }
  })
  const decoder = new TextDecoder()
  // Leaving the loop (done, stopped, or an error) releases the body: node:http destroys it.
  for await (const chunk of body) {
    parser.feed(typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }))
    if (overflow !== undefined) throw overflow
    if (options.stop?.aborted === true) return
  }
}
