import { errors } from '../errors.js'

/**
 * The one store guard: `store` (the value of option `option`) is an object with every method
 * in `methods`, or `FST_MCP_INVALID_STORE` says which is missing.
 */
export function assertStore (option: string, contract: string, store: unknown, methods: readonly string[]): void {
  if (store === null || typeof store !== 'object') {
    throw new errors.FST_MCP_INVALID_STORE(option, `must be an object implementing ${contract}`)
  }
  for (const method of methods) {
    if (typeof (store as Record<string, unknown>)[method] !== 'function') {
      throw new errors.FST_MCP_INVALID_STORE(option, `needs ${/^[aeiou]/.test(method) ? 'an' : 'a'} ${method}() method`)
    }
  }
}
