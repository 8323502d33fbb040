import { fork, type ChildProcess } from 'node:child_process'
import os from 'node:os'
import autocannon from 'autocannon'

export interface ServerHandle {
  readonly url: string
  readonly child: ChildProcess
  cpuMicros (): Promise<number>
  heap (): Promise<{ heapUsed: number, rss: number }>
  /** Profile the server's CPU between these two calls (written to a .cpuprofile file). */
  startProfile (): Promise<void>
  stopProfile (): Promise<string>
  stop (): Promise<void>
}

function ask<T> (child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve) => {
    const onMessage = (message: { type: string } & T) => {
      if (message.type === type) {
        child.off('message', onMessage)
        resolve(message)
      }
    }
    child.on('message', onMessage)
    child.send({ type })
  })
}

/** Start one server script (compiled, in dist/) in its own process. */
export async function startServer (script: string, env: Record<string, string> = {}): Promise<ServerHandle> {
  const child = fork(new URL(script, import.meta.url), [], { execArgv: ['--expose-gc'], env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const { port } = await new Promise<{ port: number }>((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)))
    child.on('message', (message: { type: string, port: number }) => { if (message.type === 'ready') resolve(message) })
  })
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    child,
    cpuMicros: async () => (await ask<{ micros: number }>(child, 'cpu')).micros,
    heap: () => ask<{ heapUsed: number, rss: number }>(child, 'memory'),
    startProfile: async () => { await ask(child, 'profile-start') },
    stopProfile: async () => (await ask<{ file: string }>(child, 'profile-stop')).file,
    stop: () => new Promise((resolve) => {
      child.once('exit', () => resolve())
      child.send({ type: 'stop' })
      setTimeout(() => child.kill('SIGKILL'), 5000).unref()
    })
  }
}

export const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }

/** Create `count` sessions through real `initialize` calls, `concurrency` at a time. */
export async function createSessions (url: string, count: number, concurrency = 64): Promise<string[]> {
  const ids: string[] = new Array(count)
  let next = 0
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1.0.0' } } })
  const initialized = JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) {
      const i = next++
      const res = await fetch(url, { method: 'POST', headers: JSON_HEADERS, body })
      const id = res.headers.get('mcp-session-id')
      await res.arrayBuffer()
      if (res.status !== 200 || id === null) throw new Error(`initialize failed: ${res.status}`)
      const ack = await fetch(url, { method: 'POST', headers: { ...JSON_HEADERS, 'mcp-session-id': id, 'mcp-protocol-version': '2025-06-18' }, body: initialized })
      await ack.arrayBuffer()
      if (ack.status !== 202) throw new Error(`initialized failed: ${ack.status}`)
      ids[i] = id
    }
  }))
  return ids
}

export interface LoadResult {
  name: string
  requests: number
  rps: number
  p50: number
  p99: number
  cpuMicrosPerRequest: number
  non2xx: number
  errors: number
}

export interface LoadOptions {
  name: string
  server: ServerHandle
  body: string
  /** Session ids rotated over, one per request (the bare route receives and ignores them too). */
  sessionIds: string[]
  durationSec: number
  connections: number
  warmupSec: number
}

function cannon (url: string, options: LoadOptions, duration: number): Promise<autocannon.Result> {
  let i = 0
  const ids = options.sessionIds
  return autocannon({
    url,
    method: 'POST',
    connections: options.connections,
    duration,
    headers: { ...JSON_HEADERS, 'mcp-protocol-version': '2025-06-18' },
    body: options.body,
    // Every request names another session, so lookups hit the whole table, not one hot key.
    // No ids: no session header at all (initialize).
    requests: ids.length === 0
      ? undefined
      : [{
          setupRequest: (request) => {
            request.headers = { ...request.headers, 'mcp-session-id': ids[i++ % ids.length]! }
            return request
          }
        }]
  })
}

/** Warm up, then measure req/s, latency and the server's CPU time per request. */
export async function load (options: LoadOptions): Promise<LoadResult> {
  if (options.warmupSec > 0) await cannon(options.server.url, options, options.warmupSec)
  const cpuBefore = await options.server.cpuMicros()
  const result = await cannon(options.server.url, options, options.durationSec)
  const cpuAfter = await options.server.cpuMicros()
  const requests = result.requests.total
  return {
    name: options.name,
    requests,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpuMicrosPerRequest: requests === 0 ? 0 : (cpuAfter - cpuBefore) / requests,
    non2xx: result.non2xx,
    errors: result.errors
  }
}

export function machine (): Record<string, unknown> {
  return {
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    cpus: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown'}`,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    loadavg: os.loadavg().map((l) => l.toFixed(2)).join(' ')
  }
}
