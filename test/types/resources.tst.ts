// app.mcp.resourceTemplate(): the read callback's variables are typed from the variables schema.
import { Type } from '@sinclair/typebox'
import Fastify from 'fastify'
import { describe, expect, test } from 'tstyche'
import type { TemplateVariables, ToolContext } from '../../lib/index.js'

const app = Fastify()

describe('resourceTemplate', () => {
  test('a variables schema types the variables', () => {
    app.mcp.resourceTemplate({
      uriTemplate: 'file:///logs/{date}/{name}',
      name: 'logs',
      variables: Type.Object({ date: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' }), name: Type.String() })
    }, (uri, variables, ctx) => {
      expect(uri).type.toBe<string>()
      expect(variables).type.toBe<{ date: string, name: string }>()
      expect(ctx).type.toBe<ToolContext>()
      return variables.date
    })
  })

  test('a variable the schema does not have is a type error', () => {
    app.mcp.resourceTemplate({ uriTemplate: 'file:///logs/{date}', name: 'logs', variables: Type.Object({ date: Type.String() }) },
      // @ts-expect-error Property 'name' does not exist on type '{ date: string; }'
      (_uri, { name }) => String(name))
  })

  test('completers are keyed by the variables', () => {
    app.mcp.resourceTemplate({
      uriTemplate: 'file:///logs/{date}',
      name: 'logs',
      variables: Type.Object({ date: Type.String() }),
      complete: {
        date: (value) => [value],
        // @ts-expect-error Object literal may only specify known properties
        name: (value: string) => [value]
      }
    }, () => '')
  })

  test('without a schema: strings by name', () => {
    app.mcp.resourceTemplate({ uriTemplate: 'file:///logs/{date}', name: 'logs' }, (_uri, variables) => {
      expect(variables).type.toBe<Record<string, string>>()
      return ''
    })
    expect<TemplateVariables<undefined>>().type.toBe<Record<string, string>>()
  })
})

describe('resource', () => {
  test('the read callback gets the URI and the context', () => {
    app.mcp.resource({ uri: 'file:///readme', name: 'readme' }, (uri, ctx) => {
      expect(uri).type.toBe<string>()
      expect(ctx).type.toBe<ToolContext>()
      return { text: 'hello', mimeType: 'text/plain' }
    })
    expect(app.mcp.resource).type.not.toBeCallableWith({ uri: 'file:///readme', name: 'readme' }, () => 42)
  })
})
