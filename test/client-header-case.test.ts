// Header names are case-insensitive: the client reads the session id however the server
// spells the header, and the doctor does not mistake an odd spelling for a missing id. A raw
// node:net proxy rewrites the name on the wire (node:http would lowercase it).
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { connect, forgetVerdicts, runDoctor, formatReport } from '../lib/client/index.js'
import { serve } from './helpers/index.js'

t.beforeEach(() => forgetVerdicts())

/** The demo behind a TCP proxy that writes the Mcp-Session-Id response header as `spelling`; `seen` collects what went out. */
async function spelledAs (t: Test, spelling: string): Promise<{ url: URL, seen: string[] }> {
  const { url: demo } = await serve(t, { demo: true })
  const seen: string[] = []
  const sockets = new Set<net.Socket>()
  const proxy = net.createServer((client) => {
    const upstream = net.connect(Number(demo.port), demo.hostname)
    sockets.add(client).add(upstream)
    client.pipe(upstream)
    upstream.on('data', (chunk: Buffer) => {
      const text = chunk.toString('latin1').replace(/\r\nmcp-session-id:/gi, `\r\n${spelling}:`)
      seen.push(text)
      client.write(Buffer.from(text, 'latin1'))
    })
    upstream.on('end', () => client.end())
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
    client.on('error', () => {})
    upstream.on('error', () => {})
  })
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { for (const socket of sockets) socket.destroy(); proxy.close(() => resolve()) }))
  return { url: new URL(`http://127.0.0.1:${(proxy.address() as AddressInfo).port}/mcp`), seen }
}

for (const spelling of ['mcp-session-id', 'MCP-SESSION-ID', 'Mcp-Session-Id', 'mCP-sESSION-iD']) {
  t.test(`the session id in "${spelling}"`, async (t) => {
    const { url, seen } = await spelledAs(t, spelling)
    const client = await connect(url, { mode: 'legacy', openStream: false })
    t.teardown(() => client.close())
    t.ok(seen.some((text) => text.includes(`\r\n${spelling}: ${client.sessionId!}\r\n`)), 'the server wrote the id in that spelling')
    t.match(client.sessionId, /^[\x21-\x7e]{16,}$/, 'the client read it')
    t.equal((await client.callTool('echo', { text: 'hi' })).content[0].text, 'hi', 'and sends it: the session is served')

    const report = await runDoctor(url)
    t.ok(report.sessions, formatReport(report))
    t.same(report.checks.filter((c) => c.status !== 'pass').map((c) => c.id), [], 'all ✔')
  })
}
