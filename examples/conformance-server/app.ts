/**
 * The fixture server of the official MCP conformance suite (`@modelcontextprotocol/conformance`,
 * see conformance/): exactly the tools, resources and prompts its server scenarios call, with
 * the literal values of the suite's reference "everything server". Run the suite against it
 * with `npm run conformance`; start it alone with `npm run conformance:server`.
 */
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { Type } from '@sinclair/typebox'
import mcp, { acceptedContent, inputRequired, listedRoots, sampledMessage, type McpPluginOptions } from '../../lib/index.js'
import { registerModernFixtures } from './modern.js'

/** 1×1 PNG (image/png). */
export const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=='
/** A minimal WAV file (audio/wav). */
export const WAV = 'UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA='

/** The raw JSON Schema 2020-12 input schema of `json_schema_2020_12_tool`, published as is. */
export const JSON_SCHEMA_2020_12 = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  $defs: {
    address: {
      $anchor: 'addressDef',
      type: 'object',
      properties: { street: { type: 'string' }, city: { type: 'string' } }
    }
  },
  properties: {
    name: { type: 'string' },
    address: { $ref: '#/$defs/address' },
    contactMethod: { type: 'string', enum: ['phone', 'email'] },
    phone: { type: 'string' },
    email: { type: 'string' }
  },
  allOf: [{ anyOf: [{ required: ['phone'] }, { required: ['email'] }] }],
  if: { properties: { contactMethod: { const: 'phone' } }, required: ['contactMethod'] },
  then: { required: ['phone'] },
  else: { required: ['email'] },
  additionalProperties: false
} as const

const sleep = (ms: number, signal: AbortSignal) => new Promise<void>((resolve, reject) => {
  if (signal.aborted) return reject(signal.reason)
  const timer = setTimeout(() => { signal.removeEventListener('abort', onAbort); resolve() }, ms)
  const onAbort = () => { clearTimeout(timer); reject(signal.reason) }
  signal.addEventListener('abort', onAbort, { once: true })
})

/** The text of a sampling result's content (one block or, since 2025-11-25, an array). */
function sampledText (content: unknown): string {
  const blocks = Array.isArray(content) ? content : [content]
  const texts = blocks
    .filter((block): block is { type: 'text', text: string } => block !== null && typeof block === 'object' && (block as { type?: unknown }).type === 'text')
    .map((block) => block.text)
  return texts.length > 0 ? texts.join('\n') : JSON.stringify(content)
}

