import { Kind, Type, type Static, type TObject, type TOptional, type TSchema, type TString } from '@sinclair/typebox'
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler'
import {
  GetPromptParamsSchema,
  GetPromptResultSchema,
  PaginatedParamsSchema,
  type GetPromptResult,
  type Icon,
  type PromptArgument,
  type PromptMessage
} from '../../../schemas/mcp.js'
import { JsonObjectSchema } from '../../../schemas/json-object.js'
import { errors } from '../../errors.js'
import type { FeatureHost } from './feature.js'
import type { ToolContext, Params } from '../dispatcher.js'
import { ErrorCode, McpError, clip, describeErrors, validParams } from '../jsonrpc.js'
import { isInputRequired, type InputRequiredResult } from '../mrtr.js'
import type { CompletionRequest, CompletionResult } from './completion.js'
import type { ListFilter } from './pagination.js'
import { Registry } from './registry.js'
import { definitionScopes } from './scopes.js'

/** Prompt names follow the same rule as tool names. */
export const PROMPT_NAME = /^[A-Za-z0-9_.-]{1,128}$/

/** The argument schemas a prompt accepts: a TypeBox object whose properties are all (optional) strings. */
export type PromptArgumentsSchema = TObject<Record<string, TString | TOptional<TString>>>

/**
 * Completes one prompt argument: `value` is what the user typed so far, `context.arguments`
 * the values of the arguments already filled in (2025-06-18+; `{}` for older clients).
 * Return the candidate values (the server sends at most 100 and sets `hasMore`/`total`).
 */
export type PromptCompleter = (
  value: string,
  context: { arguments: Record<string, string> },
  ctx: ToolContext
) => string[] | CompletionResult | Promise<string[] | CompletionResult>

/** A prompt as registered with `app.mcp.prompt()`. */
export interface PromptDefinition<A extends PromptArgumentsSchema = PromptArgumentsSchema> {
  /** `^[A-Za-z0-9_.-]{1,128}$`, unique among prompts. */
  name: string
  title?: string
  /** Published in `prompts/list` (clients and the conformance suite expect it non-empty). */
  description: string
  /**
   * The arguments: `Type.Object({ topic: Type.String({ description: '…' }), tone: Type.Optional(Type.String()) })`.
   * Every property must be a `Type.String()` (constraints such as `minLength`/`pattern` are
   * enforced); `Type.Optional` ones are not required. Default: no arguments.
   */
  arguments?: A
  icons?: Icon[]
  _meta?: Record<string, unknown>
  /** Completion callbacks per argument name (enable `completion/complete` for this prompt). */
  complete?: { [K in keyof A['properties']]?: PromptCompleter }
  /** OAuth scopes getting (or completing) it needs (with `auth`): a caller without them gets 403 `insufficient_scope`. */
  scopes?: string[]
}

/**
 * What a prompt handler may return: one user text message, messages, or a whole
 * `GetPromptResult`; or `inputRequired(...)` to ask the client for input first.
 */
export type PromptResult = string | PromptMessage[] | GetPromptResult | InputRequiredResult

export type PromptHandler<A extends PromptArgumentsSchema = PromptArgumentsSchema> =
  (args: Static<A>, ctx: ToolContext) => PromptResult | Promise<PromptResult>

/** `app.mcp` methods for prompts. */
export interface PromptApi {
  /**
   * Register a prompt, served by `prompts/list` and `prompts/get`. The handler's arguments are
   * typed from the `arguments` schema and validated before it runs (a missing required or
   * non-string argument → JSON-RPC -32602). It returns a string (one user text message), an
   * array of `{ role, content }` messages or a full `{ description?, messages }`; the result
   * is validated (invalid → -32603). A thrown `McpError` is sent as is; any other error is
   * logged and answered with -32603.
   *
   * Throws `FST_MCP_INVALID_PROMPT` (bad name, description, schema, completers or handler)
   * or `FST_MCP_DUPLICATE_PROMPT`. A prompt added after the server started is announced with
   * `notifications/prompts/list_changed`.
   */
  prompt<A extends PromptArgumentsSchema = TObject<{}>>(definition: PromptDefinition<A>, get: PromptHandler<A>): void
  /** Remove a prompt; announced like an addition. Returns whether it existed. */
  removePrompt (name: string): boolean
}

