/**
 * Hostile input at the MCP endpoint: garbage bytes, pathological nesting, huge values,
 * prototype-pollution keys, broken UTF-8, oversized headers. The server must answer every
 * one with a 4xx JSON-RPC error (or a tool result), never a 5xx, never a stack trace, and
 * must keep serving the sessions it already has.
 */
import t from 'tap'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import { buildApp, listen, openSession, rpc, type Session } from './helpers/index.js'
import { sendWholeBody } from './helpers/raw-body.js'

type TT = Parameters<Parameters<typeof t.test>[0]>[0]

const URL = '/mcp'
const MiB = 1024 * 1024

/** Deterministic bytes (mulberry32), so a failure names a reproducible seed. */
function randomBytes (seed: number, length: number): Buffer {
  let a = seed >>> 0
  const out = Buffer.alloc(length)
  for (let i = 0; i < length; i++) {
    a = (a + 0x6D2B79F5) >>> 0
    let x = a
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    out[i] = ((x ^ (x >>> 14)) >>> 0) & 0xff
  }
  return out
}

function deepArray (depth: number, leaf = '0'): string {
  return '['.repeat(depth) + leaf + ']'.repeat(depth)
}

function deepObject (depth: number, leaf = '0'): string {
  return '{"a":'.repeat(depth) + leaf + '}'.repeat(depth)
}

