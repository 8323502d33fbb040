// docs/reliability.md from a run's figures (and, when there is one, an older build's run).
import type { ChurnResult } from './churn.js'
import type { ExpiryResult } from './expiry.js'
import type { FuzzResult } from './fuzz-run.js'
import type { RedisFaultsResult } from './redis-faults.js'
import type { ShutdownResult } from './shutdown.js'
import type { SlowlorisResult } from './slowloris.js'

export interface Results {
  date: string
  label: string
  build: string
  machine: string
  seconds: Record<string, number>
  /** When each scenario last ran (UTC), where runs of subsets were merged. */
  ranAt?: Record<string, string>
  /** Anything to say about how the figures were obtained. */
  note?: string
  shutdown?: ShutdownResult
  slowloris?: SlowlorisResult
  redis?: RedisFaultsResult
  expiry?: ExpiryResult
  fuzz?: FuzzResult
  churnMemory?: ChurnResult
  churnRedis?: ChurnResult
}

const CMD = 'npm run reliability --'
const n = (value: number) => value.toLocaleString('en-US')
const verdict = (ok: boolean) => ok ? '**pass**' : '**FAIL**'
const statuses = (s: Record<string, number>) => Object.entries(s).map(([k, v]) => `${k === '0' ? 'no answer' : k}: ${n(v)}`).join(', ')

function churnRow (c: ChurnResult): string {
  const keys = c.redisKeysStart === undefined ? '–' : `${c.redisKeysStart} → ${c.redisKeysEnd}`
  const ok = !c.crashed && c.failures === 0 && c.heapGrowthPct <= 10 && (c.redisKeysEnd === undefined || c.redisKeysEnd <= (c.redisKeysStart ?? 0) + 5)
  return `| ${c.store} | ${n(c.cycles)} | ${c.seconds} s (${n(c.cyclesPerSecond)}/s) | ${c.failures} | ${c.heapStartMb} → ${c.heapEndMb} MB (${c.heapGrowthPct >= 0 ? '+' : ''}${c.heapGrowthPct}%) | ${keys} | ${verdict(ok)} |`
}

function drip (d: SlowlorisResult['headerDrippers'], limit: number): string {
  return d.dropped === 0 ? `none dropped within ${limit} s` : `${d.dropped} of ${d.sockets} dropped, median ${d.p50Sec} s, last ${d.maxSec} s${d.dropped < d.sockets ? ` (${d.sockets - d.dropped} still open at ${limit} s)` : ''}`
}

function shutdownText (s: ShutdownResult): string {
  return s.gaveUpAfterSec === undefined ? `${n(s.closeMs)} ms` : `not done after ${s.gaveUpAfterSec} s`
}

function beforeAfter (after: Results, before: Results): string {
  const rows: string[] = []
  if (after.shutdown !== undefined && before.shutdown !== undefined) {
    rows.push(`| 1. app.close() under keep-alive load (${after.shutdown.clients} clients, calls in flight) | ${shutdownText(before.shutdown)} | ${shutdownText(after.shutdown)} | \`${CMD} --only shutdown\` |`)
  }
  if (after.slowloris !== undefined && before.slowloris !== undefined) {
    rows.push(`| 2. header drippers (1 byte/s, demo settings) | ${drip(before.slowloris.headerDrippers, before.slowloris.limitSec)} | ${drip(after.slowloris.headerDrippers, after.slowloris.limitSec)} | \`${CMD} --only slowloris\` |`)
    rows.push(`| 2. body drippers (1 byte/s, demo settings) | ${drip(before.slowloris.bodyDrippers, before.slowloris.limitSec)} | ${drip(after.slowloris.bodyDrippers, after.slowloris.limitSec)} | \`${CMD} --only slowloris\` |`)
  }
  if (after.expiry !== undefined && before.expiry !== undefined) {
    const e = (x: ExpiryResult) => x.leftAtLimit === 0 ? `index empty ${n(x.forgottenAfterMs)} ms after the last expiry` : `${n(x.leftAtLimit)} of ${n(x.created)} still indexed ${x.limitSec} s after the last expiry`
    rows.push(`| 4. ${n(after.expiry.sessions)} sessions expiring on Redis (TTL ${after.expiry.ttlMs / 1000} s, so a sweep every ${after.expiry.ttlMs / 1000} s) | ${e(before.expiry)} | ${e(after.expiry)} | \`${CMD} --only expiry\` |`)
  }
  if (after.redis !== undefined && before.redis !== undefined) {
    const h = (x: RedisFaultsResult) => `p50 ${n(x.hang.p50Ms)} ms, p99 ${n(x.hang.p99Ms)} ms; ${n(x.hang.slowAnswers ?? Number.NaN)} of ${n(x.hang.requests)} took ≥ 1 s`
    rows.push(`| 6. requests while Redis hangs (SIGSTOP ${after.redis.hang.hangSec} s, ${after.redis.rate}/s) | ${h(before.redis)} | ${h(after.redis)} | \`${CMD} --only redis\` |`)
  }
  return [
    '## Before and after the hardening (issue 20)',
    '',
    `"Before" is the build of commit 39610fe (the last one before the hardening commits), run by this suite on ${before.date.slice(0, 10)} with \`MCP_RELIABILITY_DIST=<that worktree>/dist ${CMD} --label before --only shutdown,slowloris,redis,expiry --slowloris-sec 100\` (reliability/results/before.json)${before.note === undefined ? '' : `; ${before.note}`}; "after" is this run. The same machine, the same load caveat.`,
    '',
    '| point | before | after | command |',
    '| --- | --- | --- | --- |',
    ...rows,
    ''
  ].join('\n')
}

