import { buildDemo } from './app.js'

const host = process.env.HOST ?? '127.0.0.1'
const port = Number(process.env.PORT ?? 3000)

const app = await buildDemo({}, { logger: { level: process.env.LOG_LEVEL ?? 'info' } })
await app.listen({ host, port })
app.log.info(`MCP endpoint: http://${host.includes(':') ? `[${host}]` : host}:${port}/mcp`)

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    app.log.info({ signal }, 'shutting down')
    app.close().then(() => process.exit(0), (err) => { app.log.error(err); process.exit(1) })
  })
}
