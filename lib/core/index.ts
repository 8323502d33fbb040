import type { Implementation } from '../../schemas/mcp.js'
import type { Logger } from '../log.js'
import { Dispatcher } from './dispatcher.js'
import { CompletionRegistry } from './features/completion.js'
import { Announcements, type ChangeAnnouncer, type FeatureHost } from './features/feature.js'
import { installPrompts, type PromptApi } from './features/prompts.js'
import { installResources, type ResourceApi } from './features/resources.js'
import { installTools, type ToolApi, type ToolLookup } from './features/tools.js'
import { InputRounds } from './input-rounds.js'
import { RequestStateCodec } from './request-state.js'

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
  /** Deliver the core's change announcements to a front door's clients. */
  announceTo (announcer: ChangeAnnouncer): void
}

export function createCore (options: CoreOptions, logger: Logger): McpCore {
  const rounds = new InputRounds({ codec: new RequestStateCodec(options.requestState), maxInputRounds: options.maxInputRounds })
  const dispatcher = new Dispatcher({ serverInfo: options.serverInfo, instructions: options.instructions }, rounds)
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
    resourceUpdated: (uri) => announcements.resourceUpdated(uri)
  }
  const resources = installResources(host)
  const tools = installTools(host)
  return {
    dispatcher,
    features: { ...tools.api, ...resources.api, ...installPrompts(host) },
    knowsResource: resources.knows,
    tools: tools.lookup,
    announceTo: (announcer) => announcements.add(announcer)
  }
}
