// Print a results file of bench/session-lookup.ts as a markdown table (for the README):
//   node dist/bench/report.js bench/results/session-lookup.json
import { readFileSync } from 'node:fs'
import { LOOKUP_COLUMNS, table, type LookupRun } from './docs.js'

const file = process.argv[2] ?? 'bench/results/session-lookup.json'
const run = JSON.parse(readFileSync(file, 'utf8')) as LookupRun
console.log(table(LOOKUP_COLUMNS, run.rows))
console.log()
console.log(`${run.date.slice(0, 10)}, ${String(run.machine.cpus)}, ${String(run.machine.memoryGiB)} GiB, Node ${String(run.machine.node)}; ` +
  `${run.rounds} rounds × ${run.sliceSec} s per scenario, ${run.connections} connections; ` +
  `CPU steal during the run ${run.stealPct}%.`)
