// The plugin serving 2026-07-28 requests: the demo app (echo, add, countdown) on the memory
// store, with room for MAX_SUBSCRIPTIONS listen streams (default 1,024); with REDIS_URL, on
// Redis (REDIS_PREFIX), so that list changes reach the listen streams of every instance on
// the same Redis and prefix. Started by bench/harness.ts in its own process.
import { buildDemo } from '../../examples/demo/app.js'
import { serve } from './serve.js'

const redis = process.env.REDIS_URL
const app = await buildDemo({
  maxSubscriptions: Number(process.env.MAX_SUBSCRIPTIONS ?? 1024),
  ...(redis === undefined ? {} : { redis, redisPrefix: process.env.REDIS_PREFIX ?? 'bench:' })
}, { logger: false })
await serve(app)
