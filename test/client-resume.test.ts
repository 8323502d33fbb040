// Resume across instances: two processes on one Redis behind a round-robin proxy written
// here. Kill -9 the one holding the client's GET stream: the client resumes on the other
// with Last-Event-ID and sees every notification exactly once.
import { spawn } from 'node:child_process'
import http from 'node:http'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { connect } from '../lib/client/index.js'
import { nodeServer, readBody } from './helpers/foreign.js'
import { withRedis } from './helpers/redis-server.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const FIXTURE = fileURLToPath(new URL('./fixtures/redis-instance.ts', import.meta.url))

interface Instance { url: URL, kill: () => Promise<void> }

async function startInstance (t: Test, redisUrl: string, prefix: string): Promise<Instance> {
  const child = spawn(process.execPath, ['--import=tsx', FIXTURE], { cwd: ROOT, env: { ...process.env, REDIS_URL: redisUrl, PREFIX: prefix }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  let done = false
  void exited.then(() => { done = true })
  const kill = async (): Promise<void> => { if (!done) { child.kill('SIGKILL'); await exited } }
  t.teardown(kill)
  const deadline = Date.now() + 30_000
  for (;;) {
    const match = /LISTENING (\S+)/.exec(stdout)
    if (match !== null) return { url: new URL(match[1]!), kill }
    if (done || Date.now() > deadline) throw new Error(`the instance did not start: ${stderr}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** A round-robin proxy: each request to the next upstream, skipping one that refuses connections. Records where GETs went. */
async function roundRobin (t: Test, upstreams: URL[]): Promise<{ url: URL, gets: URL[] }> {
  let next = 0
  const gets: URL[] = []
  const url = await nodeServer(t, async (req, res) => {
    const body = await readBody(req)
    const attempt = (tries: number): void => {
      const target = upstreams[next++ % upstreams.length]!
      const upstream = http.request(target, { method: req.method, headers: { ...req.headers, host: target.host }, agent: false }, (answer) => {
        if (req.method === 'GET') gets.push(target)
        res.writeHead(answer.statusCode!, answer.headers)
        res.flushHeaders()
        answer.pipe(res)
        answer.on('error', () => res.destroy())
        answer.on('aborted', () => res.destroy())
      })
      upstream.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ECONNREFUSED' && !res.headersSent && tries < upstreams.length) attempt(tries + 1)
        else res.destroy()
      })
      res.on('close', () => upstream.destroy())
      upstream.end(body === '' ? undefined : body)
    }
    attempt(1)
  })
  return { url, gets }
}

async function eventually (check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) return false
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  return true
}

withRedis(t, 'kill -9 the instance holding the GET stream: the client resumes on the other, every event once', async (t, server) => {
  const prefix = `cr${process.pid}:`
  const [a, b] = await Promise.all([startInstance(t, server.url, prefix), startInstance(t, server.url, prefix)])
  const proxy = await roundRobin(t, [a.url, b.url])
  const client = await connect(proxy.url, { mode: 'legacy' })
  t.teardown(() => client.close())
  t.equal(client.protocolVersion, '2025-11-25')
  const notes: number[] = []
  client.on('notification', (m) => { if (m.method === 'notifications/resources/updated') notes.push(Number(String(m.params.uri).slice('note://'.length))) })
  for (let n = 1; n <= 8; n++) await client.request('resources/subscribe', { uri: `note://${n}` })
  t.ok(await eventually(() => proxy.gets.length === 1, 10_000), 'the GET stream is open')

  await client.callTool('notes', { from: 1, to: 3 })
  t.ok(await eventually(() => notes.length >= 3, 10_000), 'the first notes arrive on the GET stream')
  const holder = proxy.gets[0]!.href === a.url.href ? a : b
  await holder.kill()

  // Produced while nobody holds the stream: kept in Redis for the resume.
  await client.callTool('notes', { from: 4, to: 8 })
  t.ok(await eventually(() => notes.length >= 8, 15_000), `the rest arrives after the resume (${notes.join(',')})`)
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.same(notes, [1, 2, 3, 4, 5, 6, 7, 8], 'each note exactly once, in order')
  t.equal(proxy.gets.length, 2, 'one resume')
  t.not(proxy.gets[1]!.href, holder.url.href, 'served by the survivor')
})
