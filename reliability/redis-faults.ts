// Redis goes away under a steady load of tools/call (an open loop, `rate` a second, as
// clients keep sending whatever the answers): killed (SIGKILL, then a fresh empty server on
// the same port) and hung (SIGSTOP, then SIGCONT). Measured: how fast the requests made
// meanwhile are answered (503, not a wait), how many pile up in flight, and how long after
// Redis is back a new session is served again.
import { RedisServer } from '../test/helpers/redis-server.js'
import { startServer, type ServerProcess } from './child.js'
import { echo, openSession, percentile, sleep, type Session } from './http.js'

export interface FaultResult {
  /** Requests sent while Redis was away. */
  requests: number
  statuses: Record<string, number>
  p50Ms: number
  p99Ms: number
  maxMs: number
  /** Answers that took a second or more. */
  slowAnswers: number
  /** The most requests waiting for an answer at once. */
  maxInFlight: number
  /** From Redis being back to the first new session served (initialize + echo). */
  recoveryMs: number
}

export interface RedisFaultsResult {
  rate: number
  redisTimeoutMs: number
  kill: FaultResult & { downSec: number }
  hang: FaultResult & { hangSec: number }
  crashed: boolean
}

interface Sample { sentAt: number, ms: number, status: number }

/** Send echo calls at `rate` per second until `stop()`; each call's timing is kept. */
function load (server: ServerProcess, session: Session, rate: number) {
  const samples: Sample[] = []
  let inFlight = 0
  let maxInFlight = 0
  let n = 0
  const pending = new Set<Promise<void>>()
  const timer = setInterval(() => {
    const sentAt = Date.now()
    inFlight++
    maxInFlight = Math.max(maxInFlight, inFlight)
    const call = echo(server.url, session, ++n, 'load', { timeoutMs: 30_000 }).then(({ answer }) => {
      inFlight--
      samples.push({ sentAt, ms: answer.ms, status: answer.status })
    })
    pending.add(call)
    void call.then(() => pending.delete(call))
  }, 1000 / rate)
  return {
    samples,
    resetMaxInFlight: () => { maxInFlight = inFlight },
    maxInFlight: () => maxInFlight,
    async stop () {
      clearInterval(timer)
      await Promise.all(pending)
    }
  }
}

async function recovery (server: ServerProcess, since: number, limitMs = 60_000): Promise<number> {
  while (Date.now() - since < limitMs) {
    try {
      const session = await openSession(server.url, { timeoutMs: 5000 })
      if ((await echo(server.url, session, 1, 'back', { timeoutMs: 5000 })).ok) return Date.now() - since
    } catch {}
    await sleep(50)
  }
  return Number.NaN
}

function summarise (samples: Sample[], from: number, to: number, maxInFlight: number, recoveryMs: number): FaultResult {
  const during = samples.filter((s) => s.sentAt >= from && s.sentAt < to)
  const statuses: Record<string, number> = {}
  for (const s of during) statuses[s.status] = (statuses[s.status] ?? 0) + 1
  const ms = during.map((s) => s.ms)
  return {
    requests: during.length,
    statuses,
    p50Ms: Math.round(percentile(ms, 50)),
    p99Ms: Math.round(percentile(ms, 99)),
    maxMs: Math.round(percentile(ms, 100)),
    slowAnswers: ms.filter((m) => m >= 1000).length,
    maxInFlight,
    recoveryMs
  }
}

export async function redisFaults ({ rate = 50, downSec = 5, hangSec = 10 }: { rate?: number, downSec?: number, hangSec?: number } = {}): Promise<RedisFaultsResult> {
  const redis = await RedisServer.start()
  const server = await startServer({ REDIS_URL: redis.url, REDIS_PREFIX: 'faults:' })
  const redisTimeoutMs = 2000
  try {
    // Killed: connection refused while it is down; then a fresh, empty Redis.
    let traffic = load(server, await openSession(server.url), rate)
    await sleep(2000)
    traffic.resetMaxInFlight()
    const killedAt = Date.now()
    await redis.stop()
    await sleep(downSec * 1000)
    const killInFlight = traffic.maxInFlight()
    await redis.start()
    const backAt = Date.now()
    const killRecovery = await recovery(server, backAt)
    await traffic.stop()
    const kill = { ...summarise(traffic.samples, killedAt, backAt, killInFlight, killRecovery), downSec }

    // Hung: the connections stay open and nothing answers.
    traffic = load(server, await openSession(server.url), rate)
    await sleep(2000)
    traffic.resetMaxInFlight()
    const stoppedAt = Date.now()
    process.kill(redis.pid!, 'SIGSTOP')
    await sleep(hangSec * 1000)
    const hangInFlight = traffic.maxInFlight()
    process.kill(redis.pid!, 'SIGCONT')
    const resumedAt = Date.now()
    const hangRecovery = await recovery(server, resumedAt)
    await traffic.stop()
    const hang = { ...summarise(traffic.samples, stoppedAt, resumedAt, hangInFlight, hangRecovery), hangSec }
    return { rate, redisTimeoutMs, kill, hang, crashed: server.exit !== undefined }
  } finally {
    try { process.kill(redis.pid!, 'SIGCONT') } catch {}
    await server.kill()
    await redis.close()
  }
}
