// SSE at scale: one plugin process (memory store) holding 10,000 concurrent GET streams, its
// memory (RSS, heap) with them open, and the latency of a notification fanned out to all of
// them (tools/list_changed, from the moment the server is asked until each client has it).
//
//   node dist/bench/sse-streams.js [--quick] [--streams=10000] [--fanouts=10]
// (`npm run bench` runs it after the session lookup benchmark; --quick: 3 fan-outs)
import http from 'node:http'
import { mkdirSync, writeFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { allArrived, createSessions, fanoutLatency, machine, numericOption, startServer } from './harness.js'

const quick = process.argv.includes('--quick')
const STREAMS = numericOption('streams', 10_000)
const FANOUTS = numericOption('fanouts', quick ? 3 : 10)

interface Stream { request: http.ClientRequest }

/** Open one GET stream; resolves once its headers arrived (200). */
function openStream (url: string, sessionId: string, onData: (text: string) => void): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: 'GET', agent: false, headers: { accept: 'text/event-stream', 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' } }, (response) => {
      if (response.statusCode !== 200) return reject(new Error(`GET answered ${response.statusCode}`))
      response.setEncoding('utf8')
      response.on('data', onData)
      resolve({ request })
    })
    request.on('error', reject)
    request.end()
  })
}

console.log(`SSE streams benchmark: ${STREAMS.toLocaleString('en')} GET streams, ${FANOUTS} fan-outs`)
console.log(machine())
const setupStarted = performance.now()
const server = await startServer('./servers/mcp.js')
const ids = await createSessions(server.url, STREAMS)
const withSessions = await server.heap()

let fanout = -1
let started = 0
const arrived: number[][] = Array.from({ length: FANOUTS }, () => [])
const streams: Stream[] = []
for (let i = 0; i < ids.length; i += 500) {
  streams.push(...await Promise.all(ids.slice(i, i + 500).map((id) => openStream(server.url, id, (text) => {
    if (fanout >= 0 && text.includes('list_changed')) arrived[fanout]!.push(performance.now() - started)
  }))))
}
const withStreams = await server.heap()
console.log(`${STREAMS.toLocaleString('en')} sessions created and their GET streams opened in ${((performance.now() - setupStarted) / 1000).toFixed(0)} s`)
const counts = await (await fetch(server.url.replace('/mcp', '/health'))).json() as { streams: number }
if (counts.streams !== STREAMS) throw new Error(`the server holds ${counts.streams} streams, not ${STREAMS}`)

const rows = []
for (fanout = 0; fanout < FANOUTS; fanout++) {
  const done = allArrived(arrived[fanout]!, STREAMS, `fan-out ${fanout}`)
  started = performance.now()
  server.child.send({ type: 'broadcast' })
  await done
  rows.push({ fanout: fanout + 1, ...fanoutLatency(arrived[fanout]!) })
  await new Promise((resolve) => setTimeout(resolve, 500))
}
console.table(rows)
const memory = {
  streams: STREAMS,
  rssMiB: Math.round(withStreams.rss / 2 ** 20),
  heapMiB: Math.round(withStreams.heapUsed / 2 ** 20),
  heapPerStreamBytes: Math.round((withStreams.heapUsed - withSessions.heapUsed) / STREAMS),
  rssPerStreamBytes: Math.round((withStreams.rss - withSessions.rss) / STREAMS)
}
console.table([memory])

for (const stream of streams) stream.request.destroy()
await server.stop()
const out = new URL('./results/', import.meta.url.replace('/dist/bench/', '/bench/'))
mkdirSync(out, { recursive: true })
const file = new URL(`sse-streams${quick ? '-quick' : ''}.json`, out)
writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), machine: machine(), memory, fanout: rows }, null, 2) + '\n')
console.log(`results written to ${file.pathname}`)
