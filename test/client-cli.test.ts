// The `mcp-streamable` command line, run as a process against the demo.
import { execFile, spawn } from 'node:child_process'
import net from 'node:net'
import { fileURLToPath } from 'node:url'
import { Type } from '@sinclair/typebox'
import { connect } from '../lib/client/index.js'
import t from 'tap'
import { serve } from './helpers/index.js'
import { nodeServer } from './helpers/foreign.js'

let closedPort = 0
const bin = fileURLToPath(new URL('../lib/client/bin.ts', import.meta.url))

function run (args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', bin, ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr })
    })
  })
}

t.test('tools, call (with progress), --json, --mode legacy', async (t) => {
  const { url } = await serve(t, { demo: true })
  const tools = await run(['tools', url.href])
  t.equal(tools.code, 0, tools.stderr)
  t.match(tools.stdout, /^add {2}Add two numbers$/m)
  t.match(tools.stdout, /^echo {2}Echo the given text back$/m)

  const call = await run(['call', url.href, 'countdown', '--args', '{"from":2,"intervalMs":0}'])
  t.equal(call.code, 0, call.stderr)
  t.equal(call.stdout, 'liftoff\n')
  t.match(call.stderr, /progress 1\/2 T-2\nlog info: \{"countdown":2\}\nprogress 2\/2 T-1/)

  const json = await run(['call', url.href, 'add', '--args', '{"a":1,"b":2}', '--json', '--mode', 'legacy'])
  t.equal(json.code, 0, json.stderr)
  t.same(JSON.parse(json.stdout).structuredContent, { sum: 3 })

  const failed = await run(['call', url.href, 'add', '--args', '{"a":"x"}'])
  t.equal(failed.code, 1, 'a tool error exits 1')
  t.match(failed.stdout, /^tool error: /)
})

