// A request refused before its body is read (406 for its Accept, 405 for its method, 415 for
// its Content-Type) reaches a sender still writing a large body as that answer, not as a
// broken pipe: the refusal waits (bounded) until the body has arrived, as the 413 does
// (hostile-input.test.ts). Found by the reliability fuzz (multi-MB bodies answered EPIPE).
import t from 'tap'
import { buildApp, listen } from './helpers/index.js'
import { sendWholeBody } from './helpers/raw-body.js'

const MiB = 1024 * 1024

const cases: Array<[string, string, number]> = [
  ['an Accept without text/event-stream', 'POST /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nAccept: application/json', 406],
  ['a method the endpoint does not serve', 'PUT /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream', 405],
  ['a Content-Type other than JSON', 'POST /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\nAccept: application/json, text/event-stream', 415]
]

t.test('a large body refused before it is read gets its answer, not a broken pipe', async (t) => {
  const app = await buildApp(t, { demo: true })
  const url = await listen(app)
  const size = 8 * MiB
  for (const [what, head, status] of cases) {
    for (let attempt = 0; attempt < 3; attempt++) {
      const { received, errors, stalled } = await sendWholeBody(t, url, `${head}\r\nConnection: close`, size)
      t.notOk(stalled, `${what}, attempt ${attempt}: the connection ended`)
      t.same(errors, [], `${what}, attempt ${attempt}: no EPIPE or ECONNRESET while sending`)
      t.match(received, new RegExp(`^HTTP/1\\.1 ${status} `), `${what}, attempt ${attempt}: the ${status} was read`)
      t.match(received, /"jsonrpc":"2\.0"/, `${what}, attempt ${attempt}: with its JSON-RPC body`)
    }
  }
})
