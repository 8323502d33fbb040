import { buildDemo, demoServerOptions } from './app.js'
import { demoAuthOptions } from './auth.js'
import { installDemoMetrics } from './metrics.js'

const host = process.env.HOST ?? '127.0.0.1'
const port = Number(process.env.PORT ?? 3000)

// REDIS_URL=redis://127.0.0.1:6379 runs on Redis: start several, any serves any session.
// Browser clients on another localhost port (the MCP Inspector's web UI) get CORS.
const redis = process.env.REDIS_URL
// AUTH_ISSUER=https://auth.example.com runs it as an OAuth protected resource (AUTH_AUDIENCE,
// AUTH_SCOPES optional): keys from the issuer's metadata, audience = this endpoint's URL.
const endpoint = `http://${host.includes(':') ? `[${host}]` : host}:${port}/mcp`
const auth = await demoAuthOptions(process.env, endpoint)
// METRICS=1: the OpenTelemetry SDK with the Prometheus exporter, on /metrics of this server.
const demoMetrics = process.env.METRICS === '1' ? await installDemoMetrics() : undefined
const app = await buildDemo({ ...demoServerOptions(process.env), ...(auth === undefined ? {} : { auth }) }, { logger: { level: process.env.LOG_LEVEL ?? 'info' } })
demoMetrics?.route(app)
if (demoMetrics !== undefined) app.addHook('onClose', () => demoMetrics.shutdown())
await app.listen({ host, port })
// With PORT=0 the OS picks the port: report the one actually bound.
const address = app.server.address()
const boundPort = address !== null && typeof address === 'object' ? address.port : port
app.log.info(`MCP endpoint: http://${host.includes(':') ? `[${host}]` : host}:${boundPort}/mcp${redis === undefined || redis === '' ? '' : ' (sessions in Redis)'}`)
if (demoMetrics !== undefined) app.log.info(`Prometheus metrics: http://${host.includes(':') ? `[${host}]` : host}:${boundPort}/metrics`)
if (auth !== undefined) app.log.info(`Protected resource ${auth.resource}, tokens from ${String(auth.jwt?.issuer)}`)

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    app.log.info({ signal }, 'shutting down')
    app.close().then(() => process.exit(0), (err) => { app.log.error(err); process.exit(1) })
  })
}
