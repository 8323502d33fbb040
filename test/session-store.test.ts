import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { MemorySessionStore } from '../lib/stores/memory-session-store.js'
import { assertSessionStore } from '../lib/stores/session-store.js'
import { sampleRecord, sessionStoreSuite } from './helpers/store-suite.js'

sessionStoreSuite(t, async ({ ttlMs, maxSessions }) => new MemorySessionStore({ ttlMs, maxSessions }), 'MemorySessionStore')

const ROOT = fileURLToPath(new URL('..', import.meta.url))

function runChild (code: string, ms: number): Promise<{ code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string, timedOut: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import=tsx', '--input-type=module', '-e', code], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    let timedOut = false
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL') }, ms)
    child.on('error', (err) => { clearTimeout(timer); reject(err) })
    child.on('exit', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr, timedOut }) })
  })
}

t.test('MemorySessionStore specifics', async (t) => {
  t.test('is a SessionStore by the plugin\'s own check', async (t) => {
    const store = new MemorySessionStore()
    t.teardown(() => store.close())
    t.doesNotThrow(() => assertSessionStore(store))
  })

  t.test('defaults: 30 min TTL, 10,000 sessions, sweep every min(ttl, 60 s)', async (t) => {
    const store = new MemorySessionStore()
    t.teardown(() => store.close())
    t.equal(store.ttlMs, 30 * 60_000)
    t.equal(store.maxSessions, 10_000)
    t.equal(store.sweepIntervalMs, 60_000)
    const short = new MemorySessionStore({ ttlMs: 500 })
    t.teardown(() => short.close())
    t.equal(short.sweepIntervalMs, 500)
  })

  t.test('the sweep timer does not keep the process alive', async (t) => {
    // A sweep every 60 s: if the timer were ref'd the child would live for a minute.
    const code = [
      "const { MemorySessionStore } = await import('./lib/stores/memory-session-store.ts')",
      'const store = new MemorySessionStore({ ttlMs: 60000, sweepIntervalMs: 60000 })',
      "await store.create({ id: 'x', protocolVersion: '2025-11-25', clientInfo: { name: 'c', version: '1' }, clientCapabilities: {}, serverCapabilities: {}, initialized: true, createdAt: Date.now(), lastActiveAt: Date.now() })",
      "console.log('store-created', await store.size())"
    ].join('\n')
    const result = await runChild(code, 15_000)
    t.equal(result.timedOut, false, `the child exited on its own (stderr: ${result.stderr.slice(0, 500)})`)
    t.equal(result.code, 0)
    t.match(result.stdout, /store-created 1/, 'the store was really created in the child')
  })

  t.test('the sweep timer really sweeps on its own', async (t) => {
    const store = new MemorySessionStore({ ttlMs: 50, sweepIntervalMs: 30 })
    t.teardown(() => store.close())
    const expired: string[] = []
    store.onExpired((id) => expired.push(id))
    const record = sampleRecord()
    await store.create(record)
    const deadline = Date.now() + 3000
    while (expired.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
    t.same(expired, [record.id], 'expired by the timer, without any get()')
    t.equal(await store.size(), 0)
  })

  t.test('sweep() drops only expired sessions and reports them', async (t) => {
    const store = new MemorySessionStore({ ttlMs: 1000 })
    t.teardown(() => store.close())
    const now = Date.now()
    const old1 = sampleRecord({ lastActiveAt: now - 5000 })
    const old2 = sampleRecord({ lastActiveAt: now - 1001 })
    const edge = sampleRecord({ lastActiveAt: now - 1000 })
    const fresh = sampleRecord({ lastActiveAt: now })
    for (const r of [old1, old2, edge, fresh]) await store.create(r)
    const expired: string[] = []
    store.onExpired((id) => expired.push(id))
    t.equal(store.sweep(now), 2, 'two dropped')
    t.same(expired.sort(), [old1.id, old2.id].sort(), 'listeners told about exactly those')
    t.equal(await store.size(), 2)
    t.equal(store.sweep(now), 0, 'a second sweep finds nothing')
    // The edge session (idle exactly ttlMs at `now`) is still there, and the fresh one too.
    t.equal(store.sweep(now + 1), 1, 'one millisecond later the edge one goes')
    t.equal(await store.size(), 1)
    t.equal(store.sweep(now + 1001), 1, 'and the fresh one after its own TTL')
    t.equal(await store.size(), 0)
  })

  t.test('get() of an expired session reports it to onExpired', async (t) => {
    const store = new MemorySessionStore({ ttlMs: 1000 })
    t.teardown(() => store.close())
    const expired: string[] = []
    store.onExpired((id) => expired.push(id))
    const old = sampleRecord({ lastActiveAt: Date.now() - 5000 })
    await store.create(old)
    t.equal(await store.get(old.id), undefined)
    t.same(expired, [old.id])
    t.equal(await store.size(), 0, 'and removes it')
  })

  t.test('at the cap, expired sessions are swept so a new create succeeds', async (t) => {
    const store = new MemorySessionStore({ ttlMs: 1000, maxSessions: 2 })
    t.teardown(() => store.close())
    const expired: string[] = []
    store.onExpired((id) => expired.push(id))
    const stale = sampleRecord({ lastActiveAt: Date.now() - 5000 })
    const live = sampleRecord()
    await store.create(stale)
    await store.create(live)
    t.equal(await store.size(), 2, 'full (the stale one is not swept yet)')
    const extra = sampleRecord()
    t.equal(await store.create(extra), true, 'the stale session made room')
    t.same(expired, [stale.id], 'and was reported as expired')
    t.ok(await store.get(live.id), 'the live one is kept')
    t.ok(await store.get(extra.id))
    t.equal(await store.create(sampleRecord()), false, 'still full when nothing is stale')
  })

  t.test('touch(id, now) sets lastActiveAt to the given time', async (t) => {
    const store = new MemorySessionStore({ ttlMs: 1000 })
    t.teardown(() => store.close())
    const record = sampleRecord({ lastActiveAt: Date.now() - 900 })
    await store.create(record)
    const now = Date.now()
    await store.touch(record.id, now)
    t.equal((await store.get(record.id))?.lastActiveAt, now)
    t.equal(store.sweep(now + 999), 0, 'not expired within the refreshed TTL')
  })

  t.test('close() clears sessions and listeners', async (t) => {
    const store = new MemorySessionStore({ ttlMs: 1000 })
    const expired: string[] = []
    store.onExpired((id) => expired.push(id))
    const record = sampleRecord()
    await store.create(record)
    await store.close()
    t.equal(await store.size(), 0)
    t.equal(await store.get(record.id), undefined)
    // A listener registered before close is dropped: a later sweep reports to nobody.
    await store.create(sampleRecord({ lastActiveAt: Date.now() - 5000 }))
    store.sweep()
    t.same(expired, [], 'listeners were cleared')
    await t.resolves(store.close(), 'close twice is harmless')
  })
})
