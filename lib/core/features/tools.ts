import { Type, type Static, type TObject } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { CallToolParamsSchema, CallToolResultSchema, PaginatedParamsSchema, type CallToolResult, type ContentBlock, type Icon, type ToolAnnotations } from '../../../schemas/mcp.js'
import { errors } from '../../errors.js'
import type { ToolContext, Params } from '../dispatcher.js'
import { ErrorCode, McpError, clip, describeErrors, validParams } from '../jsonrpc.js'
import { isInputRequired, type InputRequiredResult } from '../mrtr.js'
import type { FeatureHost } from './feature.js'
import { compileSchema, type Checker, type JsonSchemaObject } from './json-schema.js'
import { readParamHeaders, type ParamHeader } from './param-headers.js'
import type { ListFilter } from './pagination.js'
import { Registry } from './registry.js'
import { definitionScopes } from './scopes.js'

/** Tool names as the 2025-11-25 spec recommends them (and the conformance suite checks). */
export const TOOL_NAME = /^[A-Za-z0-9_.-]{1,128}$/

/** A tool's schema: TypeBox (typed handler arguments) or raw JSON Schema 2020-12 (for what TypeBox does not express). */
export type ToolSchema = TObject | JsonSchemaObject

/** A tool as registered with `app.mcp.tool()`. Schemas are published exactly as written. */
export interface ToolDefinition<I extends ToolSchema = TObject, O extends ToolSchema | undefined = ToolSchema | undefined> {
  name: string
  title?: string
  description: string
  /** Object schema of the arguments (TypeBox, or JSON Schema 2020-12). Default: an empty object schema. */
  inputSchema?: I
  /** Object schema of `structuredContent`; when set, every successful result is checked against it. */
  outputSchema?: O
  annotations?: ToolAnnotations
  icons?: Icon[]
  _meta?: Record<string, unknown>
  /** OAuth scopes a call needs (with `auth`): a caller without them gets 403 `insufficient_scope`. */
  scopes?: string[]
  /**
   * With the plugin's `rateLimit` option: at most `max` calls of this tool per `timeWindow`
   * ms per caller (principal, else session, else address); beyond it 429 with `Retry-After`.
   */
  rateLimit?: { max: number, timeWindow: number }
}

type Typed<S> = S extends TObject ? Static<S> : Record<string, unknown>

/** What a tool handler may return: text, content blocks, or a whole `CallToolResult`. */
export type ToolResult<O extends ToolSchema | undefined = undefined> =
  | string
  | ContentBlock[]
  | (Omit<CallToolResult, 'structuredContent' | 'content'> & { content?: ContentBlock[], structuredContent?: Typed<O> })

/**
 * A tool handler: arguments typed from a TypeBox `inputSchema` (a raw JSON Schema gives a
 * plain record). It may also return `inputRequired(...)` to ask the client for input first.
 */
export type ToolHandler<I extends ToolSchema = TObject, O extends ToolSchema | undefined = undefined> =
  (args: Typed<I>, ctx: ToolContext) => ToolResult<O> | InputRequiredResult | Promise<ToolResult<O> | InputRequiredResult>

interface RegisteredTool {
  readonly name: string
  /** The `tools/list` entry, built once. */
  readonly descriptor: Record<string, unknown>
  readonly input: Checker
  readonly output: Checker | undefined
  /** Arguments mirrored into `Mcp-Param-*` headers (`x-mcp-header`). */
  readonly paramHeaders: readonly ParamHeader[]
  readonly scopes: readonly string[] | undefined
  readonly rateLimit: { readonly max: number, readonly timeWindow: number } | undefined
  readonly handler: ToolHandler<ToolSchema, ToolSchema | undefined>
}

/** `app.mcp` methods for tools. */
export interface ToolApi {
  /**
   * Register a tool. Schemas are TypeBox objects, compiled now; the handler's arguments are
   * typed from `inputSchema`. Throws `FST_MCP_INVALID_TOOL` / `FST_MCP_DUPLICATE_TOOL`.
   * A tool added after the server started is announced with `notifications/tools/list_changed`.
   */
  tool<I extends ToolSchema = TObject, O extends ToolSchema | undefined = undefined>(definition: ToolDefinition<I, O>, handler: ToolHandler<I, O>): void
  /** Remove a tool; announced like an addition. Returns whether it existed. */
  removeTool (name: string): boolean
}

/** What a front door reads of the registered tools besides calling them. */
export interface ToolLookup {
  /** The `x-mcp-header` declarations of a tool; undefined for an unknown tool. */
  paramHeaders (name: string): readonly ParamHeader[] | undefined
  /** The scopes calling a tool needs; undefined for none (or an unknown tool). */
  scopes (name: string): readonly string[] | undefined
  /** The tool's own rate limit; undefined for none (or an unknown tool). */
  rateLimit (name: string): { readonly max: number, readonly timeWindow: number } | undefined
}

