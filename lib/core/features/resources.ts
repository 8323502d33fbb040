import { Kind, type Static, type TObject, type TSchema } from '@sinclair/typebox'
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler'
import {
  PaginatedParamsSchema,
  ReadResourceParamsSchema,
  ReadResourceResultSchema,
  ResourceSchema,
  ResourceTemplateSchema,
  type Icon,
  type ReadResourceResult,
  type ResourceContents
} from '../../../schemas/mcp.js'
import { errors } from '../../errors.js'
import { isSupportedModernVersion } from '../versions.js'
import type { Caller } from '../caller.js'
import { cacheHintProblem, type CacheHint } from './cache-hint.js'
import type { FeatureHost } from './feature.js'
import type { ToolContext, Params } from '../dispatcher.js'
import { ErrorCode, McpError, clip, describeErrors, validParams } from '../jsonrpc.js'
import { isInputRequired, type InputRequiredResult } from '../mrtr.js'
import type { CompletionRequest, CompletionResult, CompletionSource } from './completion.js'
import { Registry } from './registry.js'
import { definitionScopes } from './scopes.js'
import { UriTemplate, UriTemplateError } from './uri-template.js'

/** An RFC 3986 scheme followed by ':' (absolute URI); whitespace and controls are refused. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what it refuses
const ABSOLUTE_URI = /^[A-Za-z][A-Za-z0-9+.-]*:[^\s\u0000-\u001f\u007f]*$/

/** `Resource.annotations` as the spec defines them. */
export interface ResourceAnnotations {
  audience?: Array<'user' | 'assistant'>
  priority?: number
  lastModified?: string
}

/** A fixed resource, as registered with `app.mcp.resource()`. */
export interface ResourceDefinition {
  /** Absolute URI (`scheme:…`), unique among resources. */
  uri: string
  /** Programmatic name, unique among resources and templates. */
  name: string
  title?: string
  description?: string
  /** Default `mimeType` of what `read` returns. */
  mimeType?: string
  /** Size in bytes, if known. */
  size?: number
  icons?: Icon[]
  annotations?: ResourceAnnotations
  _meta?: Record<string, unknown>
  /** 2026-07-28 cache hints of its reads; wins over the `cacheHints` option of `resources/read`. */
  cacheHint?: Partial<CacheHint>
  /** OAuth scopes reading (or subscribing to) it needs (with `auth`): a caller without them gets 403 `insufficient_scope`. */
  scopes?: string[]
}

/**
 * What a `read` callback returns: text (with the resource's `mimeType`), `{ text }` or
 * `{ blob }` (base64) for one content item at the requested URI, or a whole `ReadResourceResult`;
 * or `inputRequired(...)` to ask the client for input first.
 */
export type ResourceReadResult =
  | InputRequiredResult
  | string
  | { text: string, mimeType?: string, _meta?: Record<string, unknown> }
  | { blob: string, mimeType?: string, _meta?: Record<string, unknown> }
  | ReadResourceResult

export type ResourceReader = (uri: string, ctx: ToolContext) => ResourceReadResult | Promise<ResourceReadResult>

/** The matched variables: typed from `variables` when given, else strings by name. */
export type TemplateVariables<V extends TObject | undefined> = V extends TObject ? Static<V> : Record<string, string>

type VariableName<V extends TObject | undefined> = V extends TObject ? keyof Static<V> & string : string

/** Completes one template variable: the values for `value`, given the variables already filled in. */
export type VariableCompleter = (value: string, context: { arguments: Record<string, string> }) =>
  string[] | CompletionResult | Promise<string[] | CompletionResult>

