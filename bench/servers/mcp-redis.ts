// The plugin under benchmark on Redis (REDIS_URL), optionally with the near-cache
// (NEAR_CACHE=1): the demo app with room for every pre-created session. Started by
// bench/harness.ts in its own process.
import { buildDemo } from '../../examples/demo/app.js'
import { serve } from './serve.js'
import { NEAR_CACHE, SESSION_TTL_MS, TOUCH_INTERVAL_MS } from '../targets.js'

const app = await buildDemo({
  redis: process.env.REDIS_URL!,
  redisPrefix: process.env.REDIS_PREFIX ?? 'bench:',
  nearCache: process.env.NEAR_CACHE === '1' ? NEAR_CACHE : false,
  maxSessions: 1_000_000,
  sessionTtlMs: SESSION_TTL_MS,
  touchIntervalMs: Number(process.env.TOUCH_INTERVAL_MS ?? TOUCH_INTERVAL_MS),
  // RATE_LIMIT=1: rate limiting on, with a limit no run reaches (what counting costs).
  rateLimit: process.env.RATE_LIMIT === '1' ? { max: 1e12, timeWindow: 60_000 } : false
}, { logger: false })
await serve(app)
