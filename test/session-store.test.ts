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

t.test('MemorySessionStore: the ids it mints', async (t) => {
  const ID = /^[A-Za-z0-9_-]{37}$/
  function minted (store: MemorySessionStore, overrides: Parameters<typeof sampleRecord>[0] = {}): ReturnType<typeof sampleRecord> {
    return sampleRecord({ id: store.newSessionId(), ...overrides })
  }
  /** The same id with one character of its secret changed. */
  function forged (id: string, at: number): string {
    const c = id[at] === 'A' ? 'B' : 'A'
    return id.slice(0, at) + c + id.slice(at + 1)
  }

  t.test('are visible ASCII (base64url), unguessable, unique, and do not show the slot number', async (t) => {
    const store = new MemorySessionStore({ maxSessions: 5000 })
    t.teardown(() => store.close())
    const other = new MemorySessionStore({ maxSessions: 5000 })
    t.teardown(() => other.close())
    const ids = new Set<string>()
    for (let i = 0; i < 3000; i++) {
      const record = minted(store)
      t.equal(await store.create(record), true)
      ids.add(record.id)
    }
    t.equal(ids.size, 3000, 'no id repeats')
    t.ok([...ids].every((id) => ID.test(id)), 'every id is 37 base64url characters')
    // Two stores number their slots alike; the per-store mask makes their prefixes differ.
    const first = minted(other).id
    t.not(first.slice(0, 5), [...ids][0]!.slice(0, 5), 'slot 0 of two stores is spelled differently')
    for (const id of [...ids].slice(0, 50)) t.equal((await store.get(id))?.id, id)
    t.equal(await store.size(), 3000, 'grown past the first table of 1,024 slots')
  })

  t.test('an id with any character of its secret changed finds nothing, and changes nothing', async (t) => {
    const store = new MemorySessionStore()
    t.teardown(() => store.close())
    const record = minted(store)
    await store.create(record)
    for (let at = 5; at < 37; at++) {
      const fake = forged(record.id, at)
      t.equal(store.getNow(fake), undefined, `secret character ${at}`)
      t.equal(await store.update(fake, { logLevel: 'error' }), false)
      t.equal(await store.touch(fake, Date.now()), false)
      t.equal(await store.delete(fake), false)
      t.equal(await store.addSubscription(fake, 'file:///x', 10), 'gone')
    }
    for (const fake of [record.id.slice(0, 36) + '!', record.id.slice(0, 36) + 'é', record.id + 'A', '\u0100'.repeat(37)]) {
      t.equal(store.getNow(fake), undefined, `not an id: ${JSON.stringify(fake)}`)
    }
    const got = await store.get(record.id)
    t.equal(got?.logLevel, record.logLevel, 'the real session is untouched')
    t.equal(await store.size(), 1)
  })

  t.test('a freed slot is used again, and the old id no longer finds it', async (t) => {
    const store = new MemorySessionStore()
    t.teardown(() => store.close())
    const first = minted(store)
    await store.create(first)
    await store.delete(first.id)
    const second = minted(store)
    t.equal(second.id.slice(0, 5), first.id.slice(0, 5), 'the same slot')
    await store.create(second)
    t.equal(await store.get(first.id), undefined, 'the deleted session stays gone')
    t.equal(await store.delete(first.id), false)
    t.equal((await store.get(second.id))?.id, second.id)
    t.equal(await store.size(), 1)
  })

  t.test('two ids minted before either is created both work (the second is kept by id)', async (t) => {
    const store = new MemorySessionStore()
    t.teardown(() => store.close())
    const a = minted(store)
    const b = minted(store)
    t.equal(a.id.slice(0, 5), b.id.slice(0, 5), 'both name the next free slot')
    await store.create(b)
    await store.create(a)
    t.equal((await store.get(a.id))?.id, a.id)
    t.equal((await store.get(b.id))?.id, b.id)
    t.equal(await store.touch(a.id, Date.now()), true)
    t.equal(await store.delete(b.id), true)
    t.equal(await store.get(b.id), undefined)
    t.equal((await store.get(a.id))?.id, a.id, 'deleting one leaves the other')
    t.equal(await store.size(), 1)
  })

  t.test('an id minted by another store is kept by id here', async (t) => {
    const store = new MemorySessionStore()
    t.teardown(() => store.close())
    const elsewhere = new MemorySessionStore()
    t.teardown(() => elsewhere.close())
    const local = minted(store)
    await store.create(local)
    const foreign = minted(elsewhere)
    t.equal(await store.create(foreign), true)
    t.equal((await store.get(foreign.id))?.id, foreign.id)
    t.equal((await store.get(local.id))?.id, local.id)
  })

  t.test('expiry, touch, sweep and the cap work on minted ids as on others', async (t) => {
    const store = new MemorySessionStore({ ttlMs: 1000, maxSessions: 3 })
    t.teardown(() => store.close())
    const expired: string[] = []
    store.onExpired((id, expiry) => { expired.push(id); t.equal(expiry?.record?.id, id, 'the record comes with the expiry') })
    const now = Date.now()
    const stale = minted(store, { lastActiveAt: now - 5000 })
    await store.create(stale)
    const touched = minted(store, { lastActiveAt: now - 900 })
    await store.create(touched)
    await store.touch(touched.id, now)
    t.equal((await store.get(touched.id))?.lastActiveAt, now, 'touch sets the record\'s lastActiveAt')
    const patched = minted(store, { lastActiveAt: now - 5000 })
    await store.create(patched)
    await store.update(patched.id, { lastActiveAt: now })
    t.equal(await store.create(minted(store, { lastActiveAt: now })), true, 'full: the stale session made room')
    t.same(expired, [stale.id])
    t.equal(store.getNow(stale.id), undefined)
    t.equal(store.sweep(now + 999), 0, 'touched and updated sessions live on')
    t.equal(await store.create(minted(store, { lastActiveAt: now })), false, 'full again')
    t.equal(store.sweep(now + 1001), 3, 'then all go')
    t.equal(await store.size(), 0)
  })
})
