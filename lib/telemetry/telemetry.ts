import {
  ProxyTracerProvider, SpanKind, ValueType, context, createNoopMeter, metrics, trace,
  type Attributes, type Context, type Counter, type Histogram, type Meter, type ObservableUpDownCounter, type Span, type Tracer
} from '@opentelemetry/api'
import { PACKAGE_NAME, PACKAGE_VERSION } from '../meta.js'
import { ATTR, DURATION_BUCKETS, EVENT, METRIC, REDIS_BUCKETS, WELL_KNOWN_METHODS, type SessionEndReason, type StreamKind } from './names.js'
import { ClientOperation, Operation, TRANSPORT, type OperationSink } from './operation.js'
import { injectInto, parentOf } from './propagation.js'

export { ClientOperation, Operation }

/** The `telemetry` option. */
export interface TelemetryOptions {
  /** The tracer to use. Default: the global one (`trace.getTracer('fastify-mcp-streamable')`), a no-op until an SDK is installed. */
  tracer?: Tracer
  /** The meter to use. Default: the global one at registration (install the SDK's meter provider before registering the plugin). */
  meter?: Meter
  /** Put `mcp.session.id` on spans. Default `false`: the id is a bearer-like secret. Never on metrics. */
  sessionIdAttribute?: boolean
}

/** Counts the periodic metrics read from the runtime. */
export interface TelemetryGauges {
  sessions (): Promise<number>
  streams (): Readonly<Record<StreamKind, number>>
  subscriptions (): number
  /** Bytes held by the event store, when it can say (the memory store). */
  eventStoreBytes (): number | undefined
}

const NOOP_METER = createNoopMeter()
const NOOP_TRACER_PROVIDER = new ProxyTracerProvider().getDelegate()
const STREAM_KINDS: readonly StreamKind[] = ['get', 'post', 'modern']

/**
 * Traces and metrics on the OpenTelemetry semantic conventions for MCP, through
 * `@opentelemetry/api` only: a no-op until the application installs an SDK. Built once per
 * registration; the instruments are created here, never per request.
 */
export class McpTelemetry implements OperationSink {
  readonly #tracer: Tracer
  /** The global provider, when no tracer was given: tracing is off while it has no delegate. */
  readonly #globalTraces: ProxyTracerProvider | undefined
  readonly #sessionIds: boolean
  /** False with the API's no-op meter: nothing is recorded, so no attributes are built. */
  readonly metricsOn: boolean
  readonly #meter: Meter
  readonly #operation: Histogram
  readonly #session: Histogram
  readonly #started: Counter
  readonly #ended: Counter
  readonly #replays: Counter
  readonly #replayedEvents: Counter
  readonly #redis: Histogram
  readonly #refused: Counter
  #gauges: { unregister (): void } | undefined

  constructor (options: TelemetryOptions = {}) {
    const provider = trace.getTracerProvider()
    this.#globalTraces = options.tracer === undefined && provider instanceof ProxyTracerProvider ? provider : undefined
    this.#tracer = options.tracer ?? trace.getTracer(PACKAGE_NAME, PACKAGE_VERSION)
    this.#sessionIds = options.sessionIdAttribute === true
    const meter = this.#meter = options.meter ?? metrics.getMeter(PACKAGE_NAME, PACKAGE_VERSION)
    this.metricsOn = meter !== NOOP_METER
    const seconds = (name: string, description: string, buckets: readonly number[]): Histogram =>
      meter.createHistogram(name, { description, unit: 's', advice: { explicitBucketBoundaries: [...buckets] } })
    this.#operation = seconds(METRIC.operationDuration, 'MCP request or notification duration as observed on the receiver from the time it was received until the result or ack is sent.', DURATION_BUCKETS)
    this.#session = seconds(METRIC.sessionDuration, 'The duration of the MCP session as observed on the MCP server.', DURATION_BUCKETS)
    this.#redis = seconds(METRIC.redisDuration, 'Redis commands the plugin sent, from sending to the reply.', REDIS_BUCKETS)
    this.#started = meter.createCounter(METRIC.sessionsStarted, { description: 'MCP sessions created.', unit: '{session}', valueType: ValueType.INT })
    this.#ended = meter.createCounter(METRIC.sessionsEnded, { description: 'MCP sessions ended, by mcp.session.end_reason.', unit: '{session}', valueType: ValueType.INT })
    this.#replays = meter.createCounter(METRIC.replays, { description: 'SSE streams resumed with Last-Event-ID.', unit: '{replay}', valueType: ValueType.INT })
    this.#replayedEvents = meter.createCounter(METRIC.replayedEvents, { description: 'Events written again to resumed SSE streams.', unit: '{event}', valueType: ValueType.INT })
    this.#refused = meter.createCounter(METRIC.refused, { description: 'HTTP requests to the MCP endpoint refused before any MCP method ran, by http.response.status_code.', unit: '{request}', valueType: ValueType.INT })
  }

  /** Whether spans may be recorded (a tracer was given, or the global provider has an SDK behind it). */
  get tracingOn (): boolean {
    const global = this.#globalTraces
    return global === undefined || global.getDelegate() !== NOOP_TRACER_PROVIDER
  }

  /** Whether anything is recorded: callers check it before building the arguments of `operation`. */
  get recording (): boolean {
    return this.metricsOn || this.tracingOn
  }