/** The tools of conformance.md §5.1. */
export function registerConformanceTools (app: FastifyInstance): void {
  app.mcp.tool({
    name: 'test_simple_text',
    description: 'Tests simple text content response'
  }, () => 'This is a simple text response for testing.')

  app.mcp.tool({
    name: 'test_image_content',
    description: 'Tests image content response'
  }, () => [{ type: 'image', data: PNG, mimeType: 'image/png' }])

  app.mcp.tool({
    name: 'test_audio_content',
    description: 'Tests audio content response'
  }, () => [{ type: 'audio', data: WAV, mimeType: 'audio/wav' }])

  app.mcp.tool({
    name: 'test_embedded_resource',
    description: 'Tests embedded resource content response'
  }, () => [{
    type: 'resource',
    resource: { uri: 'test://embedded-resource', mimeType: 'text/plain', text: 'This is an embedded resource content.' }
  }])

  app.mcp.tool({
    name: 'test_multiple_content_types',
    description: 'Tests response with multiple content types (text, image, resource)'
  }, () => [
    { type: 'text', text: 'Multiple content types test:' },
    { type: 'image', data: PNG, mimeType: 'image/png' },
    { type: 'resource', resource: { uri: 'test://mixed-content-resource', mimeType: 'application/json', text: '{"test":"data","value":123}' } }
  ])

  app.mcp.tool({
    name: 'test_tool_with_logging',
    description: 'Tests tool that emits log messages during execution'
  }, async (_args, ctx) => {
    await ctx.log('info', 'Tool execution started')
    await sleep(50, ctx.signal)
    await ctx.log('info', 'Tool processing data')
    await sleep(50, ctx.signal)
    await ctx.log('info', 'Tool execution completed')
    return 'Tool with logging executed successfully'
  })

  app.mcp.tool({
    name: 'test_tool_with_progress',
    description: 'Tests tool that reports progress notifications'
  }, async (_args, ctx) => {
    await ctx.progress(0, 100, 'Completed step 0 of 100')
    await sleep(50, ctx.signal)
    await ctx.progress(50, 100, 'Completed step 50 of 100')
    await sleep(50, ctx.signal)
    await ctx.progress(100, 100, 'Completed step 100 of 100')
    return `Progress tool completed (token: ${String(ctx.meta?.progressToken ?? 'none')})`
  })

  app.mcp.tool({
    name: 'test_error_handling',
    description: 'Tests error response handling'
  }, () => ({
    isError: true,
    content: [{ type: 'text', text: 'This tool intentionally returns an error for testing' }]
  }))

  app.mcp.tool({
    name: 'test_sampling',
    description: 'Tests server-initiated sampling (LLM completion request)',
    inputSchema: Type.Object({ prompt: Type.String({ description: 'The prompt to send to the LLM' }) })
  }, async ({ prompt }, ctx) => {
    const result = await ctx.sample({
      messages: [{ role: 'user', content: { type: 'text', text: prompt } }],
      maxTokens: 100
    })
    return `LLM response: ${sampledText(result.content)}`
  })

  app.mcp.tool({
    name: 'test_elicitation',
    description: 'Tests server-initiated elicitation (user input request)',
    inputSchema: Type.Object({ message: Type.String({ description: 'The message to show the user' }) })
  }, async ({ message }, ctx) => {
    const result = await ctx.elicit(message, {
      type: 'object',
      properties: {
        username: { type: 'string', description: "User's response" },
        email: { type: 'string', description: "User's email address" }
      },
      required: ['username', 'email']
    })
    return `User response: action=${result.action}, content=${JSON.stringify(result.content ?? {})}`
  })

  app.mcp.tool({
    name: 'test_elicitation_sep1034_defaults',
    description: 'Tests elicitation with default values for all primitive types (SEP-1034)'
  }, async (_args, ctx) => {
    const result = await ctx.elicit('Please review and update the form fields with defaults', {
      type: 'object',
      properties: {
        name: { type: 'string', description: 'User name', default: 'John Doe' },
        age: { type: 'integer', description: 'User age', default: 30 },
        score: { type: 'number', description: 'User score', default: 95.5 },
        status: { type: 'string', description: 'User status', enum: ['active', 'inactive', 'pending'], default: 'active' },
        verified: { type: 'boolean', description: 'Verification status', default: true }
      },
      required: []
    })
    return `Elicitation completed: action=${result.action}, content=${JSON.stringify(result.content ?? {})}`
  })

  app.mcp.tool({
    name: 'test_elicitation_sep1330_enums',
    description: 'Tests elicitation with enum schema improvements (SEP-1330)'
  }, async (_args, ctx) => {
    const result = await ctx.elicit('Please select options from the enum fields', {
      type: 'object',
      properties: {
        untitledSingle: {
          type: 'string',
          description: 'Select one option',
          enum: ['option1', 'option2', 'option3']
        },
        titledSingle: {
          type: 'string',
          description: 'Select one option with titles',
          oneOf: [
            { const: 'value1', title: 'First Option' },
            { const: 'value2', title: 'Second Option' },
            { const: 'value3', title: 'Third Option' }
          ]
        },
        legacyEnum: {
          type: 'string',
          description: 'Select one option (legacy)',
          enum: ['opt1', 'opt2', 'opt3'],
          enumNames: ['Option One', 'Option Two', 'Option Three']
        },
        untitledMulti: {
          type: 'array',
          description: 'Select multiple options',
          minItems: 1,
          maxItems: 3,
          items: { type: 'string', enum: ['option1', 'option2', 'option3'] }
        },
        titledMulti: {
          type: 'array',
          description: 'Select multiple options with titles',
          minItems: 1,
          maxItems: 3,
          items: {
            anyOf: [
              { const: 'value1', title: 'First Choice' },
              { const: 'value2', title: 'Second Choice' },
              { const: 'value3', title: 'Third Choice' }
            ]
          }
        }
      },
      required: []
    })
    return `Elicitation completed: action=${result.action}, content=${JSON.stringify(result.content ?? {})}`
  })

  // A raw JSON Schema 2020-12 inputSchema, published exactly as written ($schema, $defs,
  // additionalProperties: false), which TypeBox cannot express.
  app.mcp.tool({
    name: 'json_schema_2020_12_tool',
    description: 'Tool with JSON Schema 2020-12 features',
    inputSchema: JSON_SCHEMA_2020_12
  }, (args) => `JSON Schema 2020-12 tool called with: ${JSON.stringify(args)}`)

  // SSE polling (SEP-1699): the tool closes its POST connection after the priming event,
  // then answers; the client reconnects with Last-Event-ID and gets the result replayed.
  app.mcp.tool({
    name: 'test_reconnection',
    description: 'Tests SSE stream reconnection: closes the stream mid-call, the result arrives on the resumed stream'
  }, async (_args, ctx) => {
    ctx.closeStream()
    await sleep(100, ctx.signal)
    return 'Reconnection test completed successfully.'
  })
}