/** Stack frames, source paths or Node internals must never reach a client. */
const LEAKS: Array<[string, RegExp]> = [
  ['a stack frame', /\bat\s+\S+\s+\(|\n\s+at\s/],
  ['a .ts source position', /\.ts:\d/],
  ['a .js source position', /\.[cm]?js:\d/],
  ['a node_modules path', /node_modules/],
  ['a node: internal', /node:internal/],
  ['an absolute path of this checkout', /\/work\//]
]

/** Every response of this file passes through here. */
function assertSafe (t: TT, res: LightMyRequestResponse, what: string): void {
  t.ok(res.statusCode < 500, `${what}: status ${res.statusCode} < 500`)
  const body = res.payload
  for (const [name, re] of LEAKS) {
    if (re.test(body)) t.fail(`${what}: the body contains ${name}: ${body.slice(0, 300)}`)
  }
}

function inject (t: TT, app: FastifyInstance, options: InjectOptions, what: string): Promise<LightMyRequestResponse> {
  return app.inject(options).then((res) => {
    assertSafe(t, res, what)
    return res
  })
}

function postRaw (session: Session, payload: string | Buffer, extra: Record<string, string> = {}): InjectOptions {
  return { method: 'POST', url: URL, headers: { ...session.headers, ...extra }, payload }
}

/** A JSON-RPC transport error: the status, the code, `id: null`, a short message. */
function assertRpcError (t: TT, res: LightMyRequestResponse, status: number, code: number): any {
  t.equal(res.statusCode, status, `status ${status} (got ${res.statusCode}: ${res.payload.slice(0, 200)})`)
  let body: any
  try {
    body = res.json()
  } catch {
    t.fail(`not JSON: ${res.payload.slice(0, 200)}`)
    return undefined
  }
  t.same(Object.keys(body).sort(), ['error', 'id', 'jsonrpc'])
  t.equal(body.id, null)
  t.equal(body.error?.code, code, `error.code ${code}`)
  t.type(body.error?.message, 'string')
  t.notOk('statusCode' in body, 'not Fastify\'s default error shape')
  t.ok(res.payload.length < 1000, `the error body stays small (${res.payload.length} bytes)`)
  return body
}

function assertNotPolluted (t: TT): void {
  const probe: Record<string, unknown> = {}
  for (const key of ['polluted', 'isAdmin', 'injected']) {
    t.equal(probe[key], undefined, `Object.prototype.${key} is not set`)
    t.notOk(Object.hasOwn(Object.prototype, key), `Object.prototype has no own ${key}`)
  }
}

t.test('hostile input', async (t) => {
  const app = await buildApp(t, { demo: true })
  const victim = await openSession(app)
  const bystander = await openSession(app, '2025-03-26')

  t.test('random bytes → 400 -32700', async (t) => {
    for (const seed of [1, 2, 3, 42, 1337, 0xdeadbeef]) {
      for (const length of [1, 17, 256, 4096]) {
        const bytes = randomBytes(seed, length)
        let parses = true
        try { JSON.parse(bytes.toString('utf8')) } catch { parses = false }
        if (parses) continue // a lone digit is valid JSON; not what this case is about
        const res = await inject(t, app, postRaw(victim, bytes), `seed ${seed} length ${length}`)
        assertRpcError(t, res, 400, -32700)
      }
    }
  })

  t.test('random bytes after a valid JSON-RPC prefix → 400 -32700', async (t) => {
    for (const seed of [7, 8, 9]) {
      const payload = Buffer.concat([Buffer.from('{"jsonrpc":"2.0","id":1,"method":"ping"'), randomBytes(seed, 64)])
      const res = await inject(t, app, postRaw(victim, payload), `seed ${seed}`)
      assertRpcError(t, res, 400, -32700)
    }
  })

  t.test('truncated, trailing-garbage and duplicated JSON → 400 -32700', async (t) => {
    for (const payload of ['{', '[', '{"jsonrpc":"2.0",', '{"jsonrpc":"2.0","id":1,"method":"ping"}}', '{"jsonrpc":"2.0","id":1,"method":"ping"} {"jsonrpc":"2.0","id":2,"method":"ping"}', "{'jsonrpc':'2.0'}", '   ', 'NaN', '\u0000']) {
      const res = await inject(t, app, postRaw(victim, payload), JSON.stringify(payload))
      assertRpcError(t, res, 400, -32700)
    }
  })

  t.test('a 10,000-deep nested array as the whole body → 400 -32600', async (t) => {
    const res = await inject(t, app, postRaw(victim, deepArray(10_000)), 'deep array')
    assertRpcError(t, res, 400, -32600)
  })

  t.test('a 10,000-deep nested object as the whole body → 400 -32600', async (t) => {
    const res = await inject(t, app, postRaw(victim, deepObject(10_000)), 'deep object')
    assertRpcError(t, res, 400, -32600)
  })

  t.test('a 100,000-deep nested array and object → 4xx, not 5xx', async (t) => {
    for (const [what, payload] of [['array', deepArray(100_000)], ['object', deepObject(100_000)]] as const) {
      const res = await inject(t, app, postRaw(victim, payload), `100k-deep ${what}`)
      t.ok(res.statusCode === 400, `${what}: 400 (got ${res.statusCode})`)
      t.ok([-32600, -32700].includes(res.json().error?.code), `${what}: -32600 or -32700`)
    }
  })

  t.test('a 10,000-deep value inside echo arguments → tool result isError, not 5xx', async (t) => {
    const payload = `{"jsonrpc":"2.0","id":11,"method":"tools/call","params":{"name":"echo","arguments":{"text":${deepArray(10_000)}}}}`
    const res = await inject(t, app, postRaw(victim, payload), 'deep arguments')
    t.equal(res.statusCode, 200)
    const body = res.json()
    t.equal(body.id, 11)
    t.equal(body.result?.isError, true, 'a schema mismatch tool result')
    t.match(body.result?.content?.[0]?.text, /text/, 'the message names the field')
    t.ok(res.payload.length < 2000, 'the deep value is not echoed back in the error')
  })

  t.test('a 10,000-deep object inside echo arguments → isError', async (t) => {
    const payload = `{"jsonrpc":"2.0","id":12,"method":"tools/call","params":{"name":"echo","arguments":{"text":${deepObject(10_000)}}}}`
    const res = await inject(t, app, postRaw(victim, payload), 'deep object arguments')
    t.equal(res.statusCode, 200)
    t.equal(res.json().result?.isError, true)
  })

  t.test('a 10,000-deep value as an extra argument is accepted (the schema allows extra keys)', async (t) => {
    const payload = `{"jsonrpc":"2.0","id":13,"method":"tools/call","params":{"name":"echo","arguments":{"text":"still here","extra":${deepObject(10_000)}}}}`
    const res = await inject(t, app, postRaw(victim, payload), 'deep extra argument')
    t.equal(res.statusCode, 200)
    t.same(res.json().result, { content: [{ type: 'text', text: 'still here' }] })
  })

  t.test('a 10,000-deep value in ping params._meta → {}', async (t) => {
    const payload = `{"jsonrpc":"2.0","id":14,"method":"ping","params":{"_meta":{"deep":${deepArray(10_000)}}}}`
    const res = await inject(t, app, postRaw(victim, payload), 'deep _meta')
    t.equal(res.statusCode, 200)
    t.same(res.json(), { jsonrpc: '2.0', id: 14, result: {} })
  })

  t.test('a 10,000-deep value as a progressToken → no 5xx', async (t) => {
    const payload = `{"jsonrpc":"2.0","id":15,"method":"tools/call","params":{"name":"echo","arguments":{"text":"t"},"_meta":{"progressToken":${deepArray(10_000)}}}}`
    const res = await inject(t, app, postRaw(victim, payload), 'deep progressToken')
    t.ok(res.statusCode === 200 || res.statusCode === 400, `200 or 400 (got ${res.statusCode})`)
  })

  t.test('a 3 MiB string within the 4 MiB bodyLimit is echoed back intact', async (t) => {
    // Not repetitive, so truncation or corruption anywhere shows.
    const text = randomBytes(99, 3 * MiB * 3 / 4).toString('base64')
    t.equal(text.length, 3 * MiB)
    const res = await app.inject(postRaw(victim, JSON.stringify(rpc(16, 'tools/call', { name: 'echo', arguments: { text } }))))
    t.equal(res.statusCode, 200)
    const body = res.json()
    t.equal(body.id, 16)
    t.equal(body.result.content[0].text.length, text.length)
    t.ok(body.result.content[0].text === text, 'the echoed text is identical')
  })

  t.test('a body just over the 4 MiB default bodyLimit → 413 -32000', async (t) => {
    const text = 'z'.repeat(4 * MiB)
    const res = await inject(t, app, postRaw(victim, JSON.stringify(rpc(17, 'tools/call', { name: 'echo', arguments: { text } }))), 'over 4 MiB')
    assertRpcError(t, res, 413, -32000)
  })

  t.test('__proto__ keys → 400 -32600, Object.prototype untouched', async (t) => {
    const payloads = [
      '{"jsonrpc":"2.0","id":1,"method":"ping","__proto__":{"polluted":"yes"}}',
      '{"jsonrpc":"2.0","id":1,"method":"ping","params":{"__proto__":{"isAdmin":true}}}',
      '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"x","__proto__":{"injected":1}}}}',
      '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"x","nested":[{"a":{"__proto__":{"polluted":1}}}]}}}',
      '{"jsonrpc":"2.0","method":"notifications/initialized","params":{"__proto__":{"polluted":"yes"}}}',
      // The same key written with a JSON escape: JSON.parse decodes it to a real "__proto__" key.
      '{"jsonrpc":"2.0","id":1,"method":"ping","\\u005f_proto__":{"polluted":"escaped"}}',
      '{"jsonrpc":"2.0","id":1,"method":"ping","params":{"\\u005f\\u005fproto\\u005f\\u005f":{"isAdmin":true}}}',
      `[${'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"__proto__":{"polluted":1}}}'}]`
    ]
    for (const payload of payloads) {
      const res = await inject(t, app, postRaw(victim, payload), payload.slice(0, 80))
      assertRpcError(t, res, 400, -32600)
      assertNotPolluted(t)
    }
  })

  t.test('__proto__ at the bottom of 10,000-deep nesting → 400 -32600', async (t) => {
    const payload = `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":${deepObject(10_000, '{"__proto__":{"polluted":1}}')}}}`
    const res = await inject(t, app, postRaw(victim, payload), 'deep __proto__')
    assertRpcError(t, res, 400, -32600)
    assertNotPolluted(t)
  })

  t.test('constructor.prototype keys → 400 -32600', async (t) => {
    for (const payload of [
      '{"jsonrpc":"2.0","id":1,"method":"ping","constructor":{"prototype":{"polluted":"yes"}}}',
      '{"jsonrpc":"2.0","id":1,"method":"ping","params":{"constructor":{"prototype":{"isAdmin":true}}}}',
      '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"x","constructor":{"prototype":{"injected":1}}}}}',
      // The same key written with a JSON escape: JSON.parse decodes it to "constructor".
      '{"jsonrpc":"2.0","id":1,"method":"ping","params":{"\\u0063onstructor":{"prototype":{"isAdmin":true}}}}'
    ]) {
      const res = await inject(t, app, postRaw(victim, payload), payload.slice(0, 80))
      assertRpcError(t, res, 400, -32600)
      assertNotPolluted(t)
    }
  })

  t.test('the words __proto__ and constructor as string values are ordinary text', async (t) => {
    for (const text of ['__proto__', 'constructor', '{"__proto__":{"polluted":1}}', 'constructor.prototype']) {
      const res = await inject(t, app, postRaw(victim, JSON.stringify(rpc(2, 'tools/call', { name: 'echo', arguments: { text } }))), text)
      t.equal(res.statusCode, 200, `${text}: 200`)
      t.same(res.json().result, { content: [{ type: 'text', text }] })
    }
    assertNotPolluted(t)
  })

  t.test('unicode text round-trips exactly', async (t) => {
    const texts = ['héllo wörld', '日本語のテキスト', '🦄🚀 emoji 👩‍👩‍👧‍👦', 'e\u0301 combining', '\u202Eright-to-left', 'nul\u0000inside', '\uD83D\uDE00 pair', 'line\nbreak\u2028sep\u2029end']
    for (const [i, text] of texts.entries()) {
      // Labels by index: U+2028 in a TAP message would break the TAP stream itself.
      const res = await inject(t, app, postRaw(victim, JSON.stringify(rpc(3, 'tools/call', { name: 'echo', arguments: { text } }))), `unicode #${i}`)
      t.equal(res.statusCode, 200)
      t.ok(res.json().result.content[0].text === text, `unicode #${i} echoed exactly`)
    }
  })

  t.test('a lone surrogate escape round-trips as valid JSON', async (t) => {
    const payload = '{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"echo","arguments":{"text":"a\\ud800b"}}}'
    const res = await inject(t, app, postRaw(victim, payload), 'lone surrogate')
    t.equal(res.statusCode, 200)
    t.equal(res.json().result.content[0].text, 'a\ud800b')
  })

  t.test('invalid UTF-8 bytes inside a string → -32700, or replaced by U+FFFD; never passed through', async (t) => {
    for (const bad of [[0xff], [0xfe, 0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80]]) {
      const payload = Buffer.concat([
        Buffer.from('{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"echo","arguments":{"text":"a'),
        Buffer.from(bad),
        Buffer.from('b"}}}')
      ])
      const res = await inject(t, app, postRaw(victim, payload), `bytes ${bad.map((b) => b.toString(16)).join(' ')}`)
      if (res.statusCode === 400) {
        assertRpcError(t, res, 400, -32700)
      } else {
        t.equal(res.statusCode, 200, 'either 400 -32700 or a 200 echo')
        const text: string = res.json().result.content[0].text
        t.match(text, /^a\uFFFD+b$/, 'the invalid bytes became U+FFFD')
        t.ok(Buffer.from(res.rawPayload).toString('utf8') === res.payload && !res.rawPayload.includes(Buffer.from(bad)), 'the raw invalid bytes are not sent back')
      }
    }
  })

  t.test('invalid UTF-8 as a key or outside strings → 400', async (t) => {
    const payloads = [
      Buffer.concat([Buffer.from('{"jsonrpc":"2.0","id":1,"method":"ping",'), Buffer.from([0xff, 0xfe]), Buffer.from(':1}')]),
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf, 0xff]), Buffer.from('{"jsonrpc":"2.0","id":1,"method":"ping"}')])
    ]
    for (const payload of payloads) {
      const res = await inject(t, app, postRaw(victim, payload), 'invalid utf-8 structure')
      assertRpcError(t, res, 400, -32700)
    }
  })

  t.test('a method name with control and unicode characters → -32601, echoed safely', async (t) => {
    const method = 'tools/\u0000\u202E\uD83D\uDE00' + 'x'.repeat(5000)
    const res = await inject(t, app, postRaw(victim, JSON.stringify(rpc(6, method))), 'weird method')
    t.equal(res.statusCode, 200)
    t.equal(res.json().error.code, -32601)
    t.equal(res.json().id, 6)
  })

  t.test('huge and malformed Mcp-Session-Id headers → 404 -32001 with a small body', async (t) => {
    for (const id of ['a'.repeat(8 * 1024), 'b'.repeat(100 * 1024), '../../etc/passwd', '%00%0d%0a', victim.id + 'x', victim.id.slice(0, -1), ' ' + victim.id.slice(1)]) {
      for (const method of ['POST', 'DELETE'] as const) {
        const options: InjectOptions = method === 'POST'
          ? postRaw(victim, JSON.stringify(rpc(1, 'ping')), { 'mcp-session-id': id })
          : { method: 'DELETE', url: URL, headers: { 'mcp-session-id': id } }
        const res = await inject(t, app, options, `${method} session id of length ${id.length}`)
        assertRpcError(t, res, 404, -32001)
      }
    }
  })

  t.test('an empty Mcp-Session-Id → 400 -32000', async (t) => {
    const res = await inject(t, app, postRaw(victim, JSON.stringify(rpc(1, 'ping')), { 'mcp-session-id': '' }), 'empty session id')
    assertRpcError(t, res, 400, -32000)
  })

  t.test('a huge MCP-Protocol-Version header → 400 -32000, not echoed in full', async (t) => {
    const res = await inject(t, app, postRaw(victim, JSON.stringify(rpc(1, 'ping')), { 'mcp-protocol-version': 'v'.repeat(64 * 1024) }), 'huge version header')
    assertRpcError(t, res, 400, -32000)
  })

  t.test('a huge Host and Origin header → 403 -32000, not echoed in full', async (t) => {
    const host = await inject(t, app, postRaw(victim, JSON.stringify(rpc(1, 'ping')), { host: 'h'.repeat(64 * 1024) + '.example.com' }), 'huge host')
    assertRpcError(t, host, 403, -32000)
    const origin = await inject(t, app, postRaw(victim, JSON.stringify(rpc(1, 'ping')), { origin: 'http://' + 'o'.repeat(64 * 1024) + '.example.com' }), 'huge origin')
    assertRpcError(t, origin, 403, -32000)
    const junk = await inject(t, app, postRaw(victim, JSON.stringify(rpc(1, 'ping')), { origin: '\u0000not a url' }), 'junk origin')
    assertRpcError(t, junk, 403, -32000)
  })

  t.test('a huge Accept and Content-Type header → 4xx', async (t) => {
    const accept = await inject(t, app, postRaw(victim, JSON.stringify(rpc(1, 'ping')), { accept: 'x/y, '.repeat(20_000) }), 'huge accept')
    assertRpcError(t, accept, 406, -32000)
    const type = await inject(t, app, postRaw(victim, JSON.stringify(rpc(1, 'ping')), { 'content-type': 'text/' + 'p'.repeat(20_000) }), 'huge content-type')
    assertRpcError(t, type, 415, -32000)
  })

  t.test('a batch of 20,000 messages (under bodyLimit) → 400 -32600', async (t) => {
    const payload = '[' + Array.from({ length: 20_000 }, (_, i) => `{"jsonrpc":"2.0","id":${i},"method":"ping"}`).join(',') + ']'
    const res = await inject(t, app, postRaw(bystander, payload), 'huge batch')
    assertRpcError(t, res, 400, -32600)
  })

  t.test('a batch of 100 deep-nested items on 2025-03-26 → 400 -32600', async (t) => {
    const payload = '[' + Array.from({ length: 100 }, () => deepArray(1000)).join(',') + ']'
    const res = await inject(t, app, postRaw(bystander, payload), 'deep batch')
    assertRpcError(t, res, 400, -32600)
  })

  t.test('many huge ids and params → served or refused, never 5xx', async (t) => {
    const big = 'i'.repeat(64 * 1024)
    const res = await inject(t, app, postRaw(victim, JSON.stringify(rpc(big, 'ping'))), 'huge id')
    t.equal(res.statusCode, 200)
    t.equal(res.json().id, big, 'a long string id is still echoed')
    const unsafe = await inject(t, app, postRaw(victim, '{"jsonrpc":"2.0","id":1e400,"method":"ping"}'), 'infinite id')
    assertRpcError(t, unsafe, 400, -32600)
    const huge = await inject(t, app, postRaw(victim, '{"jsonrpc":"2.0","id":99999999999999999999999,"method":"ping"}'), 'huge integer id')
    assertRpcError(t, huge, 400, -32600)
    // 2^53 + 1 parses as 2^53: answered under another id, the client would wait forever.
    const beyond = await inject(t, app, postRaw(victim, '{"jsonrpc":"2.0","id":9007199254740993,"method":"ping"}'), 'id 2^53 + 1')
    t.match(assertRpcError(t, beyond, 400, -32600).error.message, /2\^53/)
    const largest = await inject(t, app, postRaw(victim, '{"jsonrpc":"2.0","id":9007199254740991,"method":"ping"}'), 'id 2^53 - 1')
    t.same(largest.json(), { jsonrpc: '2.0', id: 9007199254740991, result: {} }, 'the largest safe integer is answered exactly')
    const negative = await inject(t, app, postRaw(victim, '{"jsonrpc":"2.0","id":-9007199254740993,"method":"ping"}'), 'id -(2^53 + 1)')
    assertRpcError(t, negative, 400, -32600)
    const inBatch = await inject(t, app, postRaw(bystander, '[{"jsonrpc":"2.0","id":9007199254740993,"method":"ping"}]'), 'unsafe id in a batch')
    assertRpcError(t, inBatch, 400, -32600)
  })

  t.test('a 3 MiB method, tool, prompt or URI name is not echoed whole', async (t) => {
    const app = await buildApp(t, {
      demo: true,
      setup (app) {
        app.mcp.prompt({ name: 'p', description: 'a prompt with an argument' }, () => 'p')
        app.mcp.resourceTemplate({ uriTemplate: 'demo://{id}', name: 'item', variables: Type.Object({ id: Type.String({ maxLength: 10 }) }) }, () => 'x')
      }
    })
    const victim = await openSession(app)
    const big = 'x'.repeat(3 * MiB)
    const cases: Array<[string, Record<string, unknown>]> = [
      ['method', rpc(1, big)],
      ['tool name', rpc(2, 'tools/call', { name: big, arguments: {} })],
      ['prompt name', rpc(3, 'prompts/get', { name: big })],
      ['prompt argument name', rpc(5, 'prompts/get', { name: 'p', arguments: { [big]: 1 } })],
      ['unknown resource URI', rpc(6, 'resources/read', { uri: `other://${big}` })],
      ['resource URI', rpc(4, 'resources/read', { uri: `demo://${big}` })]
    ]
    for (const [what, message] of cases) {
      const res = await inject(t, app, postRaw(victim, JSON.stringify(message)), what)
      t.equal(res.statusCode, 200, `${what}: in band`)
      t.ok(res.json().error, `${what}: a JSON-RPC error`)
      t.ok(res.payload.length < 2000, `${what}: the answer stays small (${res.payload.length} bytes)`)
    }
  })

  t.test('after all of that the server keeps serving', async (t) => {
    const ping = await inject(t, app, postRaw(victim, JSON.stringify(rpc('after', 'ping'))), 'ping after')
    t.equal(ping.statusCode, 200)
    t.same(ping.json(), { jsonrpc: '2.0', id: 'after', result: {} })

    const echo = await inject(t, app, postRaw(bystander, JSON.stringify(rpc(1, 'tools/call', { name: 'echo', arguments: { text: 'unaffected' } }))), 'bystander echo')
    t.equal(echo.statusCode, 200)
    t.same(echo.json(), { jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'unaffected' }] } })

    const batch = await inject(t, app, postRaw(bystander, JSON.stringify([rpc(1, 'ping'), rpc(2, 'ping')])), 'bystander batch')
    t.equal(batch.statusCode, 200)
    t.equal(batch.json().length, 2)

    const fresh = await openSession(app)
    const list = await inject(t, app, postRaw(fresh, JSON.stringify(rpc(1, 'tools/list'))), 'fresh session')
    t.equal(list.statusCode, 200)
    t.ok(list.json().result.tools.length >= 3)

    const stats = await app.mcp.stats()
    t.equal(stats.sessions, 3, 'no session was created or lost by the hostile requests')
    assertNotPolluted(t)
  })
})

