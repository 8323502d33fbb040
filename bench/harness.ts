import { fork, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import os from 'node:os'
import autocannon from 'autocannon'

export interface ServerHandle {
  readonly url: string
  readonly child: ChildProcess
  cpuMicros (): Promise<number>
  heap (): Promise<{ heapUsed: number, rss: number, arrayBuffers: number }>
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
    heap: () => ask<{ heapUsed: number, rss: number, arrayBuffers: number }>(child, 'memory'),
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

/**
 * Create `count` sessions through real `initialize` + `notifications/initialized` calls, as
 * fast as autocannon sends them (100,000 sessions in well under a minute).
 */
export async function createSessions (url: string, count: number, connections = 32): Promise<string[]> {
  const ids: string[] = []
  const unpaired = new Set<string>()
  const failures: string[] = []
  const initialize = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1.0.0' } } })
  const initialized = JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })
  while (ids.length < count && failures.length === 0) {
    const missing = count - ids.length
    await autocannon({
      url,
      connections: Math.min(connections, missing),
      amount: missing * 2,
      method: 'POST',
      headers: JSON_HEADERS,
      requests: [
        {
          body: initialize,
          onResponse: (status, _body, context, headers) => {
            const id = headers?.['mcp-session-id']
            if (status !== 200 || typeof id !== 'string') failures.push(`initialize: ${status}`)
            else unpaired.add(id)
            Object.assign(context, { id })
          }
        },
        {
          setupRequest: (request, context) => ({ ...request, headers: { ...request.headers, 'mcp-session-id': (context as { id: string }).id, 'mcp-protocol-version': '2025-06-18' }, body: initialized }),
          onResponse: (status, _body, context) => {
            const { id } = context as { id: string }
            if (status !== 202) failures.push(`initialized: ${status}`)
            else if (unpaired.delete(id)) ids.push(id)
          }
        }
      ]
    })
  }
  // The run stops after `amount` requests, so a few connections end on an initialize: end
  // those sessions, so that exactly `count` stay open.
  for (const id of unpaired) {
    await fetch(url, { method: 'DELETE', headers: { 'mcp-session-id': id, 'mcp-protocol-version': '2025-06-18' } })
  }
  if (failures.length > 0) throw new Error(`created ${ids.length} of ${count} sessions; failures: ${failures.slice(0, 5).join(', ')}`)
  return ids.slice(0, count)
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
  /** Share of the machine's CPU time the hypervisor gave to other guests during the slice (%). */
  stealPct: number
  /** The attempt not kept, when the slice was run twice for steal. */
  discarded?: LoadResult
}

/** Jiffies of CPU time the hypervisor gave to others (Linux `steal`), and the total. */
export function cpuTimes (): { steal: number, total: number } {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number)
    return { steal: fields[7] ?? 0, total: fields.reduce((a, b) => a + b, 0) }
  } catch {
    return { steal: 0, total: 0 }
  }
}

export function stealBetween (before: { steal: number, total: number }, after: { steal: number, total: number }): number {
  return after.total > before.total ? Number(((100 * (after.steal - before.steal)) / (after.total - before.total)).toFixed(1)) : 0
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

/** Where the rotation over each list of session ids stands: a slice carries on from the last one. */
const cursors = new WeakMap<string[], number>()

/** Load for `duration` seconds, or until `amount` requests were sent. */
function cannon (url: string, options: Pick<LoadOptions, 'body' | 'sessionIds' | 'connections'>, until: { duration: number } | { amount: number }): Promise<autocannon.Result> {
  const ids = options.sessionIds
  let i = cursors.get(ids) ?? 0
  const run = autocannon({
    url,
    method: 'POST',
    connections: options.connections,
    ...until,
    headers: { ...JSON_HEADERS, 'mcp-protocol-version': '2025-06-18' },
    body: options.body,
    // Every request names another session, so lookups hit the whole table, not one hot key
    // (and the next slice over the same sessions carries on where this one stopped).
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
  return run.then((result) => {
    cursors.set(ids, i % Math.max(ids.length, 1))
    return result
  })
}

/** Send `body` once for each session, in turn (to fill a cache, say). */
export async function visitAll (server: ServerHandle, body: string, sessionIds: string[]): Promise<void> {
  const result = await cannon(server.url, { body, sessionIds, connections: 32 }, { amount: sessionIds.length })
  if (result.non2xx + result.errors > 0) throw new Error(`${result.non2xx + result.errors} failed requests visiting every session`)
}

/** Warm up, then measure req/s, latency and the server's CPU time per request. */
export async function load (options: LoadOptions): Promise<LoadResult> {
  if (options.warmupSec > 0) await cannon(options.server.url, options, { duration: options.warmupSec })
  return measured(options.name, options.server, () => cannon(options.server.url, options, { duration: options.durationSec }))
}

/** Run one load and measure it: req/s, latency, the server's CPU time per request, the machine's steal. */
export async function measured (name: string, server: ServerHandle, run: () => Promise<autocannon.Result>): Promise<LoadResult> {
  const cpuBefore = await server.cpuMicros()
  const machineBefore = cpuTimes()
  const result = await run()
  const machineAfter = cpuTimes()
  const cpuAfter = await server.cpuMicros()
  const requests = result.requests.total
  return {
    name,
    requests,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpuMicrosPerRequest: requests === 0 ? 0 : (cpuAfter - cpuBefore) / requests,
    non2xx: result.non2xx,
    errors: result.errors,
    stealPct: stealBetween(machineBefore, machineAfter)
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

/** Resolves once `arrived` holds `count` entries; rejects after a minute, saying how many came. */
export function allArrived (arrived: readonly number[], count: number, label: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      clearInterval(check)
      reject(new Error(`${label}: ${arrived.length} of ${count} arrived`))
    }, 60_000)
    const check = setInterval(() => {
      if (arrived.length >= count) { clearInterval(check); clearTimeout(timer); resolve() }
    }, 5)
  })
}

/** The latency row of one fan-out: p50, p99 and max of the arrival delays, in ms. */
export function fanoutLatency (delays: readonly number[]): { 'p50 ms': number, 'p99 ms': number, 'max ms': number } {
  const sorted = [...delays].sort((a, b) => a - b)
  const at = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!
  return { 'p50 ms': Number(at(0.5).toFixed(1)), 'p99 ms': Number(at(0.99).toFixed(1)), 'max ms': Number(sorted.at(-1)!.toFixed(1)) }
}

/** The servers one benchmark starts, stopped together at its end. */
export class ServerPool {
  readonly #servers: ServerHandle[] = []

  readonly start = async (script: string, env: Record<string, string> = {}): Promise<ServerHandle> => {
    const server = await startServer(script, env)
    this.#servers.push(server)
    return server
  }

  async stopAll (): Promise<void> {
    for (const server of this.#servers) await server.stop()
  }
}

/** A numeric command-line option `--name=value`, or the fallback. */
export function numericOption (name: string, fallback: number): number {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`))
  return arg === undefined ? fallback : Number(arg.slice(name.length + 3))
}