/** A resource template (RFC 6570 level 1: `{name}` only), as registered with `app.mcp.resourceTemplate()`. */
export interface ResourceTemplateDefinition<V extends TObject | undefined = undefined> {
  /** e.g. `file:///logs/{date}/{name}`; each variable matches one or more characters other than '/'. */
  uriTemplate: string
  /** Programmatic name, unique among resources and templates. */
  name: string
  title?: string
  description?: string
  /** Default `mimeType` of what `read` returns. */
  mimeType?: string
  icons?: Icon[]
  annotations?: ResourceAnnotations
  _meta?: Record<string, unknown>
  /** 2026-07-28 cache hints of its reads; wins over the `cacheHints` option of `resources/read`. */
  cacheHint?: Partial<CacheHint>
  /** OAuth scopes reading a URI it matches needs (with `auth`): a caller without them gets 403 `insufficient_scope`. */
  scopes?: string[]
  /** TypeBox object of strings the matched (percent-decoded) variables must satisfy; a mismatch → -32602. */
  variables?: V
  /** `completion/complete` for `{ type: 'ref/resource', uri: uriTemplate }`, per variable. */
  complete?: { [K in VariableName<V>]?: VariableCompleter }
}

export type ResourceTemplateReader<V extends TObject | undefined = undefined> =
  (uri: string, variables: TemplateVariables<V>, ctx: ToolContext) => ResourceReadResult | Promise<ResourceReadResult>

/** `app.mcp` methods for resources. */
export interface ResourceApi {
  /**
   * Register a fixed resource, listed by `resources/list` and read by `resources/read`.
   * Throws `FST_MCP_INVALID_RESOURCE` (bad definition) or `FST_MCP_DUPLICATE_RESOURCE`
   * (uri taken). Announced with `notifications/resources/list_changed`.
   */
  resource (definition: ResourceDefinition, read: ResourceReader): void
  /**
   * Register a resource template, listed by `resources/templates/list`. `resources/read` of a
   * URI no fixed resource has tries templates in registration order; the first match is read
   * with its percent-decoded variables. Throws `FST_MCP_INVALID_RESOURCE` (malformed template,
   * schema or completers) or `FST_MCP_DUPLICATE_RESOURCE` (uriTemplate taken).
   */
  resourceTemplate<V extends TObject | undefined = undefined>(definition: ResourceTemplateDefinition<V>, read: ResourceTemplateReader<V>): void
  /** Remove a fixed resource by URI; announced like an addition. Returns whether it existed. */
  removeResource (uri: string): boolean
  /** Remove a template by its `uriTemplate`; announced like an addition. Returns whether it existed. */
  removeResourceTemplate (uriTemplate: string): boolean
  /**
   * Send `notifications/resources/updated { uri }` on the GET stream of each session of this
   * instance subscribed to exactly `uri`. Resolves how many sessions were notified.
   */
  notifyResourceUpdated (uri: string): Promise<number>
}

interface RegisteredResource {
  /** Sort key for pagination: the URI. */
  readonly name: string
  readonly uri: string
  readonly label: string
  readonly mimeType: string | undefined
  readonly descriptor: Record<string, unknown>
  readonly cacheHint: Partial<CacheHint> | undefined
  readonly scopes: readonly string[] | undefined
  readonly read: ResourceReader
}

interface RegisteredTemplate {
  /** Sort key for pagination: the URI template. */
  readonly name: string
  readonly label: string
  readonly template: UriTemplate
  readonly mimeType: string | undefined
  readonly descriptor: Record<string, unknown>
  readonly variables: TypeCheck<TSchema> | undefined
  readonly complete: Readonly<Record<string, VariableCompleter>> | undefined
  readonly cacheHint: Partial<CacheHint> | undefined
  readonly scopes: readonly string[] | undefined
  readonly read: ResourceTemplateReader<TObject | undefined>
}

const checkPaginated = TypeCompiler.Compile(PaginatedParamsSchema)
const checkRead = TypeCompiler.Compile(ReadResourceParamsSchema)
const checkResource = TypeCompiler.Compile(ResourceSchema)
const checkTemplate = TypeCompiler.Compile(ResourceTemplateSchema)
const checkReadResult = TypeCompiler.Compile(ReadResourceResultSchema)

/** What the resources feature gives the plugin: the `app.mcp` methods, and whether a URI names a resource. */
export interface ResourceFeature {
  readonly api: ResourceApi
  /** Whether `uri` is a registered resource or matches a template (what `resources/subscribe` accepts). */
  knows (uri: string): boolean
  /** The scopes reading `uri` needs (its resource's, else the first matching template's); undefined for none. */
  scopesOfUri (uri: string): readonly string[] | undefined
  /** The scopes of the resource or template registered under `key` (a URI or URI template), for completions. */
  scopesOfRef (key: string): readonly string[] | undefined
  /** Every scope some resource or template needs. */
  allScopes (): string[]
}

