// The context every handler gets besides its arguments.
import { Type } from '@sinclair/typebox'
import Fastify, { type FastifyBaseLogger } from 'fastify'
import { describe, expect, test } from 'tstyche'
import type { ElicitResult, McpAuthInfo, SessionRecord, ToolContext } from '../../lib/index.js'

const app = Fastify()

describe('ToolContext', () => {
  test('is what a tool handler gets', () => {
    app.mcp.tool({ name: 'work', description: 'work', inputSchema: Type.Object({}) }, async (_args, ctx) => {
      expect(ctx).type.toBe<ToolContext>()
      return 'done'
    })
  })

  test('its members', () => {
    app.mcp.tool({ name: 'work', description: 'work' }, async (_args, ctx) => {
      expect(ctx.signal).type.toBe<AbortSignal>()
      expect(ctx.progress(1, 10, 'one of ten')).type.toBe<Promise<void>>()
      expect(ctx.progress).type.toBeCallableWith(1)
      expect(ctx.progress).type.not.toBeCallableWith('1')
      expect(ctx.log('info', { step: 1 })).type.toBe<Promise<void>>()
      expect(ctx.log).type.not.toBeCallableWith('loud', 'x')
      expect(ctx.sessionId).type.toBe<string | undefined>()
      expect(ctx.session).type.toBe<Readonly<SessionRecord> | undefined>()
      expect(ctx.auth).type.toBe<McpAuthInfo | undefined>()
      expect(ctx.logger).type.toBe<FastifyBaseLogger>()
      expect(ctx.elicit('name?', { type: 'object' })).type.toBe<Promise<ElicitResult>>()
      expect(ctx.closeStream()).type.toBe<boolean>()
      return 'done'
    })
  })

  test('is read-only', () => {
    app.mcp.tool({ name: 'work', description: 'work' }, async (_args, ctx) => {
      // @ts-expect-error Cannot assign to 'signal' because it is a read-only property
      ctx.signal = new AbortController().signal
      return 'done'
    })
  })
})
