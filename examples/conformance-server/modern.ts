import type { FastifyInstance } from 'fastify'

/**
 * The fixtures the 2026-07-28 scenarios call by name (besides the MRTR ones): a first tool
 * that needs no arguments, a tool that
 * logs (sent only when the request asked for a log level), two that change the tool and
 * prompt lists (the suite watches an open `subscriptions/listen` stream for the
 * announcement), and one with an `x-mcp-header` argument (`Mcp-Param-Region`).
 */
export function registerModernFixtures (app: FastifyInstance): void {
  // First in tools/list (lists are ordered by name): the header-validation scenario calls the
  // first tool with no arguments and expects no error.
  app.mcp.tool({
    name: 'fixture_ping',
    description: 'Takes no arguments and answers pong',
    inputSchema: { type: 'object', properties: {} }
  }, () => 'pong')

  app.mcp.tool({
    name: 'test_logging_tool',
    description: 'Sends one log message: delivered only to requests whose _meta names a log level',
    inputSchema: { type: 'object', properties: {} }
  }, async (_args, ctx) => {
    await ctx.log('info', 'Diagnostic trace logging activated')
    return 'Logging evaluated'
  })

  app.mcp.tool({
    name: 'test_trigger_tool_change',
    description: 'Adds or removes the tool test_dynamic_tool, so the tool list changes',
    inputSchema: { type: 'object', properties: {} }
  }, () => {
    if (!app.mcp.removeTool('test_dynamic_tool')) {
      app.mcp.tool({ name: 'test_dynamic_tool', description: 'Here after test_trigger_tool_change', inputSchema: { type: 'object', properties: {} } }, () => 'dynamic')
    }
    return 'Mutation triggered'
  })

  app.mcp.tool({
    name: 'test_trigger_prompt_change',
    description: 'Adds or removes the prompt test_dynamic_prompt, so the prompt list changes',
    inputSchema: { type: 'object', properties: {} }
  }, () => {
    if (!app.mcp.removePrompt('test_dynamic_prompt')) {
      app.mcp.prompt({ name: 'test_dynamic_prompt', description: 'Here after test_trigger_prompt_change' }, () => 'dynamic')
    }
    return 'Mutation triggered'
  })

  app.mcp.tool({
    name: 'test_custom_header',
    description: 'Echoes its region, which clients mirror into the Mcp-Param-Region header',
    inputSchema: {
      type: 'object',
      properties: { region: { type: 'string', 'x-mcp-header': 'Region' } },
      required: ['region']
    }
  }, ({ region }) => `region: ${String(region)}`)
}