t.test('hostile input with a small bodyLimit', async (t) => {
  const app = await buildApp(t, { demo: true, options: { bodyLimit: 1024 } })
  const session = await openSession(app)

  t.test('a lying Content-Length over the limit → 413 -32000', async (t) => {
    const res = await inject(t, app, postRaw(session, JSON.stringify(rpc(1, 'ping')), { 'content-length': String(10 * MiB) }), 'lying content-length')
    assertRpcError(t, res, 413, -32000)
  })

  t.test('random bytes over the limit → 413 -32000 (the limit is checked before parsing)', async (t) => {
    const res = await inject(t, app, postRaw(session, randomBytes(5, 4096)), 'random over limit')
    assertRpcError(t, res, 413, -32000)
  })

  t.test('a deep nesting over the limit → 413', async (t) => {
    const res = await inject(t, app, postRaw(session, deepArray(10_000)), 'deep over limit')
    assertRpcError(t, res, 413, -32000)
  })

  t.test('the session still works', async (t) => {
    const res = await inject(t, app, postRaw(session, JSON.stringify(rpc(1, 'ping'))), 'ping')
    t.same(res.json(), { jsonrpc: '2.0', id: 1, result: {} })
  })
})

t.test('hostile input on the 2026-07-28 path: 4xx with the id, never 5xx, sessions untouched', async (t) => {
  const app = await buildApp(t, { demo: true })
  const bystander = await openSession(app)
  const PV = 'io.modelcontextprotocol/protocolVersion'
  const CAPS = 'io.modelcontextprotocol/clientCapabilities'
  const headers = (method: string, extra: Record<string, string> = {}): Record<string, string> => ({
    'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2026-07-28', 'mcp-method': method, ...extra
  })
  const send = (payload: unknown, method: string, extra: Record<string, string> = {}, what = method) =>
    inject(t, app, { method: 'POST', url: URL, headers: headers(method, extra), payload: typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload) }, what)
  const envelope = { [PV]: '2026-07-28', [CAPS]: {} }

  const badMeta: Array<[string, unknown]> = [
    ['_meta a string', 'x'],
    ['_meta an array', [1, 2]],
    ['_meta null', null],
    ['the claim an object', { [PV]: { deep: true }, [CAPS]: {} }],
    ['the claim a huge string', { [PV]: 'v'.repeat(100_000), [CAPS]: {} }],
    ['capabilities a string', { [PV]: '2026-07-28', [CAPS]: 'all' }],
    ['clientInfo a number', { ...envelope, 'io.modelcontextprotocol/clientInfo': 7 }],
    ['logLevel an array', { ...envelope, 'io.modelcontextprotocol/logLevel': ['debug'] }]
  ]
  for (const [what, meta] of badMeta) {
    const res = await send({ jsonrpc: '2.0', id: 'm1', method: 'tools/list', params: { _meta: meta } }, 'tools/list', {}, what)
    t.equal(res.statusCode, 400, `${what}: 400`)
    t.equal(res.json().id, 'm1', `${what}: the id is echoed`)
    t.ok([-32602, -32020, -32022].includes(res.json().error.code), `${what}: ${res.json().error.code}`)
    t.ok(res.payload.length < 2000, `${what}: the error body stays small (${res.payload.length} bytes)`)
  }

  const deep = await send(`{"jsonrpc":"2.0","id":"m5","method":"tools/list","params":{"_meta":{"${PV}":"2026-07-28","${CAPS}":${deepObject(10_000, '{}')}}}}`, 'tools/list', {}, 'capabilities 10,000 deep')
  t.ok(deep.statusCode === 200 || deep.statusCode === 400, `capabilities 10,000 deep: served or refused (${deep.statusCode})`)

  const call = { jsonrpc: '2.0', id: 'm2', method: 'tools/call', params: { name: 'echo', arguments: { text: 'x' }, _meta: envelope } }
  const badHeaders: Array<[string, Record<string, string>]> = [
    ['a huge Mcp-Name', { 'mcp-name': 'e'.repeat(60_000) }],
    ['Mcp-Name Base64 of invalid UTF-8', { 'mcp-name': `=?base64?${Buffer.from([0xff, 0xfe, 0xfd]).toString('base64')}?=` }],
    ['Mcp-Name an empty sentinel', { 'mcp-name': '=?base64??=' }],
    ['Mcp-Name a huge sentinel', { 'mcp-name': `=?base64?${'QUFB'.repeat(15_000)}?=` }],
    ['a huge Mcp-Method', { 'mcp-method': 'm'.repeat(60_000), 'mcp-name': 'echo' }],
    ['a huge MCP-Protocol-Version', { 'mcp-protocol-version': '2026-07-28'.repeat(5000), 'mcp-name': 'echo' }]
  ]
  for (const [what, extra] of badHeaders) {
    const res = await send(call, 'tools/call', extra, what)
    t.equal(res.statusCode, 400, `${what}: 400`)
    t.equal(res.json().error.code, -32020, `${what}: -32020`)
    t.equal(res.json().id, 'm2', `${what}: the id is echoed`)
    t.ok(res.payload.length < 2000, `${what}: not echoed in full (${res.payload.length} bytes)`)
  }

  const deepFilter = await send(`{"jsonrpc":"2.0","id":"m3","method":"subscriptions/listen","params":{"notifications":${deepObject(10_000, '{}')},"_meta":{"${PV}":"2026-07-28","${CAPS}":{}}}}`, 'subscriptions/listen', {}, 'a filter 10,000 deep')
  // Unknown keys of a filter are ignored: nothing honoured, the ack and the end at once.
  t.equal(deepFilter.statusCode, 200)
  t.match(deepFilter.payload, /"notifications":\{\}/, 'a filter 10,000 deep: nothing honoured')
  t.ok(deepFilter.payload.length < 2000, 'a filter 10,000 deep: not echoed back')
  // The demo has no resources: 100,000 URIs are honoured as none, and the stream ends at once.
  const many = await send({ jsonrpc: '2.0', id: 'm6', method: 'subscriptions/listen', params: { notifications: { resourceSubscriptions: Array.from({ length: 100_000 }, (_, i) => `demo://${i}`) }, _meta: envelope } }, 'subscriptions/listen', {}, '100,000 URIs')
  t.equal(many.statusCode, 200)
  t.match(many.headers['content-type'], /^text\/event-stream/)
  t.ok(many.payload.length < 2000, `100,000 URIs: not echoed back (${many.payload.length} bytes)`)
  const listens: Array<[string, unknown]> = [
    ['URIs that are not strings', { resourceSubscriptions: [1, null, {}] }]
  ]
  for (const [what, notifications] of listens) {
    const res = await send({ jsonrpc: '2.0', id: 'm3', method: 'subscriptions/listen', params: { notifications, _meta: envelope } }, 'subscriptions/listen', {}, what)
    // A valid filter opens a stream (inject waits for its end: none here, so invalid ones only).
    t.equal(res.statusCode, 200, `${what}: in band`)
    t.equal(res.json().error.code, -32602, `${what}: -32602`)
  }

  const random = await send(randomBytes(16, 4096), 'tools/list', {}, 'random bytes with modern headers')
  t.equal(random.statusCode, 400)
  t.equal(random.json().error.code, -32700)

  const polluted = await send(`{"jsonrpc":"2.0","id":"m4","method":"tools/list","params":{"_meta":{"${PV}":"2026-07-28","${CAPS}":{"__proto__":{"polluted":true}}}}}`, 'tools/list', {}, '__proto__ in the capabilities')
  t.equal(polluted.statusCode, 400)
  assertNotPolluted(t)

  const ping = await inject(t, app, postRaw(bystander, JSON.stringify(rpc('after', 'ping'))), 'the session after')
  t.same(ping.json(), { jsonrpc: '2.0', id: 'after', result: {} })
  t.equal((await app.mcp.stats()).sessions, 1, 'no session created by the modern requests')
})

t.test('a body over bodyLimit sent whole reaches its sender as a 413, not a broken pipe', async (t) => {
  const app = await buildApp(t, { demo: true, options: { bodyLimit: 64 * 1024 } })
  const url = await listen(app)
  const size = 4 * MiB
  for (let attempt = 0; attempt < 5; attempt++) {
    const { received, errors, stalled } = await sendWholeBody(t, url, 'POST /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream', size)
    t.notOk(stalled, `attempt ${attempt}: the connection ended`)
    t.same(errors, [], `attempt ${attempt}: no EPIPE or ECONNRESET while sending`)
    t.match(received, /^HTTP\/1\.1 413 /, `attempt ${attempt}: the 413 was read`)
    t.match(received, /"code":-32000/, `attempt ${attempt}: with its JSON-RPC body`)
  }
})
