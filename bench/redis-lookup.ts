// What one session lookup on Redis costs, client and server side: HGETALL of a session record
// (the store's whole hot path), 32 lookups in flight, each started from its own turn of the
// event loop as requests on different sockets are. For ioredis 5 (the plugin's dependency) and
// ioredis 6, each sending every command on its own and corked for the turn (what the store does).
// Reports the Node process's CPU and redis-server's CPU per lookup; medians of 5 interleaved
// rounds, each variant in a process of its own (two ioredis versions in one process share
// dependencies and JIT feedback, which skews both).
//
//   npm run build && node dist/bench/redis-lookup.js
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Redis as Redis5 } from 'ioredis'
import { Redis as Redis6 } from 'ioredis6'
import { corkForTurn } from '../lib/stores/redis-connection.js'
import { RedisServer } from '../test/helpers/redis-server.js'
import { median } from './targets.js'

const LOOKUPS = 40_000
const IN_FLIGHT = 32
const SESSIONS = 10_000

function cpuMicrosOf (pid: number): number {
  // utime and stime, in clock ticks (100 per second on Linux), fields 14 and 15 of /proc/<pid>/stat.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10_000
}

const ids = Array.from({ length: SESSIONS }, (_, i) => `bench-session-${i.toString().padStart(8, '0')}-xxxxxxxxxxxx`)
const key = (id: string): string => `bench:{${id}}:s`
async function seed (url: string): Promise<void> {
  const seed = new Redis5(url)
  const now = Date.now()
  const record = { protocolVersion: '2025-06-18', clientInfo: { name: 'bench', version: '1.0.0' }, clientCapabilities: {}, serverCapabilities: { tools: { listChanged: true } }, createdAt: now, lastActiveAt: now, initialized: true }
  const pipeline = seed.pipeline()
  for (const id of ids) pipeline.hset(key(id), ...Object.entries({ id, ...record }).flatMap(([field, value]) => [field, JSON.stringify(value)]))
  await pipeline.exec()
  seed.disconnect()
}

interface Client { hgetall (key: string): Promise<Record<string, string>>, disconnect (): void, once (event: 'ready', listener: () => void): unknown }
const variants: Array<[string, (url: string) => Client, boolean]> = [
  ['ioredis 5', (url) => new Redis5(url) as unknown as Client, false],
  ['ioredis 5, corked per turn', (url) => new Redis5(url) as unknown as Client, true],
  ['ioredis 6 (RESP2)', (url) => new Redis6(url, { protocol: 2 }) as unknown as Client, false],
  ['ioredis 6 (RESP2), corked per turn', (url) => new Redis6(url, { protocol: 2 }) as unknown as Client, true]
]

async function measure (client: Client, cork: boolean, redisPid: number): Promise<{ node: number, redis: number }> {
  let started = 0
  const lookup = (id: string): Promise<Record<string, string>> => {
    // What the store does (ioredis 6's client has the same socket).
    if (cork) corkForTurn(client as unknown as Redis5)
    return client.hgetall(key(id))
  }
  const redisBefore = cpuMicrosOf(redisPid)
  const before = process.cpuUsage()
  await Promise.all(Array.from({ length: IN_FLIGHT }, () => new Promise<void>((resolve) => {
    const next = (): void => {
      if (started >= LOOKUPS) return resolve()
      lookup(ids[started++ % SESSIONS]!).then(() => setImmediate(next), () => setImmediate(next))
    }
    next()
  })))
  const used = process.cpuUsage(before)
  return { node: (used.user + used.system) / LOOKUPS, redis: (cpuMicrosOf(redisPid) - redisBefore) / LOOKUPS }
}

// In a child: one variant, a warm-up pass, then the measured one, printed as JSON.
const [variantArg, url, redisPid] = process.argv.slice(2)
if (variantArg !== undefined) {
  const [, create, cork] = variants[Number(variantArg)]!
  const client = create(url!)
  await new Promise<void>((resolve) => client.once('ready', resolve))
  await measure(client, cork, Number(redisPid))
  console.log(JSON.stringify(await measure(client, cork, Number(redisPid))))
  client.disconnect()
} else {
  const server = await RedisServer.start()
  await seed(server.url)
  const results = variants.map(() => ({ node: [] as number[], redis: [] as number[] }))
  for (let round = 0; round < 5; round++) {
    variants.forEach((_, v) => {
      const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), String(v), server.url, String(server.pid)], { encoding: 'utf8' })
      const { node, redis } = JSON.parse(out) as { node: number, redis: number }
      results[v]!.node.push(node)
      results[v]!.redis.push(redis)
    })
  }
  await server.stop()
  const baseline = median(results[0]!.node)
  console.table(variants.map(([name], v) => ({
    client: name,
    'Node µs/lookup': Number(median(results[v]!.node).toFixed(1)),
    'redis-server µs/lookup': Number(median(results[v]!.redis).toFixed(1)),
    'Node ÷ ioredis 5': Number((median(results[v]!.node) / baseline).toFixed(2))
  })))
}