  /**
   * Start the SERVER span and the clock of one request or notification; undefined when
   * neither traces nor metrics are recorded (the fast path: nothing is built).
   */
  operation (method: string, known: boolean, id: string | number | undefined, params: unknown, protocolVersion: string | undefined, sessionId: string | undefined): Operation | undefined {
    const tracing = this.tracingOn
    if (!tracing && !this.metricsOn) return undefined
    return new Operation(this, tracing, known || WELL_KNOWN_METHODS.has(method) ? method : '_OTHER', id, params as Record<string, unknown> | undefined, protocolVersion, sessionId)
  }

  /** @internal */
  startServerSpan (name: string, attributes: Attributes, params: Record<string, unknown> | undefined): { span: Span, ctx: Context } {
    const parent = parentOf(params?._meta)
    const span = this.#tracer.startSpan(name, { kind: SpanKind.SERVER, attributes, links: parent.links }, parent.context)
    return { span, ctx: trace.setSpan(parent.context, span) }
  }

  /** @internal */
  recordOperation (seconds: number, attributes: Attributes): void {
    this.#operation.record(seconds, attributes)
  }

  /** @internal */
  get sessionIds (): boolean { return this.#sessionIds }

  /**
   * A request the server sends the client (elicitation, sampling, roots, an input round): a
   * CLIENT span under the current context, its context injected into the request's `_meta`.
   */
  clientRequest (method: string, id: string, params: Record<string, unknown>, sessionId: string): ClientOperation | undefined {
    if (!this.tracingOn) return undefined
    const attributes: Attributes = { [ATTR.method]: method, [ATTR.requestId]: id, ...TRANSPORT }
    if (this.#sessionIds) attributes[ATTR.sessionId] = sessionId
    const span = this.#tracer.startSpan(method, { kind: SpanKind.CLIENT, attributes })
    return new ClientOperation(span, span.isRecording() ? injectInto(params, trace.setSpan(context.active(), span)) : params)
  }

  sessionStarted (protocolVersion: string): void {
    if (this.metricsOn) this.#started.add(1, { [ATTR.protocolVersion]: protocolVersion, ...TRANSPORT })
  }

  /** A session ended; its duration is recorded when its start is known (not for a Redis expiry: the record is gone). */
  sessionEnded (reason: SessionEndReason, protocolVersion: string | undefined, createdAt: number | undefined): void {
    if (!this.metricsOn) return
    const attributes: Attributes = { ...TRANSPORT }
    if (protocolVersion !== undefined) attributes[ATTR.protocolVersion] = protocolVersion
    this.#ended.add(1, { ...attributes, [ATTR.endReason]: reason })
    if (createdAt !== undefined) this.#session.record(Math.max(0, Date.now() - createdAt) / 1000, attributes)
  }

  /** A GET with `Last-Event-ID` arrived: a span event on the current span (the HTTP request's, when instrumented). */
  reconnected (): void {
    trace.getActiveSpan()?.addEvent(EVENT.reconnect)
  }

  /** A resumed stream was written the events it missed. */
  replayed (events: number): void {
    trace.getActiveSpan()?.addEvent(EVENT.replay, { [ATTR.replayedEvents]: events })
    if (!this.metricsOn) return
    this.#replays.add(1)
    if (events > 0) this.#replayedEvents.add(events)
  }

  /** An HTTP request to the endpoint refused before any MCP method ran (400, 403, 404, 406, 413, 415, 429, 503). */
  refused (status: number): void {
    if (this.metricsOn) this.#refused.add(1, { [ATTR.httpStatusCode]: status })
  }

  /** One Redis command's time, by command name (a bounded set). */
  redisCommand (name: string, seconds: number, failed: boolean): void {
    this.#redis.record(seconds, failed ? { [ATTR.dbOperation]: name, [ATTR.errorType]: 'redis_error' } : { [ATTR.dbOperation]: name })
  }

  /** Report the runtime's live counts at each collection. */
  observe (gauges: TelemetryGauges): void {
    if (!this.metricsOn) return
    const meter = this.#meter
    const count = (name: string, description: string, unit: string): ObservableUpDownCounter =>
      meter.createObservableUpDownCounter(name, { description, unit, valueType: ValueType.INT })
    const sessions = count(METRIC.sessionsActive, 'Live MCP sessions in the session store.', '{session}')
    const streams = count(METRIC.streamsOpen, 'Open SSE connections on this instance, by mcp.stream.kind.', '{connection}')
    const subscriptions = count(METRIC.listenSubscriptions, 'Open subscriptions/listen streams on this instance.', '{subscription}')
    const bytes = count(METRIC.eventStoreBytes, 'Bytes held by the in-memory event store.', 'By')
    const callback = async (result: import('@opentelemetry/api').BatchObservableResult): Promise<void> => {
      const open = gauges.streams()
      for (const kind of STREAM_KINDS) result.observe(streams, open[kind], { [ATTR.streamKind]: kind })
      result.observe(subscriptions, gauges.subscriptions())
      const held = gauges.eventStoreBytes()
      if (held !== undefined) result.observe(bytes, held)
      // A store that is away (Redis down) leaves the gauge out of this collection.
      const live = await gauges.sessions().catch(() => undefined)
      if (live !== undefined) result.observe(sessions, live)
    }
    meter.addBatchObservableCallback(callback, [sessions, streams, subscriptions, bytes])
    this.#gauges = { unregister: () => meter.removeBatchObservableCallback(callback, [sessions, streams, subscriptions, bytes]) }
  }

  /** Stop reporting the runtime's counts (the plugin closed). */
  close (): void {
    this.#gauges?.unregister()
    this.#gauges = undefined
  }
}
