import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'

/**
 * Listen on a free loopback port, tell the parent over IPC, and answer its CPU-time
 * questions (process.cpuUsage, in µs) so the harness can compute CPU per request.
 */
export async function serve (app: FastifyInstance): Promise<void> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  process.on('message', (message: { type: string }) => {
    if (message.type === 'cpu') {
      const { user, system } = process.cpuUsage()
      process.send!({ type: 'cpu', micros: user + system })
    } else if (message.type === 'memory') {
      global.gc?.()
      process.send!({ type: 'memory', heapUsed: process.memoryUsage().heapUsed, rss: process.memoryUsage().rss })
    } else if (message.type === 'stop') {
      app.close().then(() => process.exit(0), () => process.exit(1))
    }
  })
  process.send!({ type: 'ready', port })
}
