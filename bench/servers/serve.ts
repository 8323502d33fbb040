import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { Type } from '@sinclair/typebox'

/**
 * Listen on a free loopback port, tell the parent over IPC, and answer its CPU-time
 * questions (process.cpuUsage, in µs) so the harness can compute CPU per request.
 */
export async function serve (app: FastifyInstance): Promise<void> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  let added = 0
  // `broadcast`: a tool added now is announced (tools/list_changed) on every GET stream: the
  // SSE benchmark's fan-out.
  announce(port, () => app.close(), (message) => {
    if (message.type !== 'broadcast') return
    app.mcp.tool({ name: `added-${added++}`, description: 'added by the benchmark', inputSchema: Type.Object({}) }, async () => 'ok')
    process.send!({ type: 'broadcast' })
  })
}

/** The IPC side for any server: report `port`, answer CPU/memory/profile questions, stop with `close`. */
export function announce (port: number, close: () => Promise<unknown>, other: (message: { type: string }) => void = () => {}): void {
  let inspector: Session | undefined
  process.on('message', (message: { type: string }) => {
    other(message)
    if (message.type === 'cpu') {
      const { user, system } = process.cpuUsage()
      process.send!({ type: 'cpu', micros: user + system })
    } else if (message.type === 'memory') {
      global.gc?.()
      const { heapUsed, rss, arrayBuffers } = process.memoryUsage()
      process.send!({ type: 'memory', heapUsed, rss, arrayBuffers })
    } else if (message.type === 'profile-start') {
      // CPU profile of the measured phase only (setup excluded), for tuning the hot path.
      inspector ??= new Session()
      inspector.connect()
      inspector.post('Profiler.enable', () => inspector!.post('Profiler.start', () => process.send!({ type: 'profile-start' })))
    } else if (message.type === 'profile-stop') {
      inspector!.post('Profiler.stop', (err, result) => {
        const file = `${process.env.MCP_BENCH_PROFILE ?? 'profile'}-${process.pid}.cpuprofile`
        if (err === null) writeFileSync(file, JSON.stringify(result.profile))
        inspector!.disconnect()
        process.send!({ type: 'profile-stop', file })
      })
    } else if (message.type === 'stop') {
      close().then(() => process.exit(0), () => process.exit(1))
    }
  })
  process.send!({ type: 'ready', port })
}
