// The plugin under benchmark: the demo app (echo, add, countdown) on the memory store,
// with room for every pre-created session. Started by bench/harness.ts in its own process.
import { buildDemo } from '../../examples/demo/app.js'
import { serve } from './serve.js'

const app = await buildDemo({ maxSessions: 1_000_000, sessionTtlMs: 60 * 60_000 }, { logger: false })
await serve(app)