/** The resources and resource template of conformance.md §5.2. */
export function registerConformanceResources (app: FastifyInstance): void {
  app.mcp.resource({
    uri: 'test://static-text',
    name: 'static-text',
    mimeType: 'text/plain',
    description: 'A static text resource for testing'
  }, () => 'This is the content of the static text resource.')

  app.mcp.resource({
    uri: 'test://static-binary',
    name: 'static-binary',
    mimeType: 'image/png',
    description: 'A static binary resource (image) for testing'
  }, () => ({ blob: PNG }))

  app.mcp.resource({
    uri: 'test://watched-resource',
    name: 'watched-resource',
    mimeType: 'text/plain',
    description: 'A resource that can be subscribed to'
  }, () => 'Watched resource content')

  app.mcp.resourceTemplate({
    uriTemplate: 'test://template/{id}/data',
    name: 'template-data',
    mimeType: 'application/json',
    description: 'A resource template with an id parameter'
  }, (_uri, { id }) => JSON.stringify({ id, templateTest: true, data: `Data for ID: ${id}` }))
}

/** The prompts of conformance.md §5.3, with completion for `arg1`. */
export function registerConformancePrompts (app: FastifyInstance): void {
  app.mcp.prompt({
    name: 'test_simple_prompt',
    description: 'A simple prompt without arguments'
  }, () => [{ role: 'user', content: { type: 'text', text: 'This is a simple prompt for testing.' } }])

  const ARG1_VALUES = ['test-value-1', 'test-value-2', 'another-value']
  app.mcp.prompt({
    name: 'test_prompt_with_arguments',
    description: 'A prompt with required arguments',
    arguments: Type.Object({
      arg1: Type.String({ description: 'First test argument' }),
      arg2: Type.String({ description: 'Second test argument' })
    }),
    complete: {
      arg1: (value) => ARG1_VALUES.filter((candidate) => candidate.startsWith(value))
    }
  }, ({ arg1, arg2 }) => [{
    role: 'user',
    content: { type: 'text', text: `Prompt with arguments: arg1='${arg1}', arg2='${arg2}'` }
  }])

  app.mcp.prompt({
    name: 'test_prompt_with_embedded_resource',
    description: 'A prompt that includes an embedded resource',
    arguments: Type.Object({
      resourceUri: Type.String({ description: 'URI of the resource to embed' })
    })
  }, ({ resourceUri }) => [
    { role: 'user', content: { type: 'resource', resource: { uri: resourceUri, mimeType: 'text/plain', text: 'Embedded resource content for testing.' } } },
    { role: 'user', content: { type: 'text', text: 'Please process the embedded resource above.' } }
  ])

  app.mcp.prompt({
    name: 'test_prompt_with_image',
    description: 'A prompt that includes image content'
  }, () => [
    { role: 'user', content: { type: 'image', data: PNG, mimeType: 'image/png' } },
    { role: 'user', content: { type: 'text', text: 'Please analyze the image above.' } }
  ])
}

// ---- Multi round-trip requests (2026-07-28, SEP-2322) ----------------------------------------
// The input_required fixtures of the conformance scenarios (modern-era.md §5), written once in
// the MRTR style: a 2026-07-28 client gets the input_required result and retries; on a 2025
// session the plugin asks the client itself and runs the handler again.

const nameSchema = { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] }
const okSchema = { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] }

