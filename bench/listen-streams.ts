// 2026-07-28 listen streams at scale: one process holding 10,000 concurrent
// `subscriptions/listen` streams (toolsListChanged), its memory (RSS, heap after GC) with them
// open and the growth per stream over the idle server, and the latency of a
// `tools/list_changed` fanned out to all of them (from the moment the server is asked until
// each client has it). The plugin (memory store, no sessions: a listen needs none), then the
// official v2 server (createMcpHandler: bench/servers/sdk-v2.ts) the same way, one after the
// other (never both at once: each has the machine to itself).
//
//   node dist/bench/listen-streams.js [--quick] [--streams=10000] [--fanouts=10] [--no-sdk]
// (--quick: 3 fan-outs)
import http from 'node:http'
import { mkdirSync, writeFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { allArrived, fanoutLatency, machine, numericOption, startServer, type ServerHandle } from './harness.js'
import type { ListenStreamsRun } from './modern-report.js'

const quick = process.argv.includes('--quick')
const STREAMS = numericOption('streams', 10_000)
const FANOUTS = numericOption('fanouts', quick ? 3 : 10)
const MODERN = '2026-07-28'

/** The listen request of a conforming 2026-07-28 client. */
function listenBody (id: number): string {
  return JSON.stringify({
    jsonrpc: '2.0',
    id,
    method: 'subscriptions/listen',
    params: {
      notifications: { toolsListChanged: true },
      _meta: {
        'io.modelcontextprotocol/protocolVersion': MODERN,
        'io.modelcontextprotocol/clientCapabilities': {},
        'io.modelcontextprotocol/clientInfo': { name: 'bench', version: '1.0.0' }
      }
    }
  })
}
const HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': MODERN, 'mcp-method': 'subscriptions/listen' }

/** Open one listen stream; resolves once its acknowledgement arrived. */
function openListen (url: string, id: number, onData: (text: string) => void): Promise<http.ClientRequest> {
  return new Promise((resolve, reject) => {
    const body = listenBody(id)
    const request = http.request(url, { method: 'POST', agent: false, headers: { ...HEADERS, 'content-length': Buffer.byteLength(body) } }, (response) => {
      if (response.statusCode !== 200) return reject(new Error(`listen answered ${response.statusCode}`))
      response.setEncoding('utf8')
      let acknowledged = false
      response.on('data', (text: string) => {
        if (!acknowledged && text.includes('notifications/subscriptions/acknowledged')) {
          acknowledged = true
          resolve(request)
        }
        onData(text)
      })
      response.on('end', () => { if (!acknowledged) reject(new Error('listen stream ended before its acknowledgement')) })
    })
    request.on('error', reject)
    request.end(body)
  })
}

async function measure (name: string, start: () => Promise<ServerHandle>): Promise<{ memory: ListenStreamsRun['memory'][number], fanout: ListenStreamsRun['fanout'] }> {
  const server = await start()
  // A few requests first, so that the idle figure includes what the first requests allocate.
  for (let i = 0; i < 20; i++) (await openListen(server.url, -1 - i, () => {})).destroy()
  await new Promise((resolve) => setTimeout(resolve, 200))
  const idle = await server.heap()
  let fanout = -1
  let started = 0
  const arrived: number[][] = Array.from({ length: FANOUTS }, () => [])
  const streams: http.ClientRequest[] = []
  const opening = performance.now()
  for (let i = 0; i < STREAMS; i += 500) {
    streams.push(...await Promise.all(Array.from({ length: Math.min(500, STREAMS - i) }, (_, k) => openListen(server.url, i + k, (text) => {
      if (fanout >= 0 && text.includes('notifications/tools/list_changed')) arrived[fanout]!.push(performance.now() - started)
    }))))
  }
  const openSec = Number(((performance.now() - opening) / 1000).toFixed(1))
  const open = await server.heap()
  console.log(`${name}: ${STREAMS.toLocaleString('en')} listen streams opened in ${openSec} s`)
  const fanouts = []
  for (fanout = 0; fanout < FANOUTS; fanout++) {
    const done = allArrived(arrived[fanout]!, STREAMS, `${name}, fan-out ${fanout}`)
    started = performance.now()
    server.child.send({ type: 'broadcast' })
    await done
    fanouts.push({ server: name, fanout: fanout + 1, ...fanoutLatency(arrived[fanout]!) })
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
  for (const stream of streams) stream.destroy()
  await server.stop()
  return {
    memory: {
      server: name,
      streams: STREAMS,
      rssMiB: Math.round(open.rss / 2 ** 20),
      heapMiB: Math.round(open.heapUsed / 2 ** 20),
      heapPerStreamBytes: Math.round((open.heapUsed - idle.heapUsed) / STREAMS),
      rssPerStreamBytes: Math.round((open.rss - idle.rss) / STREAMS),
      openSec
    },
    fanout: fanouts
  }
}

console.log(`listen streams benchmark: ${STREAMS.toLocaleString('en')} subscriptions/listen streams, ${FANOUTS} fan-outs`)
console.log(machine())
const room = String(STREAMS + 100)
const measured = [await measure('plugin', () => startServer('./servers/mcp-modern.js', { MAX_SUBSCRIPTIONS: room }))]
if (!process.argv.includes('--no-sdk')) measured.push(await measure('official v2 server', () => startServer('./servers/sdk-v2.js', { SDK_V2_MAX_SUBSCRIPTIONS: room })))
const run: ListenStreamsRun = { date: new Date().toISOString(), machine: machine(), streams: STREAMS, memory: measured.map((m) => m.memory), fanout: measured.flatMap((m) => m.fanout) }
console.table(run.memory)
console.table(run.fanout)
const out = new URL('./results/', import.meta.url.replace('/dist/bench/', '/bench/'))
mkdirSync(out, { recursive: true })
const file = new URL(`listen-streams${quick ? '-quick' : ''}.json`, out)
writeFileSync(file, JSON.stringify(run, null, 2) + '\n')
console.log(`results written to ${file.pathname}`)
