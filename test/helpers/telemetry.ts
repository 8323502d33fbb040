// OpenTelemetry SDK pieces for the telemetry tests: a tracer and a meter of their own (passed
// to the plugin as `telemetry.tracer` / `telemetry.meter`), read through the SDK's in-memory
// exporters.
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { context, propagation, type Attributes, type Meter, type Tracer } from '@opentelemetry/api'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type DataPoint, type MetricData } from '@opentelemetry/sdk-metrics'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base'
import type { Test } from 'tap'

/** What an application with the SDK installed has: a context manager and the W3C propagator. */
export function installContext (): void {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  propagation.setGlobalPropagator(new W3CTraceContextPropagator())
}

export interface Recorder {
  readonly tracer: Tracer
  readonly meter: Meter
  spans (): ReadableSpan[]
  /** The span named `name` (the only one, or the last). */
  span (name: string): ReadableSpan
  /** Collect now; the data points of metric `name` (empty if it has none). */
  points (name: string): Promise<Array<DataPoint<any>>>
  metric (name: string): Promise<MetricData | undefined>
}

export function recorder (t: Test): Recorder {
  const spans = new InMemorySpanExporter()
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] })
  const metrics = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
  const reader = new PeriodicExportingMetricReader({ exporter: metrics, exportIntervalMillis: 3_600_000 })
  const meterProvider = new MeterProvider({ readers: [reader] })
  t.teardown(async () => {
    await tracerProvider.shutdown()
    await meterProvider.shutdown()
  })
  const metric = async (name: string): Promise<MetricData | undefined> => {
    metrics.reset()
    await reader.forceFlush()
    const latest = metrics.getMetrics().at(-1)
    return latest?.scopeMetrics.flatMap((scope) => scope.metrics).find((m) => m.descriptor.name === name)
  }
  return {
    tracer: tracerProvider.getTracer('test'),
    meter: meterProvider.getMeter('test'),
    spans: () => spans.getFinishedSpans(),
    span (name) {
      const found = spans.getFinishedSpans().filter((s) => s.name === name).at(-1)
      if (found === undefined) throw new Error(`no span named ${name}; have ${spans.getFinishedSpans().map((s) => s.name).join(', ')}`)
      return found
    },
    metric,
    points: async (name) => (await metric(name))?.dataPoints ?? []
  }
}

/** The sum (counters) or count (histograms) of the points whose attributes include `match`. */
export function total (points: Array<DataPoint<any>>, match: Attributes = {}): number {
  return points
    .filter((p) => Object.entries(match).every(([k, v]) => p.attributes[k] === v))
    .reduce((sum, p) => sum + (typeof p.value === 'number' ? p.value : p.value.count), 0)
}
