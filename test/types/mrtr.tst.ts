// inputRequired(...): what tool, prompt and resource handlers may return to ask for input.
import { Type } from '@sinclair/typebox'
import Fastify from 'fastify'
import { describe, expect, test } from 'tstyche'
import { acceptedContent, inputRequired, type InputRequest, type InputRequiredResult, type ToolContext } from '../../lib/index.js'

const app = Fastify()

describe('inputRequired', () => {
  test('handlers of the three multi round-trip methods may return it', () => {
    app.mcp.tool({ name: 'ask', description: 'ask', inputSchema: Type.Object({ env: Type.String() }) }, ({ env }, ctx) => {
      if (acceptedContent(ctx.inputResponses, 'ok') === undefined) {
        return inputRequired({ inputRequests: { ok: inputRequired.elicit(`Deploy to ${env}?`, { type: 'object', properties: {} }) }, requestState: { env } })
      }
      return 'done'
    })
    app.mcp.prompt({ name: 'p', description: 'p' }, async () => inputRequired({ inputRequests: { roots: inputRequired.listRoots() } }))
    app.mcp.resource({ uri: 'test://r', name: 'r' }, () => inputRequired({ requestState: 1 }))
  })

  test('the builders make input requests; the result carries the state\'s type', () => {
    expect(inputRequired.createMessage({ messages: [], maxTokens: 1 })).type.toBeAssignableTo<InputRequest>()
    expect(inputRequired.elicitUrl('m', 'https://x.test')).type.toBeAssignableTo<InputRequest>()
    expect(inputRequired({ requestState: { step: 2 } })).type.toBe<InputRequiredResult<{ step: number }>>()
  })

  test('a request for input needs a known kind', () => {
    expect(inputRequired).type.not.toBeCallableWith({ inputRequests: { x: { method: 'ping', params: {} } } })
  })

  test('the context carries the answers and the verified state', () => {
    expect<ToolContext['inputResponses']>().type.toBe<Readonly<Record<string, unknown>> | undefined>()
    expect<ToolContext['requestState']>().type.toBe<unknown>()
  })
})
