// The conformance fixture (examples/conformance-server) must expose exactly what the official
// suite's scenarios call (/work/shared/reference/conformance.md §5): this pins its names,
// descriptions and capabilities so it cannot drift silently. `npm run conformance` runs the
// suite itself against it.
import t, { type Test } from 'tap'
import { buildConformanceServer } from '../examples/conformance-server/app.js'
import { openSession, post, postHeaders, resultOf, rpc, type Session } from './helpers/index.js'

const TOOLS = [
  'fixture_ping',
  'json_schema_2020_12_tool',
  'test_audio_content',
  'test_custom_header',
  'test_elicitation',
  'test_elicitation_sep1034_defaults',
  'test_elicitation_sep1330_enums',
  'test_embedded_resource',
  'test_error_handling',
  'test_image_content',
  'test_input_required_result_capabilities',
  'test_input_required_result_elicitation',
  'test_input_required_result_list_roots',
  'test_input_required_result_multi_round',
  'test_input_required_result_multiple_inputs',
  'test_input_required_result_request_state',
  'test_input_required_result_sampling',
  'test_input_required_result_tampered_state',
  'test_logging_tool',
  'test_missing_capability',
  'test_multiple_content_types',
  'test_reconnection',
  'test_sampling',
  'test_simple_text',
  'test_streaming_elicitation',
  'test_tool_with_logging',
  'test_tool_with_progress',
  'test_trigger_prompt_change',
  'test_trigger_tool_change'
]
const RESOURCES = ['test://static-binary', 'test://static-text', 'test://watched-resource']
const RESOURCE_TEMPLATES = ['test://template/{id}/data']
const PROMPTS = ['test_input_required_result_prompt', 'test_prompt_with_arguments', 'test_prompt_with_embedded_resource', 'test_prompt_with_image', 'test_simple_prompt']

/**
 * conformance.md §5.1, in the version of conformance 0.2.0-alpha.12 (SEP-2106 adds $anchor,
 * allOf/anyOf and if/then/else, which must be published, not stripped): exactly like this.
 */
const JSON_SCHEMA_2020_12 = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  $defs: { address: { $anchor: 'addressDef', type: 'object', properties: { street: { type: 'string' }, city: { type: 'string' } } } },
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
}

async function buildFixture (t: Test) {
  const app = await buildConformanceServer()
  t.teardown(() => app.close())
  await app.ready()
  return app
}

async function result (app: Awaited<ReturnType<typeof buildFixture>>, session: Session, method: string, params: Record<string, unknown> = {}): Promise<Record<string, any>> {
  const res = await post(app, rpc(1, method, params), session.headers)
  if (res.statusCode !== 200) throw new Error(`${method} answered ${res.statusCode}: ${res.payload}`)
  const body = String(res.headers['content-type']).startsWith('text/event-stream') ? undefined : res.json()
  if (body?.error !== undefined) throw new Error(`${method} failed: ${JSON.stringify(body.error)}`)
  return resultOf(String(res.headers['content-type']), res.payload)
}

/** Every page of a list method. */
async function listAll (app: Awaited<ReturnType<typeof buildFixture>>, session: Session, method: string, key: string): Promise<Record<string, any>[]> {
  const items: Record<string, any>[] = []
  let cursor: string | undefined
  do {
    const page = await result(app, session, method, cursor === undefined ? {} : { cursor })
    items.push(...page[key])
    cursor = page.nextCursor
  } while (cursor !== undefined)
  return items
}

t.test('capabilities the suite relies on', async (t) => {
  const app = await buildFixture(t)
  const res = await post(app, rpc(0, 'initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'fixture-test', version: '1' } }), postHeaders())
  const capabilities = resultOf(String(res.headers['content-type']), res.payload).capabilities
  t.ok(capabilities.tools, 'tools')
  t.ok(capabilities.logging, 'logging')
  t.equal(capabilities.resources?.subscribe, true, 'resources with subscribe')
  t.ok(capabilities.prompts, 'prompts')
  t.ok(capabilities.completions, 'completions')
})

t.test('tools/list: exactly the fixture tools, each with a description', async (t) => {
  const app = await buildFixture(t)
  const session = await openSession(app)
  const tools = await listAll(app, session, 'tools/list', 'tools')
  t.strictSame(tools.map((tool) => tool.name).sort(), TOOLS, 'the tool names')
  for (const tool of tools) {
    t.ok(typeof tool.description === 'string' && tool.description.length > 0, `${tool.name} has a non-empty description`)
    t.equal(tool.inputSchema?.type, 'object', `${tool.name} has an object inputSchema`)
  }
  const jsonSchemaTool = tools.find((candidate) => candidate.name === 'json_schema_2020_12_tool')
  t.strictSame(jsonSchemaTool?.inputSchema, JSON_SCHEMA_2020_12, 'json_schema_2020_12_tool publishes its raw JSON Schema as is')
})

t.test('resources/list and resources/templates/list: exactly the fixture resources', async (t) => {
  const app = await buildFixture(t)
  const session = await openSession(app)
  const resources = await listAll(app, session, 'resources/list', 'resources')
  t.strictSame(resources.map((resource) => resource.uri).sort(), RESOURCES, 'the resource URIs')
  for (const resource of resources) t.ok(typeof resource.name === 'string' && resource.name.length > 0, `${resource.uri} has a name`)
  const templates = await listAll(app, session, 'resources/templates/list', 'resourceTemplates')
  t.strictSame(templates.map((template) => template.uriTemplate).sort(), RESOURCE_TEMPLATES, 'the resource templates')
})

t.test('prompts/list: exactly the fixture prompts, each with a description', async (t) => {
  const app = await buildFixture(t)
  const session = await openSession(app)
  const prompts = await listAll(app, session, 'prompts/list', 'prompts')
  t.strictSame(prompts.map((prompt) => prompt.name).sort(), PROMPTS, 'the prompt names')
  for (const prompt of prompts) {
    t.ok(typeof prompt.description === 'string' && prompt.description.length > 0, `${prompt.name} has a non-empty description`)
  }
  const withArguments = prompts.find((prompt) => prompt.name === 'test_prompt_with_arguments')
  t.strictSame(withArguments?.arguments?.map((arg: { name: string, required?: boolean }) => [arg.name, arg.required]), [['arg1', true], ['arg2', true]], 'arg1 and arg2, both required')
  const completion = await result(app, session, 'completion/complete', { ref: { type: 'ref/prompt', name: 'test_prompt_with_arguments' }, argument: { name: 'arg1', value: 'test' } })
  t.ok(Array.isArray(completion.completion?.values), 'completion/complete for arg1 answers values')
})
