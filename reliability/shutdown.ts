// Shutdown under load: keep-alive clients with calls in flight (echo and a 300 ms `slow`
// call, alternately) when app.close() is called, which then send nothing more: their
// connections stay in their agents' pools. Measured: how long close takes (it should
// end when the drain does, not when the clients' pooled connections time out), and what the
// calls in flight were answered.
import http from 'node:http'
import { startServer } from './child.js'
import { exchange, openSession, sleep } from './http.js'

export interface ShutdownResult {
  clients: number
  closeMs: number
  /** close() had not ended after this long (the server was killed). */
  gaveUpAfterSec?: number
  /** Calls sent before close began and answered: by status (0: no answer, connection closed). */
  inFlightAtClose: Record<string, number>
  callsBeforeClose: number
  crashed: boolean
}

export async function shutdownUnderLoad ({ clients = 20, slowMs = 300, loadSec = 3, limitSec = 120 }: { clients?: number, slowMs?: number, loadSec?: number, limitSec?: number } = {}): Promise<ShutdownResult> {
  const server = await startServer()
  const agents = Array.from({ length: clients }, () => new http.Agent({ keepAlive: true, maxSockets: 1 }))
  const sessions = await Promise.all(agents.map((agent) => openSession(server.url, { agent })))
  let closingAt = Number.POSITIVE_INFINITY
  const inFlightAtClose: Record<string, number> = {}
  let callsBeforeClose = 0
  const state = { stop: false }
  const loops = agents.map(async (agent, i) => {
    // Once close has begun, a client sends nothing new: its connection waits in the agent's
    // pool, as a real client's does between calls.
    for (let n = 1; !state.stop && Date.now() < closingAt; n++) {
      const sentAt = Date.now()
      const params = n % 2 === 0 ? { name: 'slow', arguments: { ms: slowMs } } : { name: 'echo', arguments: { text: `c${i} ${n}` } }
      const answer = await exchange(server.url, 'POST', sessions[i]!.headers, JSON.stringify({ jsonrpc: '2.0', id: n, method: 'tools/call', params }), { agent, timeoutMs: limitSec * 1000 })
      if (sentAt < closingAt) {
        callsBeforeClose++
        if (Date.now() >= closingAt) inFlightAtClose[answer.status] = (inFlightAtClose[answer.status] ?? 0) + 1
      }
      if (answer.status === 0 || answer.status === 503) break
    }
  })
  await sleep(loadSec * 1000)
  closingAt = Date.now()
  const closed = server.close()
  const limit = sleep(limitSec * 1000).then(() => undefined)
  const closeMs = await Promise.race([closed, limit])
  state.stop = true
  if (closeMs === undefined) await server.kill()
  for (const agent of agents) agent.destroy()
  await Promise.all(loops)
  return {
    clients,
    closeMs: closeMs === undefined ? Number.NaN : Math.round(closeMs),
    ...(closeMs === undefined ? { gaveUpAfterSec: limitSec } : {}),
    inFlightAtClose,
    callsBeforeClose,
    crashed: server.exit !== undefined && server.exit.code !== 0
  }
}
