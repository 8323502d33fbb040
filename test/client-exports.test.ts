// `fastify-mcp-streamable/client` and the `mcp-streamable` bin, as package.json publishes them.
import { readFileSync } from 'node:fs'
import t from 'tap'
import * as client from '../lib/client/index.js'

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))

t.test('the client subpath export and the bin point at the built client', async (t) => {
  t.same(pkg.exports['./client'], { types: './dist/lib/client/index.d.ts', import: './dist/lib/client/index.js' })
  t.same(pkg.bin, { 'mcp-streamable': './dist/lib/client/bin.js' })
  t.ok(pkg.files.includes('dist/lib'), 'dist/lib (client and bin included) is published')
  t.match(readFileSync(new URL('../lib/client/bin.ts', import.meta.url), 'utf8'), /^#!\/usr\/bin\/env node\n/)
  t.match(pkg.dependencies['eventsource-parser'], /^~3\./, 'eventsource-parser 3.x: 4.x needs Node 22')
})

t.test('the client\'s public runtime surface', async (t) => {
  t.same(Object.keys(client).sort(), ['LEGACY_VERSIONS', 'MODERN_VERSIONS', 'McpClient', 'STATUS_HINTS', 'Subscription', 'connect', 'entropyBits', 'forgetVerdicts', 'formatReport', 'runDoctor'])
})
