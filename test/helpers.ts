// The helpers moved to test/helpers/index.ts. This re-export is for test/demo-redis.test.ts,
// whose owner updates its imports separately; delete it once nothing imports './helpers.js'.
export * from './helpers/index.js'
