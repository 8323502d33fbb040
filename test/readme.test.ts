import { readFileSync } from 'node:fs'
import t from 'tap'
import { OPTION_NAMES, defaultOptions } from '../lib/options.js'

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
  for (const status of [200, 202, 204, 400, 401, 403, 404, 405, 406, 413, 415, 503]) {
    t.match(table, new RegExp(`\\| ${status} \\|`), `status ${status}`)
  }
})