export function renderReport (r: Results, before?: Results): string {
  const out: string[] = [
    '# Reliability',
    '',
    'What `npm run reliability` measures (not part of `npm test`; the whole run takes under 15 minutes) and the figures of its last full run. Each scenario starts the demo server (examples/demo: its request timeouts, its JSON-RPC client-error handler, plus a `slow` tool) in a process of its own (reliability/server.ts), so a crash shows as an exit and the heap is the server\'s alone; Redis scenarios start their own redis-server. A fast slice of the fuzz runs in `npm test` (test/reliability-fuzz.test.ts, 400 requests, the same model and checks); the shutdown check\'s fast slice is test/shutdown-connections.test.ts (close time with a keep-alive client in flight) and test/drain.test.ts.',
    '',
    `Run of ${r.date.slice(0, 16).replace('T', ' ')} UTC on ${r.machine}. **Caveat:** the machine has 2 cores shared with other work running at the same time (other developers' builds and tests), so rates and latencies are lower and noisier than on a quiet machine; the pass/fail criteria do not depend on speed. Seconds per scenario: ${Object.entries(r.seconds).map(([k, v]) => `${k} ${v}${r.ranAt?.[k] !== undefined && r.ranAt[k].slice(0, 13) !== r.date.slice(0, 13).replace('T', ' ') ? ` (run at ${r.ranAt[k]})` : ''}`).join(', ')}.`,
    ''
  ]
  if (r.churnMemory !== undefined || r.churnRedis !== undefined) {
    out.push('## Churn', '', `initialize → notifications/initialized → tools/call echo → DELETE, 16 at a time on keep-alive connections, after a 2,000-cycle warm-up. Goal: no failure, heap after a full GC within 10% of where it was after the warm-up, Redis keys back where they were. \`${CMD} --only churn --cycles 100000\``, '', '| store | cycles | time | failures | heap after GC | Redis keys (DBSIZE) | |', '| --- | --- | --- | --- | --- | --- | --- |')
    for (const c of [r.churnMemory, r.churnRedis]) if (c !== undefined) out.push(churnRow(c))
    out.push('')
  }
  if (r.fuzz !== undefined) {
    const f = r.fuzz
    const ok = !f.crashed && f.violationCount === 0 && f.sentinel.failures.length === 0 && f.modern.failures.length === 0
    out.push('## Fuzz', '', `${n(f.requests)} requests drawn by fast-check (seed ${f.seed}) from JSON-RPC-ish bodies (messages, batches, bare JSON, bytes), headers (Accept, Content-Type, Mcp-Session-Id of a pool of sessions or made up or 20 KiB long, MCP-Protocol-Version, Mcp-Method, Mcp-Name, Origin, Last-Event-ID), 2026-07-28 \`_meta\` envelopes, methods, ids (strings, numbers beyond 2^53, objects) and strings up to 1 MB, 8 at a time. Checked on every answer: no 5xx but 503, no stack trace or path, every 4xx/5xx a JSON-RPC error, error text short (whatever the request carried, the id aside), a JSON-RPC message in every 200, the id of each request answered exactly (a number beyond 2^53 never answered with another number). Meanwhile a 2025-11-25 session and a 2026-07-28 caller call echo in a loop and must get their text back. \`${CMD} --only fuzz --fuzz 20000 --seed ${f.seed}\``, '')
    out.push(`- ${verdict(ok)}: ${f.violationCount} answers broke a rule; server ${f.crashed ? '**crashed**' : 'still running'}; ${f.ms / 1000} s.`)
    out.push(`- Answers: ${statuses(f.statuses)}; ${f.streamsCut} GET streams left open by the server (cut by the fuzz after 0.5 s, as expected).`)
    out.push(`- Beside them: the 2025 session's echo ${n(f.sentinel.checks)} times, ${f.sentinel.failures.length} wrong; the 2026-07-28 caller's ${n(f.modern.checks)} times, ${f.modern.failures.length} wrong.`)
    for (const v of f.violations.slice(0, 5)) out.push(`- violation: ${v.problems.join('; ')} — \`${v.request.slice(0, 200).replaceAll('`', "'")}\``)
    out.push('')
  }
  if (r.slowloris !== undefined) {
    const s = r.slowloris
    out.push('## Slowloris', '', `${s.headerDrippers.sockets + s.bodyDrippers.sockets} sockets at once, half sending their headers and half their body (after complete headers) at 1 byte/s, against the demo's settings (\`requestTimeout\` and \`headersTimeout\` 10 s; Node checks them every 30 s). A normal client opens a session and calls echo once a second meanwhile. \`${CMD} --only slowloris\``, '')
    out.push(`- Header drippers: ${drip(s.headerDrippers, s.limitSec)}.`)
    out.push(`- Body drippers: ${drip(s.bodyDrippers, s.limitSec)}.`)
    out.push(`- Normal client: ${s.normal.checks} sessions, ${s.normal.failures} failed, p99 ${n(s.normal.p99Ms)} ms (initialize + initialized + echo). Server ${s.crashed ? '**crashed**' : 'still running'}.`, '')
  }
  if (r.redis !== undefined) {
    const x = r.redis
    const row = (name: string, f: RedisFaultsResult['kill'] | RedisFaultsResult['hang']) => `| ${name} | ${n(f.requests)} | ${statuses(f.statuses)} | ${n(f.p50Ms)} / ${n(f.p99Ms)} / ${n(f.maxMs)} ms | ${n(f.slowAnswers)} | ${f.maxInFlight} | ${Number.isNaN(f.recoveryMs) ? 'not within 60 s' : `${n(f.recoveryMs)} ms`} |`
    out.push('## Redis killed and hung', '', `tools/call echo at ${x.rate}/s on the Redis store (\`redisTimeoutMs\` ${x.redisTimeoutMs}), an open loop (clients keep sending whatever the answers). Killed: SIGKILL, ${x.kill.downSec} s down, then a fresh empty server on the same port (the sessions are gone: their next requests get 404). Hung: SIGSTOP for ${x.hang.hangSec} s, then SIGCONT. Figures for the requests sent while Redis was away; recovery is from Redis being back to the first new session served. \`${CMD} --only redis\``, '', '| fault | requests | answers | p50 / p99 / max | ≥ 1 s | most in flight | recovery |', '| --- | --- | --- | --- | --- | --- | --- |', row(`killed ${x.kill.downSec} s`, x.kill), row(`hung ${x.hang.hangSec} s`, x.hang), '')
    out.push('While hung, the requests of the first `redisTimeoutMs` wait out the command timeout (so the peak in flight is rate × 2 s either way); after three timeouts in a row the breaker answers 503 at once until a probe (every `redisTimeoutMs`) succeeds, where without it every request of the hang waits 2 s.', '')
  }
  if (r.expiry !== undefined) {
    const e = r.expiry
    out.push('## Expiry at scale', '', `${n(e.sessions)} sessions initialized on Redis (TTL ${e.ttlMs / 1000} s, so the expiry sweep runs every ${e.ttlMs / 1000} s) and never ended by their clients. \`${CMD} --only expiry\``, '')
    out.push(`- ${e.leftAtLimit === 0 ? `The session index was empty ${n(e.forgottenAfterMs)} ms after the last session expired` : `${n(e.leftAtLimit)} entries still indexed ${e.limitSec} s after the last expiry`} (${n(e.created)} created).`, '')
  }
  if (r.shutdown !== undefined) {
    const s = r.shutdown
    out.push('## Shutdown under load', '', `${s.clients} keep-alive clients, each with a session, calling echo and a 300 ms tool alternately; app.close() after 3 s. \`${CMD} --only shutdown\``, '')
    out.push(`- app.close() took ${shutdownText(s)} (Node's \`keepAliveTimeout\` is 72 s: a close waiting for pooled connections would take that long).`)
    out.push(`- Calls in flight when close began: ${statuses(s.inFlightAtClose)} (of ${n(s.callsBeforeClose)} sent before it). Server ${s.crashed ? '**crashed**' : 'exited cleanly'}.`, '')
  }
  if (before !== undefined) out.push(beforeAfter(r, before))
  out.push('## Reproducing', '', '`npm run reliability` builds, runs everything and rewrites this page (results also in reliability/results/after.json). `--only <names>` runs a subset (churn, fuzz, slowloris, redis, shutdown, expiry); `--cycles`, `--redis-cycles`, `--fuzz`, `--seed` size them. To measure another build, point `MCP_RELIABILITY_DIST` at its `dist/` and pass `--label before` (its figures go to reliability/results/before.json and appear in the table above on the next full run).', '')
  return out.join('\n')
}
