// `npm run bench [-- --quick]`: every benchmark, each in its own process (each starts its
// servers in processes of their own), then the targets checked against this run's results.
// A full run also regenerates docs/benchmarks.md and docs/benchmarks.svg.
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { table, writeDocs } from './docs.js'
import { targets, type LookupRun, type SseRun } from './targets.js'
import { MODERN_SCRIPTS, modernTargets, readModernRuns } from './modern-report.js'

const quick = process.argv.includes('--quick')
const started = Date.now()
for (const script of ['session-lookup.js', 'sse-streams.js', ...MODERN_SCRIPTS]) {
  const { status } = spawnSync(process.execPath, [fileURLToPath(new URL(script, import.meta.url)), ...(quick ? ['--quick'] : [])], { stdio: 'inherit' })
  if (status !== 0) {
    console.error(`${script} failed (exit ${status})`)
    process.exit(1)
  }
}
const results = new URL('./results/', import.meta.url.replace('/dist/bench/', '/bench/'))
const suffix = quick ? '-quick' : ''
const lookup = JSON.parse(readFileSync(new URL(`session-lookup${suffix}.json`, results), 'utf8')) as LookupRun
const sse = JSON.parse(readFileSync(new URL(`sse-streams${suffix}.json`, results), 'utf8')) as SseRun
const rows = targets(lookup, sse)
rows.push(...modernTargets(readModernRuns(suffix).run))
console.log(`\ntargets (${quick ? 'quick run: largest session count 10,000' : 'full run'}; ratios are medians of same-round ratios):\n`)
console.log(table(['target', 'goal', 'reached', 'met'], rows))
if (!quick) {
  writeDocs()
  console.log('\ndocs/benchmarks.md and docs/benchmarks.svg regenerated from this run')
}
console.log(`\nbenchmarks took ${Math.round((Date.now() - started) / 1000)} s`)