/** Resources and resource templates: methods, capabilities, completion source, `app.mcp` methods. */
export function installResources (host: FeatureHost): ResourceFeature {
  const { dispatcher, pageSize } = host
  const changed = (): void => host.changed('resources')
  // Listed by URI / URI template: each entry's `name` is its sort key. Templates are tried
  // by `resources/read` in registration order.
  const resources = new Registry<RegisteredResource>('resources', changed)
  const templates = new Registry<RegisteredTemplate>('resourceTemplates', changed)

  dispatcher.contributeCapabilities((capabilities) => {
    if (resources.size > 0 || templates.size > 0) capabilities.resources = { subscribe: true, listChanged: true }
  })

  // ---- methods ---------------------------------------------------------------------------

  dispatcher.method('resources/list', (params, _ctx, caller) => {
    const { cursor } = validParams(checkPaginated, params)
    return resources.page(cursor, pageSize, host.listFilter(caller))
  })

  dispatcher.method('resources/templates/list', (params, _ctx, caller) => {
    const { cursor } = validParams(checkPaginated, params)
    return templates.page(cursor, pageSize, host.listFilter(caller))
  })

  dispatcher.method('resources/read', async (params, ctx, caller) => {
    const { uri } = validParams(checkRead, params)
    const resource = resources.get(uri)
    if (resource !== undefined) {
      return withCacheHint(toReadResult(resource.label, uri, resource.mimeType, await resource.read(uri, ctx!)), resource.cacheHint, caller)
    }
    const found = findTemplate(uri)
    if (found === undefined) throw notFound(uri)
    const { template, values } = found
    if (template.variables !== undefined && !template.variables.Check(values)) {
      throw new McpError(ErrorCode.InvalidParams, `Invalid params: ${clip(uri)} does not fit ${template.name}: ${describeErrors(template.variables, values)}`, { uri: clip(uri) })
    }
    return withCacheHint(toReadResult(template.label, uri, template.mimeType, await template.read(uri, values as never, ctx!)), template.cacheHint, caller)
  }, { runsHandler: true })

  function findTemplate (uri: string): { template: RegisteredTemplate, values: Record<string, string> } | undefined {
    for (const template of templates.values()) {
      const values = template.template.match(uri)
      if (values !== undefined) return { template, values }
    }
    return undefined
  }

  // ---- completion --------------------------------------------------------------------------

  const completionSource: CompletionSource = {
    hasCompletions () {
      for (const template of templates.values()) if (template.complete !== undefined) return true
      return false
    },
    async complete (request: CompletionRequest) {
      const uri = request.ref.uri
      if (typeof uri !== 'string') return undefined
      const template = templates.get(uri)
      if (template === undefined) return resources.has(uri) ? { values: [] } : undefined
      const completer = template.complete?.[request.argument.name]
      if (completer === undefined) return { values: [] }
      const answer = await completer(request.argument.value, { arguments: { ...request.context.arguments } })
      return Array.isArray(answer) ? { values: answer } : answer
    }
  }
  host.completion.addSource('ref/resource', completionSource)

  // ---- registration ------------------------------------------------------------------------

  const api: ResourceApi = {
    resource (definition, read) {
      const label = labelOf(definition, 'uri')
      if (definition === null || typeof definition !== 'object') throw new errors.FST_MCP_INVALID_RESOURCE(label, 'the definition must be an object')
      const { uri } = definition
      if (typeof uri !== 'string' || !ABSOLUTE_URI.test(uri)) {
        throw new errors.FST_MCP_INVALID_RESOURCE(label, 'uri must be an absolute URI (scheme:…) without whitespace')
      }
      if (typeof read !== 'function') throw new errors.FST_MCP_INVALID_RESOURCE(label, 'the read callback must be a function')
      const descriptor = describe(label, checkResource, {
        uri,
        name: definition.name,
        title: definition.title,
        description: definition.description,
        mimeType: definition.mimeType,
        size: definition.size,
        icons: definition.icons,
        annotations: definition.annotations,
        _meta: definition._meta
      })
      const cacheHint = checkedCacheHint(label, definition.cacheHint)
      const scopes = definitionScopes(definition.scopes)
      if (typeof scopes === 'string') throw new errors.FST_MCP_INVALID_RESOURCE(label, scopes)
      // Resources are identified by URI (names are display labels and may repeat).
      if (!resources.add(uri, { name: uri, uri, label, mimeType: definition.mimeType, descriptor, cacheHint, scopes, read })) {
        throw new errors.FST_MCP_DUPLICATE_RESOURCE('uri', uri)
      }
    },

    resourceTemplate (definition, read) {
      const label = labelOf(definition, 'uriTemplate')
      if (definition === null || typeof definition !== 'object') throw new errors.FST_MCP_INVALID_RESOURCE(label, 'the definition must be an object')
      let template: UriTemplate
      try {
        template = new UriTemplate(definition.uriTemplate)
      } catch (err) {
        if (err instanceof UriTemplateError) throw new errors.FST_MCP_INVALID_RESOURCE(label, `uriTemplate: ${err.message}`)
        throw err
      }
      if (typeof read !== 'function') throw new errors.FST_MCP_INVALID_RESOURCE(label, 'the read callback must be a function')
      const variables = definition.variables === undefined ? undefined : compileVariables(label, template, definition.variables)
      const complete = checkCompleters(label, template, definition.complete as Record<string, unknown> | undefined)
      const scopes = definitionScopes(definition.scopes)
      if (typeof scopes === 'string') throw new errors.FST_MCP_INVALID_RESOURCE(label, scopes)
      const descriptor = describe(label, checkTemplate, {
        uriTemplate: template.template,
        name: definition.name,
        title: definition.title,
        description: definition.description,
        mimeType: definition.mimeType,
        icons: definition.icons,
        annotations: definition.annotations,
        _meta: definition._meta
      })
      const added = templates.add(template.template, {
        name: template.template,
        label,
        template,
        mimeType: definition.mimeType,
        descriptor,
        variables,
        complete,
        cacheHint: checkedCacheHint(label, definition.cacheHint),
        scopes,
        read: read as unknown as RegisteredTemplate['read']
      })
      if (!added) throw new errors.FST_MCP_DUPLICATE_RESOURCE('uriTemplate', template.template)
    },

    removeResource (uri) {
      return resources.remove(uri)
    },

    removeResourceTemplate (uriTemplate) {
      return templates.remove(uriTemplate)
    },

    notifyResourceUpdated (uri) {
      if (typeof uri !== 'string') return Promise.reject(new errors.FST_MCP_INVALID_RESOURCE(String(uri), 'uri must be a string'))
      return host.resourceUpdated(uri)
    }
  }
  return {
    api,
    knows: (uri) => resources.has(uri) || findTemplate(uri) !== undefined,
    scopesOfUri: (uri) => resources.get(uri)?.scopes ?? findTemplate(uri)?.template.scopes,
    scopesOfRef: (key) => templates.get(key)?.scopes ?? resources.get(key)?.scopes,
    allScopes: () => [...resources.values(), ...templates.values()].flatMap((entry) => entry.scopes ?? [])
  }
}

