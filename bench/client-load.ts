// A load generator built on fastify-mcp-streamable/client: real MCP traffic (sessions opened
// by initialize, ids kept, 404s recovered, or 2026-07-28 envelopes) instead of one canned
// body. autocannon stays the default for the server benchmarks (it costs the least CPU per
// request); this is for scenarios a canned body cannot drive, and bench/client.ts prices it.
import http from 'node:http'
import { connect, type EraMode, type McpClient } from '../lib/client/index.js'

export interface ClientLoadOptions {
  /** Clients, each with its own session (2025) and connection; one call in flight each. */
  clients: number
  /** Calls in all. */
  amount: number
  mode?: EraMode
  tool?: string
  args?: Record<string, unknown>
}

export interface ClientLoadResult {
  calls: number
  errors: number
  durationMs: number
  /** Latency percentiles in ms. */
  p50: number
  p99: number
}

/** Open `clients` clients on `url` (each on one keep-alive socket). Close them with `closeAll`. */
export async function openClients (url: URL, clients: number, mode: EraMode = 'legacy'): Promise<McpClient[]> {
  return Promise.all(Array.from({ length: clients }, () => connect(url, { mode, openStream: false, agent: new http.Agent({ keepAlive: true, maxSockets: 1 }) })))
}

export async function closeAll (clients: McpClient[]): Promise<void> {
  await Promise.all(clients.map((client) => client.close()))
}

/** Send `amount` tool calls through the clients, one in flight per client. */
export async function clientLoad (clients: McpClient[], options: Pick<ClientLoadOptions, 'amount' | 'tool' | 'args'>): Promise<ClientLoadResult> {
  const tool = options.tool ?? 'echo'
  const args = options.args ?? { text: 'hello' }
  const latencies: number[] = []
  let errors = 0
  let next = 0
  const started = performance.now()
  await Promise.all(clients.map(async (client) => {
    while (next++ < options.amount) {
      const t0 = performance.now()
      try {
        const result = await client.callTool(tool, args)
        if (result.isError === true) errors++
      } catch {
        errors++
      }
      latencies.push(performance.now() - t0)
    }
  }))
  const durationMs = performance.now() - started
  latencies.sort((a, b) => a - b)
  const at = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0
  return { calls: latencies.length, errors, durationMs, p50: at(0.5), p99: at(0.99) }
}
