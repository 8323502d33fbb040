// `npm run bench:modern [-- --quick]`: the 2026-07-28 benchmarks (modern.ts, listen-streams.ts,
// listen-latency.ts), each in its own process, then their targets checked against this run's
// results; a full run also regenerates docs/benchmarks-modern.md. (`npm run bench` runs them too.)
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { MODERN_SCRIPTS, modernTargets, readModernRuns, writeModernDocs } from './modern-report.js'

const quick = process.argv.includes('--quick')
const started = Date.now()
for (const script of MODERN_SCRIPTS) {
  const { status } = spawnSync(process.execPath, [fileURLToPath(new URL(script, import.meta.url)), ...(quick ? ['--quick'] : [])], { stdio: 'inherit' })
  if (status !== 0) {
    console.error(`${script} failed (exit ${status})`)
    process.exit(1)
  }
}
console.log(`\n2026-07-28 targets (${quick ? 'quick run' : 'full run'}; ratios are medians of same-round ratios):\n`)
console.table(modernTargets(readModernRuns(quick ? '-quick' : '').run))
if (!quick && writeModernDocs()) console.log('\ndocs/benchmarks-modern.md regenerated from this run')
console.log(`\n2026-07-28 benchmarks took ${Math.round((Date.now() - started) / 1000)} s`)
