// What refreshing a session's idle TTL costs per request, by store: `ping` over 10,000
// sessions on servers that refresh at most every `TOUCH_INTERVAL_MS` (as the session lookup
// benchmark runs them: next to no refreshes) against servers that refresh on every request
// (`touchIntervalMs: 0`: what a session visited less often than the refresh interval costs).
// Interleaved slices, medians over rounds of the server's CPU per request.
//
//   npm run build && node dist/bench/ttl-refresh.js
import { createSessions, load, startServer, type ServerHandle } from './harness.js'
import { RedisServer } from '../test/helpers/redis-server.js'
import { median, VARIANTS } from './targets.js'

const SESSIONS = 10_000
const ROUNDS = 5
const PING = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' })

const redis = await RedisServer.start()
const servers: ServerHandle[] = []
async function start (name: typeof VARIANTS[number], refreshEveryRequest: boolean): Promise<ServerHandle> {
  const env: Record<string, string> = refreshEveryRequest ? { TOUCH_INTERVAL_MS: '0' } : {}
  const server = name === 'memory'
    ? await startServer('./servers/mcp.js', env)
    : await startServer('./servers/mcp-redis.js', { ...env, REDIS_URL: redis.url, REDIS_PREFIX: refreshEveryRequest ? 'every:' : 'throttled:', NEAR_CACHE: name === 'Redis + near-cache' ? '1' : '0' })
  servers.push(server)
  return server
}
// Per store, a server that refreshes throttled and one that refreshes on every request.
const rows: Array<{ name: typeof VARIANTS[number], pair: Array<{ server: ServerHandle, ids: string[] }> }> = []
for (const name of VARIANTS) {
  const pair = []
  for (const [i, refreshEveryRequest] of [false, true].entries()) {
    const server = await start(name, refreshEveryRequest)
    // The near-cache variant reads the Redis variant's sessions (same key prefix).
    const ids = name === 'Redis + near-cache' ? rows.find((r) => r.name === 'Redis')!.pair[i]!.ids : await createSessions(server.url, SESSIONS)
    pair.push({ server, ids })
  }
  rows.push({ name, pair })
}

const cpu = rows.map(() => [[] as number[], [] as number[]])
for (let round = 0; round <= ROUNDS; round++) {
  for (const [r, { pair }] of rows.entries()) {
    for (const [i, { server, ids }] of pair.entries()) {
      const result = await load({ name: '', server, body: PING, sessionIds: ids, durationSec: 1.5, connections: 32, warmupSec: 0 })
      if (result.non2xx + result.errors > 0) throw new Error(`${result.non2xx + result.errors} failed requests`)
      // Round 0 warms up.
      if (round > 0) cpu[r]![i]!.push(result.cpuMicrosPerRequest)
    }
  }
}
for (const server of servers) await server.stop()
await redis.close()
console.table(rows.map(({ name }, r) => {
  const [throttled, every] = cpu[r]!.map(median) as [number, number]
  return {
    store: name,
    'CPU µs/req, refresh throttled': Number(throttled.toFixed(1)),
    'CPU µs/req, refresh on every request': Number(every.toFixed(1)),
    'µs per refresh': Number((every - throttled).toFixed(1))
  }
}))