const EMPTY_INPUT: TObject = Type.Object({})
const checkCallToolResult = TypeCompiler.Compile(CallToolResultSchema)
const checkPaginated = TypeCompiler.Compile(PaginatedParamsSchema)
const checkCallTool = TypeCompiler.Compile(CallToolParamsSchema)

function compileObjectSchema (toolName: string, label: string, schema: unknown): Checker {
  if (schema === null || typeof schema !== 'object' || (schema as Record<string, unknown>).type !== 'object') {
    throw new errors.FST_MCP_INVALID_TOOL(toolName, `${label} must be an object schema (Type.Object, or JSON Schema with type "object")`)
  }
  try {
    return compileSchema(schema)
  } catch (err) {
    throw new errors.FST_MCP_INVALID_TOOL(toolName, `${label} does not compile: ${(err as Error).message}`)
  }
}

function toolRateLimit (name: string, value: unknown): RegisteredTool['rateLimit'] {
  if (value === undefined) return undefined
  const given = value as { max?: unknown, timeWindow?: unknown } | null
  const positive = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 1
  if (given === null || typeof given !== 'object' || !positive(given.max) || !positive(given.timeWindow)) {
    throw new errors.FST_MCP_INVALID_TOOL(name, 'rateLimit must be { max, timeWindow } (integers >= 1, timeWindow in ms)')
  }
  return Object.freeze({ max: given.max, timeWindow: given.timeWindow })
}

/** Tools: `tools/list`, `tools/call`, the capability and the `app.mcp` methods. */
export function installTools (host: FeatureHost): { api: ToolApi, lookup: ToolLookup, allScopes (): string[] } {
  const { dispatcher, pageSize } = host
  const tools = new ToolRegistry(() => host.changed('tools'))
  dispatcher.contributeCapabilities((capabilities) => {
    if (tools.size > 0) capabilities.tools = { listChanged: true }
  })
  dispatcher.method('tools/list', (params, _ctx, caller) => {
    const { cursor } = validParams(checkPaginated, params)
    return tools.page(cursor, pageSize, host.listFilter(caller))
  })
  dispatcher.method('tools/call', (params, ctx) => {
    const { name, arguments: args } = validParams(checkCallTool, params)
    return tools.call(name, args, ctx!) as Params | Promise<Params>
  }, { runsHandler: true })
  return {
    api: {
      tool (definition, handler) { tools.add(definition, handler) },
      removeTool (name) { return tools.remove(name) }
    },
    lookup: { paramHeaders: (name) => tools.paramHeaders(name), scopes: (name) => tools.scopes(name), rateLimit: (name) => tools.rateLimit(name) },
    allScopes: () => tools.allScopes()
  }
}

/** The tools of one plugin instance. */
export class ToolRegistry {
  readonly #tools: Registry<RegisteredTool>

  constructor (onChange: () => void) {
    this.#tools = new Registry('tools', onChange)
  }

