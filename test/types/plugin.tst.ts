// The plugin's types as a user sees them: importing the package augments FastifyInstance.
import Fastify, { type FastifyInstance } from 'fastify'
import { describe, expect, test } from 'tstyche'
import mcp, { fastifyMcp, type McpDecorator, type McpPluginOptions, type McpStats, type SessionStore } from '../../lib/index.js'

describe('the FastifyInstance augmentation', () => {
  test('app.mcp is the McpDecorator', () => {
    expect<FastifyInstance>().type.toHaveProperty('mcp')
    expect<FastifyInstance['mcp']>().type.toBe<McpDecorator>()
  })

  test('its members', () => {
    const app = Fastify()
    expect(app.mcp.sessions).type.toBe<SessionStore>()
    expect(app.mcp.stats()).type.toBe<Promise<McpStats>>()
    expect(app.mcp.removeTool('x')).type.toBe<boolean>()
    expect(app.mcp.notifyResourceUpdated('file:///a')).type.toBe<Promise<number>>()
    expect(app.mcp.onRootsListChanged(() => {})).type.toBe<() => void>()
    expect(app.mcp).type.not.toHaveProperty('nope')
  })
})

describe('registering the plugin', () => {
  test('the default export and the named one are the same plugin', () => {
    expect(fastifyMcp).type.toBe<typeof mcp>()
  })

  test('takes McpPluginOptions', () => {
    const app = Fastify()
    expect(app.register).type.toBeCallableWith(mcp)
    expect(app.register).type.toBeCallableWith(mcp, { path: '/mcp', responseMode: 'json', allowedHosts: false })
    expect(app.register).type.not.toBeCallableWith(mcp, { responseMode: 'xml' })
    expect(app.register).type.not.toBeCallableWith(mcp, { path: 1 })
    expect<McpPluginOptions['responseMode']>().type.toBe<'auto' | 'json' | 'sse' | undefined>()
  })
})
