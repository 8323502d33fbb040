// Redis traffic per request type, measured: a real redis-server, one plugin instance on it
// with a client we own (so its socket writes can be counted), and MONITOR on a third
// connection recording every command. Reported per request: commands (by name) and socket
// writes per connection; a pipeline is one write, so writes on the command connection are
// the round trips a request costs (when they run one after another).
//
//   npx tsx bench/redis-round-trips.ts
import { Redis } from 'ioredis'
import type { Socket } from 'node:net'
import { buildDemo } from '../examples/demo/app.js'
import { RedisServer } from '../test/helpers/redis-server.js'

const N = 50
const server = await RedisServer.start()
const client = new Redis(server.url, { enableOfflineQueue: false, commandTimeout: 2000 })
await new Promise((resolve) => client.once('ready', resolve))

const writes = new Map<string, number>()
function countWrites (name: string, redis: Redis): void {
  const socket = (redis as unknown as { stream: Socket }).stream
  const write = socket.write.bind(socket)
  socket.write = ((...args: Parameters<Socket['write']>) => {
    writes.set(name, (writes.get(name) ?? 0) + 1)
    return write(...args)
  }) as Socket['write']
}
countWrites('command', client)

const app = await buildDemo({ redis: client, touchIntervalMs: 60_000 })
await app.listen({ port: 0, host: '127.0.0.1' })
const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/mcp`

// Commands sent by clients, and (separately) the commands scripts run inside Redis.
const commands = new Map<string, number>()
const inScripts = new Map<string, number>()
const monitor = await client.monitor()
monitor.on('monitor', (_time: string, args: string[], source: string) => {
  const table = source === 'lua' ? inScripts : commands
  const name = args[0]!.toUpperCase()
  table.set(name, (table.get(name) ?? 0) + 1)
})
await new Promise((resolve) => setTimeout(resolve, 200))

const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }
async function initialize (): Promise<string> {
  const res = await fetch(url, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'rt', version: '1' } } }) })
  await res.text()
  return res.headers.get('mcp-session-id')!
}
const headersOf = (id: string) => ({ ...JSON_HEADERS, 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' })

async function measure (name: string, run: (i: number) => Promise<void>): Promise<Record<string, unknown>> {
  await new Promise((resolve) => setTimeout(resolve, 100))
  commands.clear()
  inScripts.clear()
  writes.clear()
  for (let i = 0; i < N; i++) await run(i)
  await new Promise((resolve) => setTimeout(resolve, 300))
  const per = (table: Map<string, number>) => Object.fromEntries([...table].sort().map(([c, n]) => [c, +(n / N).toFixed(2)]))
  const total = (table: Map<string, number>) => +([...table.values()].reduce((a, b) => a + b, 0) / N).toFixed(2)
  return { request: name, commands: total(commands), byCommand: per(commands), inScripts: total(inScripts), roundTrips: +((writes.get('command') ?? 0) / N).toFixed(2) }
}

const sessions: string[] = []
const rows = []
rows.push(await measure('initialize', async () => { sessions.push(await initialize()) }))
for (const id of sessions) await fetch(url, { method: 'POST', headers: headersOf(id), body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) }).then((r) => r.text())
rows.push(await measure('ping on a known session', async (i) => {
  await fetch(url, { method: 'POST', headers: headersOf(sessions[i]!), body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }) }).then((r) => r.text())
}))
rows.push(await measure('tools/call echo on a known session', async (i) => {
  await fetch(url, { method: 'POST', headers: headersOf(sessions[i]!), body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { text: 'x' } } }) }).then((r) => r.text())
}))
rows.push(await measure('GET (open the standalone stream, primed)', async (i) => {
  const controller = new AbortController()
  const res = await fetch(url, { headers: { ...headersOf(sessions[i]!), accept: 'text/event-stream' }, signal: controller.signal })
  const reader = res.body!.getReader()
  await reader.read() // the priming event
  controller.abort()
  await reader.closed.catch(() => {})
}))

console.log(JSON.stringify(rows, null, 2))
console.log('\n| request | round trips (command connection) | commands sent | of which | run inside scripts |')
console.log('|---|---:|---:|---|---:|')
for (const row of rows) console.log(`| ${String(row.request)} | ${String(row.roundTrips)} | ${String(row.commands)} | ${Object.entries(row.byCommand as Record<string, number>).map(([c, n]) => `${c} ×${n}`).join(', ')} | ${String(row.inScripts)} |`)
// Memory per key kind (MEMORY USAGE, bytes), for the sessions above and a stream of 1,000
// progress events.
const usage = async (key: string): Promise<number> => Number(await client.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'))
const keys = await client.keys('mcp:*')
const sessionHashes = keys.filter((k) => k.endsWith('}:s'))
const perSession = (await Promise.all(sessionHashes.map(usage))).reduce((a, b) => a + b, 0) / sessionHashes.length
const index = await usage('mcp:sessions') / sessionHashes.length
const standaloneIndex = await usage('mcp:standalone') / N
const progress = (n: number): string => JSON.stringify({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'tok-1', progress: n, total: 1000, message: `step ${n}` } })
const { RedisEventStore } = await import('../lib/stores/redis-event-store.js')
const events = new RedisEventStore(client, { prefix: 'mem:' })
for (let i = 1; i <= 1000; i++) await events.append('memory-probe', 'p0', progress(i))
const stream = await usage('mem:{memory-probe}:e:p0')
console.log('\n| key | bytes (MEMORY USAGE) |')
console.log('|---|---:|')
console.log(`| session record (hash, per session) | ${Math.round(perSession)} |`)
console.log(`| session index entry (sorted set, per session) | ${Math.round(index)} |`)
console.log(`| standalone index entry (set, per session with a GET stream) | ${Math.round(standaloneIndex)} |`)
console.log(`| event history, per 1,000 progress events (~${progress(500).length} B of JSON each) | ${stream} |`)
monitor.disconnect()
await app.close()
await client.quit()
await server.close()
