import type { FastifyBaseLogger } from 'fastify'
import type { NormalizedOptions } from '../../options.js'
import type { McpProtocol } from '../dispatcher.js'
import type { CompletionRegistry } from './completion.js'
import type { LocalStreams } from '../../legacy/local-streams.js'
import type { SessionRecord, SessionStore } from '../../stores/session-store.js'

/**
 * What a feature module (resources, prompts, …) is given to plug into the server: it
 * registers methods and capabilities on `protocol`, completion sources on `completion`,
 * and reaches sessions through `store` and `notifySessions`.
 */
export interface FeatureCore {
  readonly options: NormalizedOptions
  readonly store: SessionStore
  readonly live: LocalStreams
  readonly protocol: McpProtocol
  readonly completion: CompletionRegistry
  readonly logger: FastifyBaseLogger
  /**
   * Send a notification on the GET stream of every session that has one (connected, or kept
   * for a resume; with Redis, on any instance) whose record passes `filter`; `uri` narrows
   * the candidates to that resource's subscribers. Resolves how many sessions it went to.
   */
  notifySessions (message: unknown, filter: (session: SessionRecord) => boolean, uri?: string): Promise<number>
}
