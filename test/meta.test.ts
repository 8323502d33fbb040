import { readFileSync } from 'node:fs'
import t from 'tap'
import { PACKAGE_NAME, PACKAGE_VERSION } from '../lib/meta.js'

t.test('the default serverInfo matches package.json', async (t) => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
  t.equal(PACKAGE_NAME, pkg.name)
  t.equal(PACKAGE_VERSION, pkg.version)
})
