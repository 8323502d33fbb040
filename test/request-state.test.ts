// The requestState codec of multi round-trip requests: HMAC-SHA256, bound, expiring, rotating keys.
import t from 'tap'
import { RequestStateCodec, type RequestStateBinding } from '../lib/core/request-state.js'

const KEY_A = 'a'.repeat(32)
const KEY_B = Buffer.alloc(48, 7)
const BINDING: RequestStateBinding = { principal: 'alice', method: 'tools/call', target: 'deploy' }

t.test('round trip: any JSON value comes back as signed', async (t) => {
  const codec = new RequestStateCodec({ keys: [KEY_A] })
  for (const value of [{ round: 2, name: 'Ada', list: [1, 'two', null] }, 'text', 42, true, null]) {
    const token = codec.sign(value, BINDING)
    t.match(token, /^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/, 'v1.<payload>.<mac>, base64url')
    t.same(codec.verify(token, BINDING), { ok: true, value }, JSON.stringify(value))
  }
})

t.test('a state changed anywhere, or not a state at all, is refused', async (t) => {
  const codec = new RequestStateCodec({ keys: [KEY_A] })
  const token = codec.sign({ admin: false }, BINDING)
  const [version, payload, mac] = token.split('.') as [string, string, string]
  const forged = Buffer.from(JSON.stringify({ v: { admin: true }, exp: Date.now() + 60_000 })).toString('base64url')
  const flipped = mac.slice(0, -1) + (mac.endsWith('A') ? 'B' : 'A')
  const cases: Array<[string, unknown]> = [
    ['a suffix (what the conformance suite sends)', token + '-TAMPERED'],
    ['padding appended to the mac', token + '='],
    ['another payload under the same mac', `${version}.${forged}.${mac}`],
    ['one character of the mac', `${version}.${payload}.${flipped}`],
    ['no mac', `${version}.${payload}`],
    ['another version', `v2.${payload}.${mac}`],
    ['empty', ''],
    ['not a string', { v: 1 }]
  ]
  for (const [label, candidate] of cases) {
    const verdict = codec.verify(candidate, BINDING)
    t.equal(verdict.ok, false, label)
  }
  t.same(codec.verify(`${version}.${forged}.${mac}`, BINDING), { ok: false, reason: 'signature' })
})

t.test('a state is bound to its principal, method and target', async (t) => {
  const codec = new RequestStateCodec({ keys: [KEY_A] })
  const token = codec.sign({ step: 1 }, BINDING)
  t.same(codec.verify(token, { ...BINDING, principal: 'mallory' }), { ok: false, reason: 'signature' }, 'another principal')
  t.same(codec.verify(token, { ...BINDING, principal: undefined }), { ok: false, reason: 'signature' }, 'no principal')
  t.same(codec.verify(token, { ...BINDING, method: 'prompts/get' }), { ok: false, reason: 'signature' }, 'another method')
  t.same(codec.verify(token, { ...BINDING, target: 'delete' }), { ok: false, reason: 'signature' }, 'another tool')
  t.equal(codec.verify(token, { ...BINDING }).ok, true, 'the same binding')
  const anonymous = codec.sign(1, { principal: undefined, method: 'tools/call', target: 'x' })
  t.equal(codec.verify(anonymous, { principal: '', method: 'tools/call', target: 'x' }).ok, false, 'no principal is not the empty principal')
})

t.test('a state expires after ttlMs', async (t) => {
  let now = 1_000_000
  const codec = new RequestStateCodec({ keys: [KEY_A], ttlMs: 5000, now: () => now })
  const token = codec.sign('x', BINDING)
  now += 4999
  t.equal(codec.verify(token, BINDING).ok, true, 'just before')
  now += 1
  t.same(codec.verify(token, BINDING), { ok: false, reason: 'expired' }, 'at the expiry')
})

t.test('key rotation: the first key signs, every key verifies', async (t) => {
  const old = new RequestStateCodec({ keys: [KEY_A] })
  const rotated = new RequestStateCodec({ keys: [KEY_B, KEY_A] })
  const onlyB = new RequestStateCodec({ keys: [KEY_B] })
  const retired = new RequestStateCodec({ keys: [KEY_B, 'c'.repeat(40)] })

  const fromOld = old.sign({ n: 1 }, BINDING)
  t.same(rotated.verify(fromOld, BINDING), { ok: true, value: { n: 1 } }, 'a state signed before the rotation still verifies')
  const fromRotated = rotated.sign({ n: 2 }, BINDING)
  t.equal(onlyB.verify(fromRotated, BINDING).ok, true, 'signed with the first key')
  t.equal(old.verify(fromRotated, BINDING).ok, false, 'never with a later key')
  t.equal(retired.verify(fromOld, BINDING).ok, false, 'a dropped key verifies nothing')
})

t.test('without keys, a random key per codec: one instance verifies its own states only', async (t) => {
  const one = new RequestStateCodec()
  const other = new RequestStateCodec()
  const token = one.sign('s', BINDING)
  t.equal(one.verify(token, BINDING).ok, true)
  t.equal(other.verify(token, BINDING).ok, false)
})

t.test('short keys and bad ttls are refused at construction', async (t) => {
  t.throws(() => new RequestStateCodec({ keys: ['short'] }), RangeError)
  t.throws(() => new RequestStateCodec({ keys: [KEY_A, Buffer.alloc(31)] }), RangeError)
  t.throws(() => new RequestStateCodec({ keys: [KEY_A], ttlMs: 0 }), RangeError)
  t.doesNotThrow(() => new RequestStateCodec({ keys: ['é'.repeat(16)] }), '32 UTF-8 bytes')
})
