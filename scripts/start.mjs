#!/usr/bin/env node
// `npm start`: run the demo MCP server (examples/demo) from dist/, rebuilt first (npm run build)
// when a source under lib/, schemas/ or examples/demo/ is newer than the built server, so that
// what starts is the current code. HOST, PORT, LOG_LEVEL and REDIS_URL are the demo's.
// The build's output goes to stderr; the server then runs in this very process (its signal
// handling and exit code are the demo's own).
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { buildIfStale, root } from './build-if-stale.mjs'

const serverEntry = join(root, 'dist', 'examples', 'demo', 'server.js')
buildIfStale(serverEntry, ['lib', 'schemas', join('examples', 'demo')], (message) => console.error(`[start] ${message}`))
await import(pathToFileURL(serverEntry).href)
