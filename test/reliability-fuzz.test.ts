// The fast slice of the reliability fuzz (the full one is `npm run reliability`, 20,000
// requests): the same fast-check model and checks (reliability/fuzz.ts), a fixed seed, a few
// hundred requests against the demo app listening in this process, while a well-behaved
// session and a 2026-07-28 caller keep calling echo. No 5xx but 503, no stack trace, every
// error a short JSON-RPC error, every id answered exactly, and the sentinels never fail.
import t from 'tap'
import { runFuzz } from '../reliability/fuzz.js'
import { buildApp, listen } from './helpers/index.js'

const SEED = 20_2026
const COUNT = 400

t.test('fuzzed requests never break the server or the well-behaved clients beside them', async (t) => {
  const app = await buildApp(t, { demo: true })
  const url = await listen(app)
  const report = await runFuzz({ url, count: COUNT, seed: SEED, concurrency: 4 })
  t.equal(report.requests, COUNT, 'every request was sent')
  t.same(report.violations, [], 'no answer broke a rule')
  t.ok(report.sentinel.checks >= 5, `the 2025 session called echo ${report.sentinel.checks} times meanwhile`)
  t.same(report.sentinel.failures, [], 'and was always answered correctly')
  t.ok(report.modern.checks >= 5, `the 2026-07-28 caller called echo ${report.modern.checks} times meanwhile`)
  t.same(report.modern.failures, [], 'and was always answered correctly')
  t.ok(Object.keys(report.statuses).length >= 4, `a spread of answers: ${JSON.stringify(report.statuses)}`)
})