function notFound (uri: string): McpError {
  return new McpError(ErrorCode.ResourceNotFound, 'Resource not found', { uri: clip(uri) })
}

function labelOf (definition: unknown, key: string): string {
  if (definition === null || typeof definition !== 'object') return String(definition)
  const value = (definition as Record<string, unknown>)[key]
  return typeof value === 'string' ? value : String((definition as Record<string, unknown>).name ?? value)
}

/** The list entry, validated and copied: JSON drops undefined fields and detaches it from the caller. */
function describe (label: string, check: TypeCheck<TSchema>, fields: Record<string, unknown>): Record<string, unknown> {
  if (typeof fields.name !== 'string' || fields.name === '') throw new errors.FST_MCP_INVALID_RESOURCE(label, 'name must be a non-empty string')
  let descriptor: Record<string, unknown>
  try {
    descriptor = JSON.parse(JSON.stringify(fields))
  } catch (err) {
    throw new errors.FST_MCP_INVALID_RESOURCE(label, `the definition is not serialisable: ${(err as Error).message}`)
  }
  if (!check.Check(descriptor)) throw new errors.FST_MCP_INVALID_RESOURCE(label, describeErrors(check, descriptor))
  return descriptor
}

function compileVariables (label: string, template: UriTemplate, schema: unknown): TypeCheck<TSchema> {
  if (schema === null || typeof schema !== 'object' || (schema as Record<string, unknown>).type !== 'object' ||
    (schema as Record<PropertyKey, unknown>)[Kind] === undefined) {
    throw new errors.FST_MCP_INVALID_RESOURCE(label, 'variables must be a TypeBox object schema (Type.Object)')
  }
  const required = (schema as { required?: unknown }).required
  for (const name of Array.isArray(required) ? required : []) {
    if (!template.variables.includes(name)) {
      throw new errors.FST_MCP_INVALID_RESOURCE(label, `variables requires "${String(name)}", which is not a variable of the template`)
    }
  }
  try {
    return TypeCompiler.Compile(schema as TSchema)
  } catch (err) {
    throw new errors.FST_MCP_INVALID_RESOURCE(label, `variables does not compile: ${(err as Error).message}`)
  }
}

