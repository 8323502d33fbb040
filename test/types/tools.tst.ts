// app.mcp.tool(): the handler's arguments are inferred from inputSchema, structuredContent from outputSchema.
import { Type } from '@sinclair/typebox'
import Fastify from 'fastify'
import { describe, expect, test } from 'tstyche'
import type { ToolResult, ToolSchema } from '../../lib/index.js'

const app = Fastify()
const Sum = Type.Object({ sum: Type.Number() })

/** The `structuredContent` a handler may return for a given outputSchema. */
type Structured<O extends ToolSchema | undefined = undefined> = NonNullable<Exclude<ToolResult<O>, string | unknown[]>['structuredContent']>

describe('inputSchema', () => {
  test('a TypeBox object types the arguments', () => {
    app.mcp.tool({ name: 'double', description: 'double', inputSchema: Type.Object({ a: Type.Number() }) }, async ({ a }) => {
      expect(a).type.toBe<number>()
      return String(2 * a)
    })
    app.mcp.tool({
      name: 'greet',
      description: 'greet',
      inputSchema: Type.Object({ name: Type.String(), times: Type.Optional(Type.Integer()), tags: Type.Array(Type.String()) })
    }, (args) => {
      expect(args).type.toBe<{ name: string, times?: number, tags: string[] }>()
      return args.name
    })
  })

  test('a property the schema does not have is a type error', () => {
    app.mcp.tool({ name: 'double', description: 'double', inputSchema: Type.Object({ a: Type.Number() }) },
      // @ts-expect-error Property 'b' does not exist on type '{ a: number; }'
      async ({ b }) => String(b))
    expect(app.mcp.tool).type.not.toBeCallableWith(
      { name: 'double', description: 'double', inputSchema: Type.Object({ a: Type.Number() }) },
      (args: { a: string }) => args.a
    )
  })

  test('a raw JSON Schema gives Record<string, unknown>', () => {
    app.mcp.tool({ name: 'raw', description: 'raw', inputSchema: { type: 'object', properties: { n: { type: 'integer' } } } }, (args) => {
      expect(args).type.toBe<Record<string, unknown>>()
      return 'ok'
    })
  })
})

describe('outputSchema', () => {
  test('a TypeBox object types structuredContent', () => {
    expect<Structured<typeof Sum>>().type.toBe<{ sum: number }>()
    app.mcp.tool({ name: 'add', description: 'add', inputSchema: Type.Object({ a: Type.Number(), b: Type.Number() }), outputSchema: Sum },
      async ({ a, b }) => ({ content: [{ type: 'text', text: String(a + b) }], structuredContent: { sum: a + b } }))
    app.mcp.tool({ name: 'add', description: 'add', outputSchema: Sum },
      // @ts-expect-error The types of 'structuredContent.sum' are incompatible between these types
      async () => ({ structuredContent: { sum: 'two' } }))
  })

  test('a raw JSON Schema, or none, gives Record<string, unknown>', () => {
    expect<Structured<{ type: 'object' }>>().type.toBe<Record<string, unknown>>()
    expect<Structured>().type.toBe<Record<string, unknown>>()
  })

  test('a handler may also return text or content blocks', () => {
    expect<ToolResult>().type.toBeAssignableFrom('text')
    expect<ToolResult>().type.toBeAssignableFrom([{ type: 'text' as const, text: 'a' }])
    expect<ToolResult>().type.not.toBeAssignableFrom(42)
  })
})
