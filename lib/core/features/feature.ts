import type { Logger } from '../../log.js'
import type { Caller } from '../caller.js'
import type { Dispatcher } from '../dispatcher.js'
import type { ListFilter } from './pagination.js'
import type { CompletionRegistry } from './completion.js'

/** The lists whose changes clients hear of (`notifications/<kind>/list_changed`). */
export type ListKind = 'tools' | 'prompts' | 'resources'

/**
 * How the core's changes reach connected clients. Each front door delivers them its own way
 * (the 2025 one on the sessions' GET streams); the core only says what changed.
 */
export interface ChangeAnnouncer {
  /** Tell every client that may hear it that the `kind` list changed. Resolves how many were told. */
  listChanged (kind: ListKind): Promise<number>
  /** `notifications/resources/updated { uri }` to the clients subscribed to `uri`. Resolves how many. */
  resourceUpdated (uri: string): Promise<number>
}

/**
 * What a feature (tools, prompts, resources, completions) is given to plug into the core:
 * it registers methods and capabilities on `dispatcher`, completion sources on `completion`,
 * and reports its changes through `changed`.
 */
export interface FeatureHost {
  readonly dispatcher: Dispatcher
  readonly completion: CompletionRegistry
  /** Most entries in one list page. */
  readonly pageSize: number
  readonly logger: Logger
  /**
   * A registry of `kind` changed: capabilities are recomputed now, and the change is
   * announced once for everything changed in the same tick (a loop of registrations).
   */
  changed (kind: ListKind): void
  /** Announce an update of one resource to its subscribers. */
  resourceUpdated (uri: string): Promise<number>
  /** What a caller's list answers show: undefined for everything (the default), else the entries its scopes permit. */
  listFilter (caller: Caller): ListFilter | undefined
}

/** The changes of one tick, announced together to every front door. */
export class Announcements {
  readonly #announcers: ChangeAnnouncer[] = []
  readonly #pending = new Set<ListKind>()
  readonly #logger: Logger

  constructor (logger: Logger) {
    this.#logger = logger
  }

  /** A front door that delivers announcements to its clients. */
  add (announcer: ChangeAnnouncer): void {
    this.#announcers.push(announcer)
  }

  listChanged (kind: ListKind): void {
    if (this.#pending.has(kind)) return
    this.#pending.add(kind)
    queueMicrotask(() => {
      this.#pending.delete(kind)
      for (const announcer of this.#announcers) {
        announcer.listChanged(kind).catch((err: unknown) => this.#logger.warn({ err }, `mcp: ${kind}/list_changed not delivered`))
      }
    })
  }

  async resourceUpdated (uri: string): Promise<number> {
    let told = 0
    for (const announcer of this.#announcers) told += await announcer.resourceUpdated(uri)
    return told
  }
}
