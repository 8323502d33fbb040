import type { FastifyBaseLogger } from 'fastify'
import type { NormalizedOptions } from './options.js'
import type { McpProtocol } from './protocol/server.js'
import type { CompletionRegistry } from './registry/completion.js'
import type { LiveSessions } from './session/live.js'
import type { SessionRecord, SessionStore } from './session/store.js'

/**
 * What a feature module (resources, prompts, …) is given to plug into the server: it
 * registers methods and capabilities on `protocol`, completion sources on `completion`,
 * and reaches sessions through `store` and `notifySessions`.
 */
export interface FeatureCore {
  readonly options: NormalizedOptions
  readonly store: SessionStore
  readonly live: LiveSessions
  readonly protocol: McpProtocol
  readonly completion: CompletionRegistry
  readonly logger: FastifyBaseLogger
  /**
   * Send a notification on the GET stream of every session that has one on this instance
   * (connected, or kept for a resume) whose record passes `filter`. Resolves how many
   * streams took it.
   */
  notifySessions (message: unknown, filter: (session: SessionRecord) => boolean): Promise<number>
}

/** `notifySessions` over this instance's live streams. */
export function sessionNotifier (store: SessionStore, live: LiveSessions, logger: FastifyBaseLogger): FeatureCore['notifySessions'] {
  return async (message, filter) => {
    let sent = 0
    for (const sessionId of [...live.standaloneSessions()]) {
      let session: SessionRecord | undefined
      try {
        session = await store.get(sessionId)
      } catch (err) {
        logger.warn({ err }, 'mcp: session lookup failed while notifying')
        continue
      }
      if (session !== undefined && filter(session) && live.sendStandalone(sessionId, message)) sent++
    }
    return sent
  }
}
