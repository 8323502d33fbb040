#!/usr/bin/env node
// The `mcp-streamable` command (the package's bin).
import { main } from './cli.js'

process.exitCode = await main(process.argv.slice(2))
