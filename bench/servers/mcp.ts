// The plugin under benchmark: the demo app (echo, add, countdown) on the memory store,
// with room for every pre-created session (TOUCH_INTERVAL_MS overrides the bench's refresh interval). Started by bench/harness.ts in its own process.
import { buildDemo } from '../../examples/demo/app.js'
import { serve } from './serve.js'
import { SESSION_TTL_MS, TOUCH_INTERVAL_MS } from '../targets.js'

const app = await buildDemo({
  maxSessions: 1_000_000,
  sessionTtlMs: SESSION_TTL_MS,
  touchIntervalMs: Number(process.env.TOUCH_INTERVAL_MS ?? TOUCH_INTERVAL_MS),
  // RATE_LIMIT=1: rate limiting on, with a limit no run reaches (what counting costs).
  rateLimit: process.env.RATE_LIMIT === '1' ? { max: 1e12, timeWindow: 60_000 } : false
}, { logger: false })
await serve(app)
