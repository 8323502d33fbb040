import { existsSync, readFileSync } from 'node:fs'
import t from 'tap'
import { OPTION_NAMES, defaultOptions } from '../lib/options.js'
import { SUPPORTED_VERSIONS, MODERN_VERSIONS } from '../lib/core/versions.js'

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')

function section (title: string): string {
  const start = readme.indexOf(`\n## ${title}\n`)
  if (start === -1) throw new Error(`README has no "## ${title}" section`)
  const end = readme.indexOf('\n## ', start + 1)
  return readme.slice(start, end === -1 ? undefined : end)
}

t.test('README starts with the two commands a new user runs', async (t) => {
  const firstBlock = /```bash\n([\s\S]*?)```/.exec(readme)
  t.ok(firstBlock, 'a bash block')
  t.ok(readme.indexOf('```bash') < readme.indexOf('\n## '), 'before the first section')
  const lines = firstBlock![1]!.trim().split('\n')
  t.match(lines[0], /^npm ci && npm start\b/)
  t.match(lines[1], /^npm test\b/)
})

t.test('README is read in five minutes: under 400 lines', async (t) => {
  const lines = readme.split('\n').length
  t.ok(lines < 400, `${lines} lines`)
})

t.test('the Install section installs the package from npm', async (t) => {
  t.match(section('Install'), /```bash\nnpm i fastify-mcp-streamable\b/)
})

t.test('the Compatibility table names exactly the protocol revisions the code speaks', async (t) => {
  const row = section('Compatibility').split('\n').find((line) => /^\| \d/.test(line))
  t.ok(row, 'a version row')
  const revisions = row!.match(/\d{4}-\d{2}-\d{2}/g) ?? []
  t.same([...revisions].sort(), [...SUPPORTED_VERSIONS, ...MODERN_VERSIONS].sort())
})

t.test('the options table lists exactly the options the code accepts, with the code defaults', async (t) => {
  const rows = section('Options').split('\n').filter((line) => line.startsWith('| `'))
  const documented = rows.map((row) => /^\| `([^`]+)`/.exec(row)![1])
  t.same(documented, [...OPTION_NAMES], 'same options, same order')
  for (const [name, value] of Object.entries(defaultOptions)) {
    const row = rows.find((r) => r.startsWith(`| \`${name}\``))!
    const defaultCell = row.split(' | ')[2]!
    t.ok(defaultCell.includes(String(value)), `default of ${name} (${String(value)}) in "${defaultCell}"`)
  }
})

t.test('the status table covers every status the endpoint answers', async (t) => {
  const table = section('Status codes')
  for (const status of [200, 202, 204, 400, 401, 403, 404, 405, 406, 413, 415, 429, 503]) {
    t.match(table, new RegExp(`\\| ${status} \\|`), `status ${status}`)
  }
})

t.test('README links stay inside the repository and point at files that exist', async (t) => {
  for (const [, target] of readme.matchAll(/\]\(([^)\s]+)\)/g)) {
    if (/^[a-z]+:/.test(target!) || target!.startsWith('#')) continue
    const path = target!.split('#')[0]!
    t.notOk(path.startsWith('../') || path.startsWith('/'), `${target} is inside the repository`)
    t.ok(existsSync(new URL(`../${path}`, import.meta.url)), `${path} exists`)
  }
  t.notMatch(readme, /\bDESIGN\b|\.\.\/shared\//, 'no references to the design notes outside the repository')
  t.notMatch(readme, /\bissue \d|the issue's/i, 'no references to issues instead of their content')
})
