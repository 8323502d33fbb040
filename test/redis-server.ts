// Moved to test/helpers/redis-server.ts. This re-export is for test/demo-redis.test.ts,
// whose owner updates its imports separately; delete it once nothing imports './redis-server.js'.
export * from './helpers/redis-server.js'
