// Finished requests must die young. The tables every request passes through (requests in
// flight, resumable POST streams, open SSE connections) are churned by each one; if they
// kept entries they no longer hold reachable across scavenges, as a V8 Map or Set does with
// a few dozen in flight, each request's whole object graph would be promoted and live until
// a mark-compact. Measured in a process of its own (test/fixtures/inflight-churn.ts), so
// nothing else allocates there. With a Map or Set, 32 and 128 in flight need 2 or 3
// mark-compacts in every table.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const FIXTURE = fileURLToPath(new URL('./fixtures/inflight-churn.ts', import.meta.url))

interface ChurnResult { promoted: number, markCompacts: number, held: number, pending: number }

function churn (table: string, inFlight: number): ChurnResult {
  const run = spawnSync(process.execPath, ['--expose-gc', '--import=tsx', FIXTURE, table, String(inFlight)], { cwd: ROOT, encoding: 'utf8' })
  if (run.status !== 0) throw new Error(`fixture failed: ${run.stderr}`)
  return JSON.parse(run.stdout) as ChurnResult
}

for (const table of ['inflight', 'posts', 'streams']) {
  for (const inFlight of [1, 32, 128]) {
    t.test(`${table}, ${inFlight} at a time: 30,000 finished requests are collected young`, async (t) => {
      const { promoted, markCompacts, held, pending } = churn(table, inFlight)
      if (held !== -1) t.equal(held, pending, 'the entries not yet ended are still held')
      // About 200 MB pass through; what is live at any moment is well under 1 MB. The old
      // generation still takes each new key (interned strings live there): about 80 B each.
      t.equal(markCompacts, 0, 'no mark-compact was needed')
      t.ok(promoted < 8 * 1024 * 1024, `old generation grew by ${(promoted / 1024 / 1024).toFixed(1)} MB`)
    })
  }
}