function checkCompleters (label: string, template: UriTemplate, complete: Record<string, unknown> | undefined): Readonly<Record<string, VariableCompleter>> | undefined {
  if (complete === undefined) return undefined
  if (complete === null || typeof complete !== 'object') throw new errors.FST_MCP_INVALID_RESOURCE(label, 'complete must be an object of functions')
  const completers: Record<string, VariableCompleter> = Object.create(null)
  for (const [name, fn] of Object.entries(complete)) {
    if (fn === undefined) continue
    if (!template.variables.includes(name)) throw new errors.FST_MCP_INVALID_RESOURCE(label, `complete.${name}: not a variable of the template`)
    if (typeof fn !== 'function') throw new errors.FST_MCP_INVALID_RESOURCE(label, `complete.${name} must be a function`)
    completers[name] = fn as VariableCompleter
  }
  return Object.keys(completers).length === 0 ? undefined : Object.freeze(completers)
}

/** Normalise what `read` returned into a checked `ReadResourceResult`. */
function checkedCacheHint (label: string, hint: unknown): Partial<CacheHint> | undefined {
  if (hint === undefined) return undefined
  const problem = cacheHintProblem(hint)
  if (problem !== undefined) throw new errors.FST_MCP_INVALID_RESOURCE(label, `cacheHint: ${problem}`)
  const { ttlMs, cacheScope } = hint as Partial<CacheHint>
  return Object.freeze({ ...(ttlMs === undefined ? {} : { ttlMs }), ...(cacheScope === undefined ? {} : { cacheScope }) })
}

/** A resource's own cache hint, on 2026-07-28 reads only (2025 results have no such fields). */
function withCacheHint (result: Params, hint: Partial<CacheHint> | undefined, caller: Caller): Params {
  if (hint === undefined || !isSupportedModernVersion(caller.protocolVersion)) return result
  return { ...hint, ...result }
}

function toReadResult (label: string, uri: string, mimeType: string | undefined, returned: unknown): Params {
  if (isInputRequired(returned)) return returned as unknown as Params
  let result: unknown = returned
  if (typeof returned === 'string') {
    result = { contents: [withMime({ uri, text: returned }, mimeType)] }
  } else if (returned !== null && typeof returned === 'object' && !Array.isArray(returned) && !('contents' in returned)) {
    const item = returned as Record<string, unknown>
    if (('text' in item) !== ('blob' in item)) {
      const content: Record<string, unknown> = { uri, ...item }
      content.uri = uri
      result = { contents: [withMime(content, (item.mimeType as string | undefined) ?? mimeType)] }
    }
  }
  if (!checkReadResult.Check(result)) {
    throw new McpError(ErrorCode.InternalError, `Resource ${label} returned an invalid result: ${describeErrors(checkReadResult, result)}`)
  }
  return result as Params
}

function withMime (content: Record<string, unknown>, mimeType: string | undefined): ResourceContents {
  if (mimeType === undefined) delete content.mimeType
  else content.mimeType = mimeType
  return content as ResourceContents
}
