// Slowloris: sockets that send their headers, or their body, one byte a second. With the
// demo's settings (requestTimeout and headersTimeout 10 s; Node checks them every 30 s)
// they are dropped; meanwhile a normal client keeps being served.
import net from 'node:net'
import { startServer } from './child.js'
import { echo, openSession, percentile, sleep } from './http.js'

export interface DripResult {
  sockets: number
  dropped: number
  /** Seconds from the first byte to the server closing the socket. */
  p50Sec: number
  maxSec: number
}

export interface SlowlorisResult {
  limitSec: number
  headerDrippers: DripResult
  bodyDrippers: DripResult
  normal: { checks: number, failures: number, p99Ms: number }
  crashed: boolean
}

function drip (port: number, head: string, tail: string): { closedAfter: Promise<number | undefined>, stop: () => void } {
  const socket = net.connect(port, '127.0.0.1')
  socket.on('error', () => {})
  socket.on('data', () => {})
  const started = performance.now()
  let timer: NodeJS.Timeout | undefined
  let closed = false
  const closedAfter = new Promise<number | undefined>((resolve) => {
    socket.once('close', () => { closed = true; clearInterval(timer); resolve((performance.now() - started) / 1000) })
    socket.once('connect', () => {
      socket.write(head)
      let i = 0
      timer = setInterval(() => { if (!closed) socket.write(tail[i++ % tail.length]!) }, 1000)
    })
  })
  return { closedAfter, stop: () => { clearInterval(timer); socket.destroy() } }
}

export async function slowloris ({ sockets = 50, limitSec = 60 }: { sockets?: number, limitSec?: number } = {}): Promise<SlowlorisResult> {
  const server = await startServer()
  const port = Number(server.url.port)
  const half = Math.floor(sockets / 2)
  const headers = Array.from({ length: half }, () => drip(port, 'POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n', 'X-Drip: abcdefghijklmnopqrstuvwxyz\r\n'))
  const body = '{"jsonrpc":"2.0","id":1,"method":"ping"}'.padEnd(100_000, ' ')
  const bodies = Array.from({ length: sockets - half }, () => drip(port, `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: ${body.length}\r\n\r\n`, body))
  const deadline = Date.now() + limitSec * 1000
  const outcome = (list: typeof headers) => Promise.all(list.map((d) => Promise.race([d.closedAfter, sleep(Math.max(0, deadline - Date.now())).then(() => undefined)])))
  const normal = { checks: 0, failures: 0, latencies: [] as number[] }
  const state = { done: false }
  const client = (async () => {
    for (let n = 1; !state.done; n++) {
      const started = performance.now()
      try {
        const session = await openSession(server.url, { timeoutMs: 5000 })
        if (!(await echo(server.url, session, n, `normal ${n}`, { timeoutMs: 5000 })).ok) normal.failures++
      } catch {
        normal.failures++
      }
      normal.checks++
      normal.latencies.push(performance.now() - started)
      await sleep(1000)
    }
  })()
  const [headerTimes, bodyTimes] = await Promise.all([outcome(headers), outcome(bodies)])
  state.done = true
  await client
  for (const d of [...headers, ...bodies]) d.stop()
  const summarise = (times: Array<number | undefined>): DripResult => {
    const dropped = times.filter((t): t is number => t !== undefined)
    return { sockets: times.length, dropped: dropped.length, p50Sec: Number(percentile(dropped, 50).toFixed(1)), maxSec: Number(percentile(dropped, 100).toFixed(1)) }
  }
  const crashed = server.exit !== undefined
  await server.kill()
  return {
    limitSec,
    headerDrippers: summarise(headerTimes),
    bodyDrippers: summarise(bodyTimes),
    normal: { checks: normal.checks, failures: normal.failures, p99Ms: Math.round(percentile(normal.latencies, 99)) },
    crashed
  }
}
