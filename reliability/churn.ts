// Session churn: initialize → notifications/initialized → tools/call echo → DELETE, over and
// over on keep-alive connections; the server's heap after a full GC must come back to where
// it was after a warm-up, and on Redis the key count too.
import http from 'node:http'
import type { RedisServer } from '../test/helpers/redis-server.js'
import { startServer } from './child.js'
import { echo, exchange, openSession } from './http.js'

export interface ChurnResult {
  store: 'memory' | 'redis'
  cycles: number
  failures: number
  firstFailures: string[]
  seconds: number
  cyclesPerSecond: number
  heapStartMb: number
  heapEndMb: number
  heapGrowthPct: number
  redisKeysStart?: number
  redisKeysEnd?: number
  crashed: boolean
}

export async function churn ({ cycles, redis, concurrency = 16, warmup = 2000 }: { cycles: number, redis?: RedisServer, concurrency?: number, warmup?: number }): Promise<ChurnResult> {
  const server = await startServer(redis === undefined ? {} : { REDIS_URL: redis.url, REDIS_PREFIX: 'churn:' })
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency })
  const failures: string[] = []
  let failed = 0
  const cycle = async (n: number) => {
    try {
      const session = await openSession(server.url, { agent })
      const call = await echo(server.url, session, n, `cycle ${n}`, { agent })
      if (!call.ok) throw new Error(`echo: ${call.answer.status} ${call.answer.body.slice(0, 100)}`)
      const end = await exchange(server.url, 'DELETE', { 'mcp-session-id': session.id, 'mcp-protocol-version': session.headers['mcp-protocol-version']! }, undefined, { agent })
      if (end.status !== 200 && end.status !== 204) throw new Error(`DELETE: ${end.status}`)
    } catch (err) {
      failed++
      if (failures.length < 5) failures.push((err as Error).message)
    }
  }
  const run = async (count: number) => {
    let next = 0
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (next < count && server.exit === undefined) await cycle(next++)
    }))
  }
  try {
    await run(warmup)
    const heapStart = await server.heapUsed()
    const keysStart = redis === undefined ? undefined : Number(redis.cli('dbsize'))
    failed = 0
    const started = performance.now()
    await run(cycles)
    const seconds = (performance.now() - started) / 1000
    const heapEnd = await server.heapUsed()
    const keysEnd = redis === undefined ? undefined : Number(redis.cli('dbsize'))
    const mb = (bytes: number) => Number((bytes / 1024 / 1024).toFixed(1))
    return {
      store: redis === undefined ? 'memory' : 'redis',
      cycles,
      failures: failed,
      firstFailures: failures,
      seconds: Number(seconds.toFixed(1)),
      cyclesPerSecond: Math.round(cycles / seconds),
      heapStartMb: mb(heapStart),
      heapEndMb: mb(heapEnd),
      heapGrowthPct: Number((100 * (heapEnd - heapStart) / heapStart).toFixed(1)),
      ...(keysStart === undefined ? {} : { redisKeysStart: keysStart, redisKeysEnd: keysEnd }),
      crashed: server.exit !== undefined
    }
  } finally {
    agent.destroy()
    await server.kill()
  }
}
