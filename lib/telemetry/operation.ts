import { SpanStatusCode, context, type Attributes, type Context, type Span } from '@opentelemetry/api'
import { ATTR, EVENT } from './names.js'

/** What the instrumentation reads of a JSON-RPC response. */
export interface ResponseLike {
  readonly result?: unknown
  readonly error?: { readonly code: number, readonly message: string }
}

/** Where an operation's span starts and its duration goes (the plugin's `McpTelemetry`). */
export interface OperationSink {
  readonly metricsOn: boolean
  readonly sessionIds: boolean
  startServerSpan (name: string, attributes: Attributes, params: Record<string, unknown> | undefined): { span: Span, ctx: Context }
  recordOperation (seconds: number, attributes: Attributes): void
}

const INVALID_PARAMS = -32602
const METHOD_NOT_FOUND = -32601
export const TRANSPORT = Object.freeze({ [ATTR.networkTransport]: 'tcp', [ATTR.networkProtocolName]: 'http' })

/** Methods whose span is named after a low-cardinality target, and the attribute that holds it. */
const TARGETS: Readonly<Record<string, string>> = Object.freeze({
  'tools/call': ATTR.toolName,
  'prompts/get': ATTR.promptName
})
const URI_METHODS = new Set(['resources/read', 'resources/subscribe', 'resources/unsubscribe'])

/** One request or notification being served: its SERVER span (if recording) and its clock. */
export class Operation {
  readonly #telemetry: OperationSink
  readonly #method: string
  readonly #start = performance.now()
  readonly #target: string | undefined
  readonly #protocolVersion: string | undefined
  readonly #span: Span | undefined
  readonly #ctx: Context | undefined

  constructor (telemetry: OperationSink, tracing: boolean, method: string, id: string | number | undefined, params: Record<string, unknown> | undefined, protocolVersion: string | undefined, sessionId: string | undefined) {
    this.#telemetry = telemetry
    this.#method = method
    this.#protocolVersion = protocolVersion
    const targetKey = TARGETS[method]
    const target = targetKey === undefined ? undefined : params?.name
    this.#target = typeof target === 'string' ? target : undefined
    if (!tracing) return
    const attributes: Attributes = { [ATTR.method]: method, ...TRANSPORT }
    if (protocolVersion !== undefined) attributes[ATTR.protocolVersion] = protocolVersion
    if (id !== undefined) attributes[ATTR.requestId] = String(id)
    if (this.#target !== undefined) attributes[targetKey!] = this.#target
    if (method === 'tools/call') attributes[ATTR.operationName] = 'execute_tool'
    if (URI_METHODS.has(method) && typeof params?.uri === 'string') attributes[ATTR.resourceUri] = params.uri
    if (sessionId !== undefined && telemetry.sessionIds) attributes[ATTR.sessionId] = sessionId
    const started = telemetry.startServerSpan(this.#target === undefined ? method : `${method} ${this.#target}`, attributes, params)
    if (started.span.isRecording()) {
      this.#span = started.span
      this.#ctx = started.ctx
    }
  }

  /** Run the handler with the span as the current context, so the application's spans hang under it. */
  run<T> (fn: () => T): T {
    return this.#ctx === undefined ? fn() : context.with(this.#ctx, fn)
  }

  /** The answer went out (or, undefined, the request was cancelled); a notification passes nothing. */
  end (response?: ResponseLike | undefined, cancelled = false): void {
    let errorType: string | undefined
    let statusCode: string | undefined
    let message: string | undefined
    // An unknown tool or prompt is the client's string: it names neither the span nor a metric.
    let target = this.#target
    if (cancelled) errorType = 'cancelled'
    else if (response?.error !== undefined) {
      statusCode = errorType = String(response.error.code)
      message = response.error.message
      if (response.error.code === INVALID_PARAMS || response.error.code === METHOD_NOT_FOUND) target = undefined
    } else {
      const result = response?.result as { isError?: unknown, resultType?: unknown } | undefined
      if (result?.isError === true) errorType = 'tool_error'
      // A multi round-trip result: the client answers and retries in a request of its own.
      else if (result?.resultType === 'input_required') this.#span?.addEvent(EVENT.inputRequired)
    }
    const span = this.#span
    if (span !== undefined) {
      if (target !== this.#target) span.updateName(this.#method)
      if (errorType !== undefined) {
        span.setAttribute(ATTR.errorType, errorType)
        if (statusCode !== undefined) span.setAttribute(ATTR.rpcStatusCode, statusCode)
        span.setStatus(message === undefined ? { code: SpanStatusCode.ERROR } : { code: SpanStatusCode.ERROR, message })
      }
      span.end()
    }
    const telemetry = this.#telemetry
    if (!telemetry.metricsOn) return
    const attributes: Attributes = { [ATTR.method]: this.#method, ...TRANSPORT }
    if (this.#protocolVersion !== undefined) attributes[ATTR.protocolVersion] = this.#protocolVersion
    if (target !== undefined) attributes[TARGETS[this.#method]!] = target
    if (this.#method === 'tools/call') attributes[ATTR.operationName] = 'execute_tool'
    if (errorType !== undefined) attributes[ATTR.errorType] = errorType
    if (statusCode !== undefined) attributes[ATTR.rpcStatusCode] = statusCode
    telemetry.recordOperation((performance.now() - this.#start) / 1000, attributes)
  }
}

/** A request to the client: its CLIENT span and the params to send (with the context in `_meta`). */
export class ClientOperation {
  readonly #span: Span
  readonly params: Record<string, unknown>

  constructor (span: Span, params: Record<string, unknown>) {
    this.#span = span
    this.params = params
  }

  /**
   * The client answered (no argument), or the request failed: with the client's JSON-RPC
   * error (`code`), or a timeout, cancellation or delivery failure (`type`).
   */
  end (error?: { code?: number, type?: string, message: string }): void {
    if (error !== undefined) {
      const type = error.code === undefined ? error.type ?? '_OTHER' : String(error.code)
      this.#span.setAttribute(ATTR.errorType, type)
      if (error.code !== undefined) this.#span.setAttribute(ATTR.rpcStatusCode, type)
      this.#span.setStatus({ code: SpanStatusCode.ERROR, message: error.message })
    }
    this.#span.end()
  }
}