  get size (): number { return this.#tools.size }

  add<I extends ToolSchema, O extends ToolSchema | undefined> (definition: ToolDefinition<I, O>, handler: ToolHandler<I, O>): void {
    if (definition === null || typeof definition !== 'object') {
      throw new errors.FST_MCP_INVALID_TOOL(String(definition), 'the definition must be an object')
    }
    const { name } = definition
    if (typeof name !== 'string' || !TOOL_NAME.test(name)) {
      throw new errors.FST_MCP_INVALID_TOOL(String(name), 'the name must match ^[A-Za-z0-9_.-]{1,128}$')
    }
    if (this.#tools.has(name)) throw new errors.FST_MCP_DUPLICATE_TOOL(name)
    if (typeof definition.description !== 'string') {
      throw new errors.FST_MCP_INVALID_TOOL(name, 'description must be a string')
    }
    if (typeof handler !== 'function') throw new errors.FST_MCP_INVALID_TOOL(name, 'the handler must be a function')

    const scopes = definitionScopes(definition.scopes)
    if (typeof scopes === 'string') throw new errors.FST_MCP_INVALID_TOOL(name, scopes)
    const rateLimit = toolRateLimit(name, definition.rateLimit)
    const inputSchema = definition.inputSchema ?? EMPTY_INPUT
    const input = compileObjectSchema(name, 'inputSchema', inputSchema)
    const output = definition.outputSchema === undefined
      ? undefined
      : compileObjectSchema(name, 'outputSchema', definition.outputSchema)
    let paramHeaders: ParamHeader[]
    try {
      paramHeaders = readParamHeaders(inputSchema)
    } catch (err) {
      throw new errors.FST_MCP_INVALID_TOOL(name, (err as Error).message)
    }

    // JSON.parse(JSON.stringify()) publishes the schema exactly as written, minus the
    // TypeBox symbols, and freezes a copy the application can no longer change under us.
    const descriptor: Record<string, unknown> = JSON.parse(JSON.stringify({
      name,
      title: definition.title,
      description: definition.description,
      inputSchema,
      outputSchema: definition.outputSchema,
      annotations: definition.annotations,
      icons: definition.icons,
      _meta: definition._meta
    }))
    this.#tools.add(name, { name, descriptor, input, output, paramHeaders, scopes, rateLimit, handler: handler as unknown as RegisteredTool['handler'] })
  }

  remove (name: string): boolean {
    return this.#tools.remove(name)
  }

  page (cursor: string | undefined, pageSize: number, filter?: ListFilter): Record<string, unknown> {
    return this.#tools.page(cursor, pageSize, filter)
  }

  scopes (name: string): readonly string[] | undefined {
    return this.#tools.get(name)?.scopes
  }

  rateLimit (name: string): RegisteredTool['rateLimit'] {
    return this.#tools.get(name)?.rateLimit
  }

  /** Every scope some tool needs. */
  allScopes (): string[] {
    return [...this.#tools.values()].flatMap((tool) => tool.scopes ?? [])
  }

  paramHeaders (name: string): readonly ParamHeader[] | undefined {
    return this.#tools.get(name)?.paramHeaders
  }

  /**
   * Run a tool: argument check, handler, result normalisation and output check. A tool
   * that answers synchronously is answered without a promise; an async one with one.
   */
  call (name: string, args: unknown, ctx: ToolContext): CallToolResult | InputRequiredResult | Promise<CallToolResult | InputRequiredResult> {
    const tool = this.#tools.get(name)
    if (tool === undefined) throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${clip(name)}`)
    const value = args === undefined ? {} : args
    if (!tool.input.Check(value)) {
      return errorResult(`Invalid arguments for tool ${name}: ${describeErrors(tool.input, value)}`)
    }
    let returned: unknown
    try {
      returned = tool.handler(value as never, ctx)
    } catch (err) {
      return handlerFailure(name, err, ctx)
    }
    if (returned instanceof Promise) {
      return returned.then((resolved) => checkedResult(tool, resolved), (err: unknown) => handlerFailure(name, err, ctx))
    }
    return checkedResult(tool, returned)
  }
}

/** A thrown McpError is a protocol answer; anything else a tool result with `isError`. */
function handlerFailure (name: string, err: unknown, ctx: ToolContext): CallToolResult {
  if (err instanceof McpError) throw err
  ctx.logger.debug({ err }, 'mcp: tool handler threw')
  return errorResult(err instanceof Error && err.message !== '' ? err.message : `Tool ${name} failed`)
}

function checkedResult (tool: RegisteredTool, returned: unknown): CallToolResult | InputRequiredResult {
  if (isInputRequired(returned)) return returned
  const result = toCallToolResult(tool.name, returned)
  if (tool.output !== undefined && result.isError !== true) {
    if (result.structuredContent === undefined) {
      throw new McpError(ErrorCode.InternalError, `Tool ${tool.name} has an outputSchema but returned no structuredContent`)
    }
    if (!tool.output.Check(result.structuredContent)) {
      throw new McpError(ErrorCode.InternalError, `Tool ${tool.name} returned structuredContent that does not match its outputSchema: ${describeErrors(tool.output, result.structuredContent)}`)
    }
  }
  return result
}

function errorResult (text: string): CallToolResult {
  return { content: [{ type: 'text', text }], isError: true }
}

function toCallToolResult (name: string, returned: unknown): CallToolResult {
  if (typeof returned === 'string') return { content: [{ type: 'text', text: returned }] }
  let result: unknown = returned
  if (Array.isArray(returned)) {
    result = { content: returned }
  } else if (returned !== null && typeof returned === 'object') {
    const candidate = returned as Record<string, unknown>
    if (candidate.content === undefined && candidate.structuredContent !== undefined) {
      // Spec: a tool returning structured content SHOULD also return it serialised as text.
      result = { ...candidate, content: [{ type: 'text', text: JSON.stringify(candidate.structuredContent) }] }
    }
  }
  if (!checkCallToolResult.Check(result)) {
    throw new McpError(ErrorCode.InternalError, `Tool ${name} returned an invalid result: ${describeErrors(checkCallToolResult, result)}`)
  }
  return result
}
