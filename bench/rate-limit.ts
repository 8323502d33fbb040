// What `rateLimit` costs per request, by store: `tools/call echo` over 1,000 sessions on a
// server without rate limiting against one counting every request (a limit no run reaches),
// in memory and in Redis (one more script call per request). Interleaved slices, medians over
// rounds of the server's CPU per request.
//
//   npm run build && node dist/bench/rate-limit.js
import { createSessions, load, startServer, type ServerHandle } from './harness.js'
import { RedisServer } from '../test/helpers/redis-server.js'
import { median } from './targets.js'

const SESSIONS = 1000
const ROUNDS = 5
const CALL = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { text: 'hi' } } })
const STORES = ['memory', 'Redis'] as const

const redis = await RedisServer.start()
const servers: ServerHandle[] = []
const rows: Array<{ store: typeof STORES[number], pair: Array<{ server: ServerHandle, ids: string[] }> }> = []
for (const store of STORES) {
  const pair = []
  for (const limited of [false, true]) {
    const env: Record<string, string> = limited ? { RATE_LIMIT: '1' } : {}
    const server = store === 'memory'
      ? await startServer('./servers/mcp.js', env)
      : await startServer('./servers/mcp-redis.js', { ...env, REDIS_URL: redis.url, REDIS_PREFIX: limited ? 'limited:' : 'free:' })
    servers.push(server)
    pair.push({ server, ids: await createSessions(server.url, SESSIONS) })
  }
  rows.push({ store, pair })
}

const cpu = rows.map(() => [[] as number[], [] as number[]])
for (let round = 0; round <= ROUNDS; round++) {
  for (const [r, { pair }] of rows.entries()) {
    for (const [i, { server, ids }] of pair.entries()) {
      const result = await load({ name: '', server, body: CALL, sessionIds: ids, durationSec: 1.5, connections: 32, warmupSec: 0 })
      if (result.non2xx + result.errors > 0) throw new Error(`${result.non2xx + result.errors} failed requests`)
      // Round 0 warms up.
      if (round > 0) cpu[r]![i]!.push(result.cpuMicrosPerRequest)
    }
  }
}
for (const server of servers) await server.stop()
await redis.close()
console.table(rows.map(({ store }, r) => {
  const [free, limited] = cpu[r]!.map(median) as [number, number]
  return {
    store,
    'CPU µs/req, no rateLimit': Number(free.toFixed(1)),
    'CPU µs/req, rateLimit': Number(limited.toFixed(1)),
    ratio: Number((limited / free).toFixed(2))
  }
}))
