import { buildDemo, demoServerOptions } from './app.js'

const host = process.env.HOST ?? '127.0.0.1'
const port = Number(process.env.PORT ?? 3000)

// REDIS_URL=redis://127.0.0.1:6379 runs on Redis: start several, any serves any session.
// Browser clients on another localhost port (the MCP Inspector's web UI) get CORS.
const redis = process.env.REDIS_URL
const app = await buildDemo(demoServerOptions(process.env), { logger: { level: process.env.LOG_LEVEL ?? 'info' } })
await app.listen({ host, port })
// With PORT=0 the OS picks the port: report the one actually bound.
const address = app.server.address()
const boundPort = address !== null && typeof address === 'object' ? address.port : port
app.log.info(`MCP endpoint: http://${host.includes(':') ? `[${host}]` : host}:${boundPort}/mcp${redis === undefined || redis === '' ? '' : ' (sessions in Redis)'}`)

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    app.log.info({ signal }, 'shutting down')
    app.close().then(() => process.exit(0), (err) => { app.log.error(err); process.exit(1) })
  })
}
