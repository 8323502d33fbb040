// app.mcp.prompt(): the handler's arguments are typed from the arguments schema.
import { Type } from '@sinclair/typebox'
import Fastify from 'fastify'
import { describe, expect, test } from 'tstyche'
import type { PromptMessage, PromptResult, ToolContext } from '../../lib/index.js'

const app = Fastify()

describe('prompt', () => {
  test('the arguments schema types the arguments', () => {
    app.mcp.prompt({
      name: 'summarize',
      description: 'summarize a topic',
      arguments: Type.Object({ topic: Type.String(), tone: Type.Optional(Type.String()) })
    }, (args, ctx) => {
      expect(args).type.toBe<{ topic: string, tone?: string }>()
      expect(ctx).type.toBe<ToolContext>()
      return `Summarize ${args.topic}`
    })
  })

  test('an argument the schema does not have is a type error', () => {
    app.mcp.prompt({ name: 'summarize', description: 'summarize', arguments: Type.Object({ topic: Type.String() }) },
      // @ts-expect-error Property 'tone' does not exist on type '{ topic: string; }'
      ({ tone }) => String(tone))
  })

  test('without arguments: an empty object', () => {
    app.mcp.prompt({ name: 'hello', description: 'hello' }, (args) => {
      expect(args).type.toBe<{}>()
      return 'hello'
    })
  })

  test('arguments are strings: another schema is a type error', () => {
    app.mcp.prompt({
      name: 'count',
      description: 'count',
      // @ts-expect-error Property 'n' is incompatible with index signature
      arguments: Type.Object({ n: Type.Number() })
    }, () => 'count')
  })

  test('completers are keyed by the arguments', () => {
    app.mcp.prompt({
      name: 'summarize',
      description: 'summarize',
      arguments: Type.Object({ topic: Type.String() }),
      complete: {
        topic: (value, context, ctx) => {
          expect(value).type.toBe<string>()
          expect(context).type.toBe<{ arguments: Record<string, string> }>()
          expect(ctx).type.toBe<ToolContext>()
          return [value]
        },
        // @ts-expect-error Object literal may only specify known properties
        tone: () => []
      }
    }, () => 'summary')
  })

  test('a handler returns text, messages or a GetPromptResult', () => {
    expect<PromptResult>().type.toBeAssignableFrom('text')
    expect<PromptResult>().type.toBeAssignableFrom([{ role: 'user', content: { type: 'text', text: 'hi' } }] satisfies PromptMessage[])
    expect<PromptResult>().type.not.toBeAssignableFrom(42)
  })
})