interface RegisteredPrompt {
  readonly name: string
  /** The `prompts/list` entry, built once. */
  readonly descriptor: Record<string, unknown>
  /** Declared argument names, in schema order, with whether each is required. */
  readonly argumentNames: ReadonlySet<string>
  readonly required: readonly string[]
  readonly check: TypeCheck<TSchema>
  readonly completers: ReadonlyMap<string, PromptCompleter>
  readonly scopes: readonly string[] | undefined
  readonly handler: PromptHandler<PromptArgumentsSchema>
}

const NO_ARGUMENTS = Type.Object({})
// Loose on `arguments` so a bad value can be reported by argument name, not by JSON pointer.
const checkGetPrompt = TypeCompiler.Compile(Type.Object({
  name: Type.String(),
  arguments: Type.Optional(JsonObjectSchema),
  inputResponses: GetPromptParamsSchema.properties.inputResponses,
  requestState: GetPromptParamsSchema.properties.requestState,
  _meta: Type.Optional(JsonObjectSchema)
}))
const checkPaginated = TypeCompiler.Compile(PaginatedParamsSchema)
const checkResult = TypeCompiler.Compile(GetPromptResultSchema)

function isRecord (value: unknown): value is Record<PropertyKey, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/** The argument schema, checked: a TypeBox object of TypeBox strings. */
function argumentsOf (name: string, schema: unknown): { properties: Record<string, Record<string, unknown>>, required: string[], check: TypeCheck<TSchema> } {
  if (!isRecord(schema) || schema[Kind] !== 'Object' || schema.type !== 'object' || !isRecord(schema.properties)) {
    throw new errors.FST_MCP_INVALID_PROMPT(name, 'arguments must be a TypeBox object schema (Type.Object)')
  }
  const properties = schema.properties as Record<string, Record<PropertyKey, unknown>>
  for (const [key, property] of Object.entries(properties)) {
    if (!isRecord(property) || property[Kind] !== 'String' || property.type !== 'string') {
      throw new errors.FST_MCP_INVALID_PROMPT(name, `argument "${key}" must be a TypeBox string schema (Type.String()): prompt arguments are strings`)
    }
  }
  const declared = Array.isArray(schema.required) ? schema.required as unknown[] : []
  const required = Object.keys(properties).filter((key) => declared.includes(key))
  let check: TypeCheck<TSchema>
  try {
    check = TypeCompiler.Compile(schema as unknown as TSchema)
  } catch (err) {
    throw new errors.FST_MCP_INVALID_PROMPT(name, `arguments do not compile: ${(err as Error).message}`)
  }
  return { properties, required, check }
}

/** The prompts of one plugin instance, kept sorted by name for stable pagination. */
export class PromptRegistry {
  readonly #prompts: Registry<RegisteredPrompt>
  #completing = 0

  constructor (onChange: () => void) {
    this.#prompts = new Registry('prompts', onChange)
  }