function askName (message = 'What is your name?') {
  return inputRequired.elicit(message, nameSchema)
}

function textOf (value: unknown, key: string): string | undefined {
  const content = value as Record<string, unknown> | undefined
  return typeof content?.[key] === 'string' ? content[key] : undefined
}

function stateOf (state: unknown): Record<string, unknown> {
  return state !== null && typeof state === 'object' ? state as Record<string, unknown> : {}
}

/** The MRTR tools and prompt of the 2026-07-28 scenarios (`input-required-result-*`, `server-stateless`). */
export function registerMrtrFixtures (app: FastifyInstance): void {
  app.mcp.tool({ name: 'test_input_required_result_elicitation', description: 'MRTR: asks for the user\'s name (key user_name)' }, (_args, ctx) => {
    const name = textOf(acceptedContent(ctx.inputResponses, 'user_name'), 'name')
    if (name === undefined) return inputRequired({ inputRequests: { user_name: askName() } })
    return `Hello, ${name}!`
  })

  app.mcp.tool({ name: 'test_input_required_result_sampling', description: 'MRTR: asks the client\'s model (key capital_question)' }, (_args, ctx) => {
    const answer = sampledMessage(ctx.inputResponses, 'capital_question')
    if (answer === undefined) {
      return inputRequired({
        inputRequests: {
          capital_question: inputRequired.createMessage({
            messages: [{ role: 'user', content: { type: 'text', text: 'What is the capital of France?' } }],
            maxTokens: 100
          })
        }
      })
    }
    return `Sampling result: ${sampledText(answer.content)}`
  })

  app.mcp.tool({ name: 'test_input_required_result_list_roots', description: 'MRTR: asks for the client\'s roots (key client_roots)' }, (_args, ctx) => {
    const roots = listedRoots(ctx.inputResponses, 'client_roots')
    if (roots === undefined) return inputRequired({ inputRequests: { client_roots: inputRequired.listRoots() } })
    return `Found ${roots.roots.length} root(s): ${roots.roots.map((root) => root.uri).join(', ')}`
  })

  app.mcp.tool({ name: 'test_input_required_result_request_state', description: 'MRTR: input plus requestState, round-tripped' }, (_args, ctx) => {
    if (stateOf(ctx.requestState).kind === 'request-state' && acceptedContent(ctx.inputResponses, 'confirm') !== undefined) {
      return 'state-ok: requestState validated'
    }
    return inputRequired({
      inputRequests: { confirm: inputRequired.elicit('Please confirm', okSchema) },
      requestState: { kind: 'request-state' }
    })
  })

  app.mcp.tool({ name: 'test_input_required_result_multiple_inputs', description: 'MRTR: elicitation, sampling and roots at once, plus requestState' }, (_args, ctx) => {
    const responses = ctx.inputResponses
    const name = textOf(acceptedContent(responses, 'user_name'), 'name')
    const greeting = sampledMessage(responses, 'greeting')
    const roots = listedRoots(responses, 'client_roots')
    if (stateOf(ctx.requestState).kind === 'multiple-inputs' && name !== undefined && greeting !== undefined && roots !== undefined) {
      return `Name: ${name}; Greeting: ${sampledText(greeting.content)}; Roots: ${roots.roots.length}`
    }
    return inputRequired({
      inputRequests: {
        user_name: askName(),
        greeting: inputRequired.createMessage({ messages: [{ role: 'user', content: { type: 'text', text: 'Generate a greeting' } }], maxTokens: 50 }),
        client_roots: inputRequired.listRoots()
      },
      requestState: { kind: 'multiple-inputs' }
    })
  })

  app.mcp.tool({ name: 'test_input_required_result_multi_round', description: 'MRTR: three rounds with an evolving requestState' }, (_args, ctx) => {
    const state = stateOf(ctx.requestState)
    const name = textOf(acceptedContent(ctx.inputResponses, 'step1'), 'name')
    if (state.round === 1 && name !== undefined) {
      return inputRequired({
        inputRequests: {
          step2: inputRequired.elicit('Step 2: What is your favorite color?', { type: 'object', properties: { color: { type: 'string' } }, required: ['color'] })
        },
        requestState: { round: 2, name }
      })
    }
    const color = textOf(acceptedContent(ctx.inputResponses, 'step2'), 'color')
    if (state.round === 2 && color !== undefined) return `Multi-round complete for ${String(state.name)} who likes ${color}`
    return inputRequired({ inputRequests: { step1: askName('Step 1: What is your name?') }, requestState: { round: 1 } })
  })

  app.mcp.tool({ name: 'test_input_required_result_tampered_state', description: 'MRTR: signed requestState; a tampered one is refused (-32602)' }, (_args, ctx) => {
    if (stateOf(ctx.requestState).kind === 'tamper-test' && acceptedContent(ctx.inputResponses, 'confirm') !== undefined) {
      return 'integrity-ok: state verified'
    }
    return inputRequired({
      inputRequests: { confirm: inputRequired.elicit('Please confirm', okSchema) },
      requestState: { kind: 'tamper-test' }
    })
  })

  app.mcp.tool({ name: 'test_input_required_result_capabilities', description: 'MRTR: asks only for what the client declared' }, (_args, ctx) => {
    const received = Object.keys(ctx.inputResponses ?? {})
    if (received.length > 0) return `capabilities-ok: received ${received.join(',')}`
    const declared = ctx.clientCapabilities
    const inputRequests: Record<string, ReturnType<typeof askName> | ReturnType<typeof inputRequired.createMessage>> = {}
    if (declared.elicitation !== undefined) {
      inputRequests.elicit_input = inputRequired.elicit('Elicitation input', { type: 'object', properties: { value: { type: 'string' } }, required: ['value'] })
    }
    if (declared.sampling !== undefined) {
      inputRequests.sample_input = inputRequired.createMessage({ messages: [{ role: 'user', content: { type: 'text', text: 'Sample request' } }], maxTokens: 50 })
    }
    if (Object.keys(inputRequests).length === 0) return 'No supported capabilities declared'
    return inputRequired({ inputRequests, requestState: { kind: 'capabilities-test' } })
  })

  app.mcp.tool({ name: 'test_missing_capability', description: 'Needs sampling: -32021 for a client that did not declare it' }, (_args, ctx) => {
    if (sampledMessage(ctx.inputResponses, 'sample') !== undefined) return 'Success'
    return inputRequired({
      inputRequests: { sample: inputRequired.createMessage({ messages: [{ role: 'user', content: { type: 'text', text: 'Say hello' } }], maxTokens: 20 }) }
    })
  })

  app.mcp.tool({ name: 'test_streaming_elicitation', description: 'Progress on the request\'s stream, then an elicitation as input_required (never a request on the stream)' }, async (_args, ctx) => {
    await ctx.progress(50, 100, 'Halfway')
    const value = acceptedContent(ctx.inputResponses, 'confirm')
    if (value === undefined) return inputRequired({ inputRequests: { confirm: inputRequired.elicit('Continue?', okSchema) } })
    return 'Streaming complete'
  })

  app.mcp.prompt({
    name: 'test_input_required_result_prompt',
    description: 'MRTR: a prompt that asks for context first (key user_context)'
  }, (_args, ctx) => {
    const context = textOf(acceptedContent(ctx.inputResponses, 'user_context'), 'context')
    if (context === undefined) {
      return inputRequired({
        inputRequests: {
          user_context: inputRequired.elicit('What context should the prompt use?', { type: 'object', properties: { context: { type: 'string' } }, required: ['context'] })
        }
      })
    }
    return `Prompt with context: ${context}`
  })
}

/** Build the conformance fixture server: Fastify, the plugin on `/mcp`, and the fixture. */
export async function buildConformanceServer (options: McpPluginOptions = {}, fastifyOptions: FastifyServerOptions = {}): Promise<FastifyInstance> {
  const app = Fastify(fastifyOptions)
  await app.register(mcp, {
    serverInfo: { name: 'fastify-mcp-streamable-conformance', version: '1.0.0' },
    instructions: 'Fixture server of the MCP conformance suite.',
    // Every request answered as a stream, as the SDK's reference server does: the suite's
    // server-sse-multiple-streams scenario then checks each stream (with JSON answers it only
    // notes that SSE is optional).
    responseMode: 'sse',
    ...options
  })
  registerConformanceTools(app)
  registerConformanceResources(app)
  registerConformancePrompts(app)
  registerModernFixtures(app)
  registerMrtrFixtures(app)
  return app
}
