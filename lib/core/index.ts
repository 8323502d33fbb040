import type { Implementation } from '../../schemas/mcp.js'
import type { Logger } from '../log.js'
import { Dispatcher } from './dispatcher.js'
import { CompletionRegistry } from './features/completion.js'
import { Announcements, type ChangeAnnouncer, type FeatureHost } from './features/feature.js'
import { installPrompts, type PromptApi } from './features/prompts.js'
import { installResources, type ResourceApi } from './features/resources.js'
import { installTools, type ToolApi, type ToolLookup } from './features/tools.js'
import { permits } from './features/scopes.js'
import { InputRounds } from './input-rounds.js'
import { RequestStateCodec } from './request-state.js'
import type { McpTelemetry } from '../telemetry/telemetry.js'

/** What the core is built from. */
export interface CoreOptions {
  readonly serverInfo: Implementation
  readonly instructions: string | undefined
  /** Most entries in one list page. */
  readonly pageSize: number
  /** Signing of multi round-trip `requestState`: keys (first signs, all verify) and validity. */
  readonly requestState?: { readonly keys?: ReadonlyArray<string | Buffer>, readonly ttlMs?: number }
  /** On 2025 sessions, most input rounds of one request. */
  readonly maxInputRounds?: number
  /** List answers show only the entries the caller's scopes permit. */
  readonly listOnlyPermitted?: boolean
  /** Traces and metrics of each message; none when undefined. */
  readonly telemetry?: McpTelemetry | undefined
}

/** The `app.mcp` methods the features provide. */
export interface FeatureApi extends ToolApi, ResourceApi, PromptApi {}

/**
 * The MCP core: dispatch, the features and their registries. Front doors hand it messages
 * with a description of their caller, and register as announcers to hear of changes.
 */
export interface McpCore {
  readonly dispatcher: Dispatcher
  readonly features: FeatureApi
  /** Whether a URI names a registered resource or matches a template. */
  knowsResource (uri: string): boolean
  readonly tools: ToolLookup
  /**
   * The scopes a request needs beyond the endpoint's: those of the tool, prompt, resource or
   * template it names (`tools/call`, `prompts/get`, `resources/read|subscribe|unsubscribe`,
   * `completion/complete`). Empty for anything else.
   */
  requiredScopes (method: string, params: unknown): readonly string[]
  /** Every scope a tool, prompt, resource or template names (for the metadata's `scopes_supported`). */
  featureScopes (): readonly string[]
  /** Deliver the core's change announcements to a front door's clients. */
  announceTo (announcer: ChangeAnnouncer): void
}

const NO_SCOPES: readonly string[] = Object.freeze([])

export function createCore (options: CoreOptions, logger: Logger): McpCore {
  const rounds = new InputRounds({ codec: new RequestStateCodec(options.requestState), maxInputRounds: options.maxInputRounds })
  const dispatcher = new Dispatcher({ serverInfo: options.serverInfo, instructions: options.instructions }, rounds, options.telemetry)
  const announcements = new Announcements(logger)
  const host: FeatureHost = {
    dispatcher,
    completion: new CompletionRegistry(dispatcher),
    pageSize: options.pageSize,
    logger,
    changed (kind) {
      dispatcher.invalidateCapabilities()
      announcements.listChanged(kind)
    },
    resourceUpdated: (uri) => announcements.resourceUpdated(uri),
    listFilter: options.listOnlyPermitted === true
      ? (caller) => (entry) => permits(caller.auth?.scopes, entry.scopes)
      : () => undefined
  }
  const resources = installResources(host)
  const tools = installTools(host)
  const prompts = installPrompts(host)
  const scopesByMethod: Record<string, (params: Readonly<Record<string, unknown>>) => readonly string[] | undefined> = {
    'tools/call': (params) => typeof params.name === 'string' ? tools.lookup.scopes(params.name) : undefined,
    'prompts/get': (params) => typeof params.name === 'string' ? prompts.scopes(params.name) : undefined,
    'resources/read': (params) => typeof params.uri === 'string' ? resources.scopesOfUri(params.uri) : undefined,
    'resources/subscribe': (params) => typeof params.uri === 'string' ? resources.scopesOfUri(params.uri) : undefined,
    'resources/unsubscribe': (params) => typeof params.uri === 'string' ? resources.scopesOfUri(params.uri) : undefined,
    'completion/complete': (params) => {
      const ref = params.ref as Record<string, unknown> | undefined
      if (ref?.type === 'ref/prompt' && typeof ref.name === 'string') return prompts.scopes(ref.name)
      if (ref?.type === 'ref/resource' && typeof ref.uri === 'string') return resources.scopesOfRef(ref.uri)
      return undefined
    }
  }
  return {
    dispatcher,
    features: { ...tools.api, ...resources.api, ...prompts.api },
    knowsResource: resources.knows,
    tools: tools.lookup,
    requiredScopes (method, params) {
      const of = Object.hasOwn(scopesByMethod, method) ? scopesByMethod[method] : undefined
      return (of === undefined || params === null || typeof params !== 'object' ? undefined : of(params as Readonly<Record<string, unknown>>)) ?? NO_SCOPES
    },
    featureScopes: () => [...new Set([...tools.allScopes(), ...prompts.allScopes(), ...resources.allScopes()])],
    announceTo: (announcer) => announcements.add(announcer)
  }
}
