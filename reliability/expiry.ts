// Expiry at scale on Redis: 20,000 sessions that no client ends (as the Inspector and many
// adapters leave them) expire; how long until the session index has forgotten them all.
import http from 'node:http'
import { RedisServer } from '../test/helpers/redis-server.js'
import { startServer } from './child.js'
import { JSON_POST, exchange, sleep } from './http.js'

export interface ExpiryResult {
  sessions: number
  ttlMs: number
  created: number
  /** From the last session's expiry to an empty index (NaN: not within the limit). */
  forgottenAfterMs: number
  /** Index entries left at the limit (0 when all were forgotten). */
  leftAtLimit: number
  limitSec: number
  crashed: boolean
}

export async function expiry ({ sessions = 20_000, ttlMs = 5000, limitSec = 60, concurrency = 32 }: { sessions?: number, ttlMs?: number, limitSec?: number, concurrency?: number } = {}): Promise<ExpiryResult> {
  const redis = await RedisServer.start()
  const server = await startServer({ REDIS_URL: redis.url, REDIS_PREFIX: 'expiry:', SESSION_TTL_MS: String(ttlMs) })
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency })
  try {
    const init = JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'expiry', version: '1' } } })
    let next = 0
    let created = 0
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (next++ < sessions) if ((await exchange(server.url, 'POST', JSON_POST, init, { agent })).status === 200) created++
    }))
    const allExpiredAt = Date.now() + ttlMs
    const deadline = allExpiredAt + limitSec * 1000
    let left = Number(redis.cli('zcard', 'expiry:sessions'))
    while (left > 0 && Date.now() < deadline) {
      await sleep(250)
      left = Number(redis.cli('zcard', 'expiry:sessions'))
    }
    return {
      sessions,
      ttlMs,
      created,
      forgottenAfterMs: left === 0 ? Math.max(0, Date.now() - allExpiredAt) : Number.NaN,
      leftAtLimit: left,
      limitSec,
      crashed: server.exit !== undefined
    }
  } finally {
    agent.destroy()
    await server.kill()
    await redis.close()
  }
}
