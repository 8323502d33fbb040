// Instructions per `tools/call` of each client, counted by callgrind: load-independent, so
// it holds on a busy machine where CPU time per call does not. Each client runs alone in a
// process under valgrind (the demo server runs outside it); two runs of different lengths
// cancel start-up: (instructions(long) - instructions(short)) / (long - short) calls.
// The JIT runs under valgrind too (node's own code, interpreted and compiled, is counted).
//
//   npm run build && node dist/bench/client-callgrind.js [short, default 200] [long, default 1200] [clients, default sdk,ours-2025,ours-2026]
//   (one client, internal: node dist/bench/client-callgrind.js --one ours-2025|ours-2026|sdk URL CALLS)
import { execFileSync, fork } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { connect } from '../lib/client/index.js'

const KINDS = ['sdk', 'ours-2025', 'ours-2026'] as const
type Kind = typeof KINDS[number]

/** One client making `calls` sequential calls (after 50 to warm up), then exiting. */
async function one (kind: Kind, url: URL, calls: number): Promise<void> {
  let call: () => Promise<unknown>
  let close: () => Promise<void>
  if (kind === 'sdk') {
    const client = new Client({ name: 'bench', version: '1.0.0' })
    await client.connect(new StreamableHTTPClientTransport(url))
    call = () => client.callTool({ name: 'echo', arguments: { text: 'hello' } })
    close = () => client.close()
  } else {
    const client = await connect(url, { mode: kind === 'ours-2025' ? 'legacy' : 'auto', openStream: false })
    call = () => client.callTool('echo', { text: 'hello' })
    close = () => client.close()
  }
  for (let i = 0; i < 50 + calls; i++) await call()
  await close()
}

function instructions (kind: Kind, url: URL, calls: number): number {
  const dir = mkdtempSync(join(tmpdir(), 'client-callgrind-'))
  try {
    execFileSync('valgrind', ['--tool=callgrind', `--callgrind-out-file=${join(dir, 'out.%p')}`, process.execPath, fileURLToPath(import.meta.url), '--one', kind, url.href, String(calls)], { stdio: ['ignore', 'ignore', 'pipe'] })
    let total = 0
    for (const file of readdirSync(dir)) {
      const summary = /^summary: (\d+)/m.exec(readFileSync(join(dir, file), 'utf8'))
      total += Number(summary?.[1] ?? 0)
    }
    return total
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[2] === '--one') {
  await one(process.argv[3] as Kind, new URL(process.argv[4]!), Number(process.argv[5]))
  process.exit(0)
}
const SHORT = Number(process.argv[2] ?? 200)
const LONG = Number(process.argv[3] ?? 1200)
const ONLY = (process.argv[4] ?? KINDS.join(',')).split(',') as Kind[]
const server = fork(new URL('./servers/mcp.js', import.meta.url), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
const port = await new Promise<number>((resolve) => server.on('message', (m: { type: string, port: number }) => { if (m.type === 'ready') resolve(m.port) }))
const url = new URL(`http://127.0.0.1:${port}/mcp`)
const perCall: Record<string, number> = {}
for (const kind of ONLY) {
  const short = instructions(kind, url, SHORT)
  const long = instructions(kind, url, LONG)
  perCall[kind] = (long - short) / (LONG - SHORT)
  console.log(`${kind}: ${short} instructions for ${SHORT} calls, ${long} for ${LONG}: ${Math.round(perCall[kind]!)} per call`)
}
if (ONLY.length === KINDS.length) {
  console.log(`\ninstructions per tools/call (callgrind, sequential calls; ${LONG} − ${SHORT} calls):`)
  console.log(`  @modelcontextprotocol/sdk 1.32.2 Client: ${Math.round(perCall.sdk!)}`)
  console.log(`  fastify-mcp-streamable/client, 2025 session: ${Math.round(perCall['ours-2025']!)} = ${(perCall['ours-2025']! / perCall.sdk!).toFixed(2)}×`)
  console.log(`  fastify-mcp-streamable/client, 2026-07-28: ${Math.round(perCall['ours-2026']!)} = ${(perCall['ours-2026']! / perCall.sdk!).toFixed(2)}×`)
}
server.send({ type: 'stop' })
