import type { Implementation, LoggingLevel, ServerCapabilities } from '../../schemas/mcp.js'

/**
 * A session is data, not an object graph: a small serialisable record. Live things
 * (open streams, in-flight requests) are kept per instance, outside the store.
 */
export interface SessionRecord {
  id: string
  /** The revision negotiated at `initialize`. */
  protocolVersion: string
  clientInfo: Pick<Implementation, 'name' | 'version'> & Record<string, unknown>
  clientCapabilities: Record<string, unknown>
  /** What this server declared at `initialize` (the session may not use more). */
  serverCapabilities: ServerCapabilities
  /** Set by `logging/setLevel`; unset means every level is sent. */
  logLevel?: LoggingLevel
  /** The authenticated principal that created the session; other principals get 404. */
  principal?: string
  /** `notifications/initialized` has been received. */
  initialized: boolean
  /** URIs of `resources/subscribe`, as session state (updated through `update`). */
  subscriptions?: string[]
  createdAt: number
  lastActiveAt: number
}
