// Rebuild dist/ (npm run build) when a TypeScript source is newer than a built entry point.
// Shared by scripts/conformance.mjs and scripts/start.mjs, so that both run the current code.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'

/** The newest mtime (ms) of the .ts files under `dir`, 0 when there are none. */
export function newestMtime (dir) {
  let newest = 0
  if (!existsSync(dir)) return newest
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(path))
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs)
  }
  return newest
}

/** True when `entry` is missing or older than a .ts file under one of `sourceDirs` (relative to the root, or absolute). */
export function isStale (entry, sourceDirs) {
  if (!existsSync(entry)) return true
  const sources = Math.max(0, ...sourceDirs.map((dir) => newestMtime(resolve(root, dir))))
  return statSync(entry).mtimeMs < sources
}

/**
 * Run `npm run build` if `entry` is stale. Returns true when it built; exits the process
 * with the build's status if the build fails. The build's output goes to stderr, so that
 * stdout stays the server's.
 */
export function buildIfStale (entry, sourceDirs, say) {
  if (!isStale(entry, sourceDirs)) return false
  say('building (npm run build)')
  const result = spawnSync(npm, ['run', 'build', '--silent'], { cwd: root, stdio: ['ignore', process.stderr, process.stderr] })
  if (result.status !== 0) {
    say(`failed: npm run build (${result.error?.message ?? `exit ${result.status ?? result.signal}`})`)
    process.exit(result.status ?? 1)
  }
  return true
}