t.test('--header carries credentials; without them the error says how to pass them', async (t) => {
  const { url } = await serve(t, {
    demo: true,
    setup: (app) => app.addHook('onRequest', async (req, reply) => {
      if (req.headers.authorization !== 'Bearer s3cret') await reply.code(401).send({ jsonrpc: '2.0', id: null, error: { code: -32000, message: 'Unauthorized' } })
    })
  })
  const denied = await run(['tools', url.href])
  t.equal(denied.code, 1)
  t.match(denied.stderr, /^error: .*401.*--header "Authorization: Bearer/m)
  const allowed = await run(['tools', url.href, '--header', 'Authorization: Bearer s3cret'])
  t.equal(allowed.code, 0, allowed.stderr)
  t.match(allowed.stdout, /echo/)
})

t.test('clear errors: no server, bad arguments', async (t) => {
  await new Promise<void>((resolve) => { const probe = net.createServer(); probe.listen(0, '127.0.0.1', () => { closedPort = (probe.address() as net.AddressInfo).port; probe.close(() => resolve()) }) })
  const down = await run(['tools', `http://127.0.0.1:${closedPort}/mcp`])
  t.equal(down.code, 1)
  t.match(down.stderr, /error: .*ECONNREFUSED.*Check that the server runs/)
  const noUrl = await run(['tools'])
  t.equal(noUrl.code, 2)
  t.match(noUrl.stderr, /tools needs the server URL/)
  const badArgs = await run(['call', 'http://127.0.0.1:9/mcp', 'echo', '--args', '{nope'])
  t.equal(badArgs.code, 2)
  t.match(badArgs.stderr, /--args must be a JSON object/)
})

t.test('doctor: exit 0 and all ✔ on the demo, exit 1 and the ✘ with its fix on a broken server', async (t) => {
  const { url } = await serve(t, { demo: true })
  const good = await run(['doctor', url.href])
  t.equal(good.code, 0, good.stdout)
  t.notMatch(good.stdout, /✘/)
  t.match(good.stdout, /✔ an unknown id → 404/)
  t.match(good.stderr, /… initialize is answered\n/, 'a progress line per check')

  const broken = await nodeServer(t, (_req, res) => { res.writeHead(500).end() })
  const bad = await run(['doctor', broken.href])
  t.equal(bad.code, 1)
  t.match(bad.stdout, /✘ initialize is answered/)
  t.match(bad.stdout, /fix: /)
})

t.test('doctor --json: every check with its status and explanation; exit 1 on a ✘', async (t) => {
  const { url } = await serve(t, { demo: true })
  const good = await run(['doctor', url.href, '--json'])
  t.equal(good.code, 0, good.stderr)
  t.equal(good.stderr, '', 'no progress lines mixed into --json')
  const report = JSON.parse(good.stdout)
  t.match(report, { url: url.href, sessions: true, ok: true })
  t.ok(report.checks.length >= 17, `${report.checks.length} checks`)
  for (const check of report.checks) {
    t.match(check, { id: /^[a-z-]+$/, title: String, status: 'pass', detail: String }, check.id)
    t.ok(check.detail.length > 0)
  }
  t.ok(report.checks.some((c: { id: string }) => c.id === 'protocol-version-missing'))

  // No Origin check: one ✘, with its fix, and exit 1.
  const { url: open } = await serve(t, { demo: true, options: { allowedOrigins: false } })
  const bad = await run(['doctor', open.href, '--json'])
  t.equal(bad.code, 1, 'exit 1 on a ✘')
  const broken = JSON.parse(bad.stdout)
  t.equal(broken.ok, false)
  t.same(broken.checks.filter((c: { status: string }) => c.status === 'fail').map((c: { id: string }) => c.id), ['origin'])
  t.match(broken.checks.find((c: { id: string }) => c.id === 'origin'), { status: 'fail', detail: /DNS rebinding/, fix: /Validate Origin/ })
  t.ok(broken.checks.filter((c: { status: string }) => c.status !== 'fail').every((c: { fix?: string }) => c.fix === undefined), 'a fix only on a ✘')
})

for (const mode of ['legacy', 'auto']) {
  t.test(`listen --mode ${mode}: a change made by another client is printed; --count ends it`, async (t) => {
    let n = 0
    const { app, url } = await serve(t, {
      demo: true,
      setup: (app) => {
        app.mcp.resource({ uri: 'docs://readme', name: 'readme' }, async () => '# hello')
        app.mcp.tool({ name: 'grow', description: 'Add a tool', inputSchema: Type.Object({}) }, async () => {
          app.mcp.tool({ name: `extra-${++n}`, description: 'added', inputSchema: Type.Object({}) }, () => 'ok')
          return 'grown'
        })
      }
    })
    const child = spawn(process.execPath, ['--import', 'tsx', bin, 'listen', url.href, '--tools', '--resource', 'docs://readme', '--count', '2', '--mode', mode])
    t.teardown(() => { child.kill() })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
    const listening = new Promise<void>((resolve) => child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; if (stderr.includes('\n')) resolve() }))
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
    await listening
    t.match(stderr, mode === 'legacy' ? /^listening \(2025 session\): tools, docs:\/\/readme\n/ : /^listening \(subscriptions\/listen\): tools, docs:\/\/readme\n/)
    const other = await connect(url, { mode: 'legacy', openStream: false })
    t.teardown(() => other.close())
    await other.callTool('grow')
    for (let i = 0; i < 300 && !stdout.includes('\n'); i++) await new Promise((resolve) => setTimeout(resolve, 10))
    await app.mcp.notifyResourceUpdated('docs://readme')
    t.equal(await exited, 0, stderr)
    t.equal(stdout, 'notifications/tools/list_changed\nnotifications/resources/updated docs://readme\n')
  })
}

t.test('read and prompt', async (t) => {
  const { url } = await serve(t, {
    setup: (app) => {
      app.mcp.resource({ uri: 'docs://readme', name: 'readme', mimeType: 'text/markdown' }, async () => '# hello')
      app.mcp.prompt({ name: 'greet', description: 'Greet', arguments: Type.Object({ who: Type.String() }) }, async ({ who }) => `Say hello to ${who}`)
    }
  })
  const read = await run(['read', url.href, 'docs://readme'])
  t.equal(read.code, 0, read.stderr)
  t.equal(read.stdout, '# hello\n')
  const prompt = await run(['prompt', url.href, 'greet', '--args', '{"who":"Ada"}'])
  t.equal(prompt.code, 0, prompt.stderr)
  t.equal(prompt.stdout, 'user: Say hello to Ada\n')
  const missing = await run(['read', url.href])
  t.equal(missing.code, 2)
  t.match(missing.stderr, /read needs a resource URI/)
})
