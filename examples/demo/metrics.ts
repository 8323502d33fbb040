import type { FastifyInstance } from 'fastify'
import { metrics } from '@opentelemetry/api'

/** The plugin's instruments with a unit, and the suffix Prometheus names give that unit. */
const UNIT_SUFFIXES: Readonly<Record<string, string>> = {
  'mcp.server.operation.duration': 'seconds',
  'mcp.server.session.duration': 'seconds',
  'mcp.server.redis.command.duration': 'seconds',
  'mcp.server.event_store.size': 'bytes'
}

/** What `METRICS=1` adds to the demo: the `/metrics` route and the SDK's shutdown. */
export interface DemoMetrics {
  /** Serve the Prometheus text format on `GET /metrics` of the demo's own server. */
  route (app: FastifyInstance): void
  shutdown (): Promise<void>
}

/**
 * Install the OpenTelemetry metrics SDK with the Prometheus exporter as the global meter
 * provider. Call it before registering the plugin: the plugin creates its instruments at
 * registration, from the global meter provider of that moment. The SDK packages are loaded
 * only here (dev dependencies: the demo runs from the repository).
 */
export async function installDemoMetrics (): Promise<DemoMetrics> {
  const [{ PrometheusExporter }, { MeterProvider }] = await Promise.all([
    import('@opentelemetry/exporter-prometheus'),
    import('@opentelemetry/sdk-metrics')
  ])
  // No server of its own (its default is a second port, 9464): the demo's route serves it.
  const exporter = new PrometheusExporter({ preventServerStart: true })
  // Prometheus names carry the unit (mcp_server_operation_duration_seconds); this exporter
  // does not add it, so views rename the instruments that have one.
  const views = Object.entries(UNIT_SUFFIXES).map(([instrumentName, suffix]) => ({ instrumentName, name: `${instrumentName.replaceAll('.', '_')}_${suffix}` }))
  const provider = new MeterProvider({ readers: [exporter], views })
  metrics.setGlobalMeterProvider(provider)
  return {
    route (app) {
      app.get('/metrics', (request, reply) => {
        reply.hijack()
        exporter.getMetricsRequestHandler(request.raw, reply.raw)
      })
    },
    shutdown: () => provider.shutdown()
  }
}
