// Print a results file of bench/session-lookup.ts as a markdown table (for the README):
//   node dist/bench/report.js bench/results/session-lookup.json
import { readFileSync } from 'node:fs'

const file = process.argv[2] ?? 'bench/results/session-lookup.json'
const run = JSON.parse(readFileSync(file, 'utf8')) as {
  date: string
  machine: Record<string, string | number>
  rounds: number
  sliceSec: number
  connections: number
  stealPct: number
  rows: Array<Record<string, string | number>>
}
const columns = ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', 'req/s ÷ bare', 'CPU ÷ bare']
console.log(`| ${columns.join(' | ')} |`)
console.log(`|${columns.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`)
for (const row of run.rows) console.log(`| ${columns.map((c) => String(row[c])).join(' | ')} |`)
console.log()
console.log(`${run.date.slice(0, 10)}, ${run.machine.cpus}, ${run.machine.memoryGiB} GiB, Node ${run.machine.node}; ` +
  `${run.rounds} rounds × ${run.sliceSec} s per scenario, ${run.connections} connections; ` +
  `CPU steal during the run ${run.stealPct}%.`)
