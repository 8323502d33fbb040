// `npm start` runs scripts/start.mjs: it rebuilds dist/ first when a TypeScript source under
// lib/, schemas/ or examples/demo/ is newer than dist/examples/demo/server.js.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { isStale } from '../scripts/build-if-stale.mjs'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

t.test('npm start is scripts/start.mjs, which checks the demo sources before starting the built server', async (t) => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
  t.equal(pkg.scripts.start, 'node scripts/start.mjs')
  const source = readFileSync(join(ROOT, 'scripts', 'start.mjs'), 'utf8')
  t.match(source, /buildIfStale\(serverEntry, \['lib', 'schemas', join\('examples', 'demo'\)\]/)
  t.match(source, /'dist', 'examples', 'demo', 'server\.js'/)
})

t.test('isStale: a missing build, or a .ts file newer than it, anywhere below a source folder', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'demo-start-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  mkdirSync(join(dir, 'src', 'deep'), { recursive: true })
  const source = join(dir, 'src', 'deep', 'a.ts')
  const other = join(dir, 'src', 'notes.md')
  const built = join(dir, 'server.js')
  writeFileSync(source, '')
  writeFileSync(other, '')
  t.ok(isStale(built, [join(dir, 'src')]), 'not built yet: stale')
  writeFileSync(built, '')
  const at = (seconds: number) => new Date(1_700_000_000_000 + seconds * 1000)
  utimesSync(source, at(0), at(0))
  utimesSync(built, at(10), at(10))
  utimesSync(other, at(20), at(20))
  t.notOk(isStale(built, [join(dir, 'src')]), 'built after the last .ts change: fresh (other files do not count)')
  utimesSync(source, at(30), at(30))
  t.ok(isStale(built, [join(dir, 'src')]), 'a .ts file changed since, in a subfolder: stale')
  t.notOk(isStale(built, [join(dir, 'missing')]), 'a missing source folder counts as no source')
})