  get size (): number { return this.#prompts.size }

  /** Whether some prompt has a completion callback. */
  get hasCompletions (): boolean { return this.#completing > 0 }

  add<A extends PromptArgumentsSchema> (definition: PromptDefinition<A>, handler: PromptHandler<A>): void {
    if (!isRecord(definition)) throw new errors.FST_MCP_INVALID_PROMPT(String(definition), 'the definition must be an object')
    const { name } = definition
    if (typeof name !== 'string' || !PROMPT_NAME.test(name)) {
      throw new errors.FST_MCP_INVALID_PROMPT(String(name), 'the name must match ^[A-Za-z0-9_.-]{1,128}$')
    }
    if (this.#prompts.has(name)) throw new errors.FST_MCP_DUPLICATE_PROMPT(name)
    if (typeof definition.description !== 'string' || definition.description === '') {
      throw new errors.FST_MCP_INVALID_PROMPT(name, 'description must be a non-empty string')
    }
    if (typeof handler !== 'function') throw new errors.FST_MCP_INVALID_PROMPT(name, 'the handler must be a function')

    const scopes = definitionScopes(definition.scopes)
    if (typeof scopes === 'string') throw new errors.FST_MCP_INVALID_PROMPT(name, scopes)
    const { properties, required, check } = argumentsOf(name, definition.arguments ?? NO_ARGUMENTS)
    const completers = new Map<string, PromptCompleter>()
    if (definition.complete !== undefined) {
      if (!isRecord(definition.complete)) throw new errors.FST_MCP_INVALID_PROMPT(name, 'complete must be an object of functions by argument name')
      for (const [key, completer] of Object.entries(definition.complete)) {
        if (completer === undefined) continue
        if (!Object.hasOwn(properties, key)) throw new errors.FST_MCP_INVALID_PROMPT(name, `complete.${key}: there is no argument "${key}"`)
        if (typeof completer !== 'function') throw new errors.FST_MCP_INVALID_PROMPT(name, `complete.${key} must be a function`)
        completers.set(key, completer as PromptCompleter)
      }
    }

    const argumentList: PromptArgument[] = Object.entries(properties).map(([key, property]) => {
      const argument: PromptArgument = { name: key }
      if (typeof property.title === 'string') argument.title = property.title
      if (typeof property.description === 'string') argument.description = property.description
      argument.required = required.includes(key)
      return argument
    })
    // JSON round trip: a frozen copy the application can no longer change under us.
    const descriptor: Record<string, unknown> = JSON.parse(JSON.stringify({
      name,
      title: definition.title,
      description: definition.description,
      arguments: argumentList,
      icons: definition.icons,
      _meta: definition._meta
    }))
    // Counted before the change is reported: the capabilities are recomputed from it.
    if (completers.size > 0) this.#completing++
    this.#prompts.add(name, {
      name,
      descriptor,
      argumentNames: new Set(Object.keys(properties)),
      required,
      check,
      completers,
      scopes,
      handler: handler as unknown as PromptHandler<PromptArgumentsSchema>
    })
  }

  remove (name: string): boolean {
    const prompt = this.#prompts.get(name)
    if (prompt === undefined) return false
    if (prompt.completers.size > 0) this.#completing--
    return this.#prompts.remove(name)
  }

  page (cursor: string | undefined, pageSize: number, filter?: ListFilter): Record<string, unknown> {
    return this.#prompts.page(cursor, pageSize, filter)
  }

  /** The scopes getting a prompt needs; undefined for none (or an unknown prompt). */
  scopes (name: string): readonly string[] | undefined {
    return this.#prompts.get(name)?.scopes
  }

  /** Every scope some prompt needs. */
  allScopes (): string[] {
    return [...this.#prompts.values()].flatMap((prompt) => prompt.scopes ?? [])
  }

  /** `prompts/get`: arguments checked, handler run, result normalised and validated. */
  get (name: string, args: Record<string, unknown> | undefined, ctx: ToolContext): GetPromptResult | InputRequiredResult | Promise<GetPromptResult | InputRequiredResult> {
    const prompt = this.#prompts.get(name)
    if (prompt === undefined) throw new McpError(ErrorCode.InvalidParams, `Invalid params: unknown prompt "${clip(name)}"`)
    const value = args ?? {}
    for (const [key, argument] of Object.entries(value)) {
      if (typeof argument !== 'string') {
        throw new McpError(ErrorCode.InvalidParams, `Invalid params: argument "${clip(key)}" of prompt "${name}" must be a string`, { argument: clip(key) })
      }
    }
    for (const key of prompt.required) {
      if (!Object.hasOwn(value, key)) {
        throw new McpError(ErrorCode.InvalidParams, `Invalid params: missing required argument "${key}" for prompt "${name}"`, { argument: key })
      }
    }
    if (!prompt.check.Check(value)) {
      throw new McpError(ErrorCode.InvalidParams, `Invalid params: invalid arguments for prompt "${name}": ${describeErrors(prompt.check, value)}`)
    }
    let returned: unknown
    try {
      returned = prompt.handler(value as never, ctx)
    } catch (err) {
      throw handlerFailure(name, err, ctx)
    }
    if (returned instanceof Promise) {
      return returned.then((resolved) => toResult(name, resolved), (err: unknown) => { throw handlerFailure(name, err, ctx) })
    }
    return toResult(name, returned)
  }

  /** The completion source for `ref/prompt`. */
  complete (request: CompletionRequest, ctx: ToolContext): CompletionResult | undefined | Promise<CompletionResult | undefined> {
    const { ref, argument, context } = request
    const prompt = typeof ref.name === 'string' ? this.#prompts.get(ref.name) : undefined
    if (prompt === undefined) return undefined
    if (!prompt.argumentNames.has(argument.name)) {
      throw new McpError(ErrorCode.InvalidParams, `Invalid params: prompt "${prompt.name}" has no argument "${argument.name}"`)
    }
    const completer = prompt.completers.get(argument.name)
    if (completer === undefined) return { values: [] }
    const returned = completer(argument.value, { arguments: context.arguments }, ctx)
    return returned instanceof Promise ? returned.then(toCompletion) : toCompletion(returned)
  }
}

/** A bare array of values is shorthand for `{ values }`; the dispatcher validates and caps. */
function toCompletion (returned: string[] | CompletionResult): CompletionResult {
  return Array.isArray(returned) ? { values: returned } : returned
}

/** A thrown McpError is a protocol answer; anything else is logged and becomes -32603. */
function handlerFailure (name: string, err: unknown, ctx: ToolContext): unknown {
  if (err instanceof McpError) return err
  ctx.logger.error({ err, prompt: name }, 'mcp: prompt handler failed')
  return new McpError(ErrorCode.InternalError, `Internal error: prompt "${name}" failed`)
}

function toResult (name: string, returned: unknown): GetPromptResult | InputRequiredResult {
  if (isInputRequired(returned)) return returned
  let result: unknown = returned
  if (typeof returned === 'string') result = { messages: [{ role: 'user', content: { type: 'text', text: returned } }] }
  else if (Array.isArray(returned)) result = { messages: returned }
  if (!checkResult.Check(result)) {
    throw new McpError(ErrorCode.InternalError, `Internal error: prompt "${name}" returned an invalid result: ${describeErrors(checkResult, result)}`)
  }
  return result
}

/** Prompts: `prompts/list`, `prompts/get`, the capability, the completion source and the `app.mcp` methods. */
export function installPrompts (host: FeatureHost): { api: PromptApi, scopes (name: string): readonly string[] | undefined, allScopes (): string[] } {
  const { dispatcher, completion, pageSize } = host
  const prompts = new PromptRegistry(() => host.changed('prompts'))

  dispatcher.contributeCapabilities((capabilities) => {
    if (prompts.size > 0) capabilities.prompts = { listChanged: true }
  })
  dispatcher.method('prompts/list', (params, _ctx, caller) => {
    const { cursor } = validParams(checkPaginated, params)
    return prompts.page(cursor, pageSize, host.listFilter(caller))
  })
  dispatcher.method('prompts/get', (params, ctx) => {
    const { name, arguments: args } = validParams(checkGetPrompt, params)
    return prompts.get(name, args, ctx!) as Params | Promise<Params>
  }, { runsHandler: true })
  completion.addSource('ref/prompt', {
    hasCompletions: () => prompts.hasCompletions,
    complete: (request, ctx) => prompts.complete(request, ctx)
  })

  return {
    api: {
      prompt (definition, get) { prompts.add(definition, get) },
      removePrompt (name) { return prompts.remove(name) }
    },
    scopes: (name) => prompts.scopes(name),
    allScopes: () => prompts.allScopes()
  }
}
