import { TypeCompiler } from '@sinclair/typebox/compiler'
import { CancelledParamsSchema, SetLevelParamsSchema, SubscribeParamsSchema } from '../../schemas/mcp.js'
import type { Dispatcher } from '../core/dispatcher.js'
import { ErrorCode, McpError, validParams } from '../core/jsonrpc.js'
import type { SessionRecord } from '../core/session-record.js'
import type { Logger } from '../log.js'
import type { SessionStore } from '../stores/session-store.js'
import type { RemoteSessions } from './cluster.js'
import type { LocalStreams } from './local-streams.js'

/** Most URIs one session may be subscribed to; `resources/subscribe` beyond it → -32602. */
export const MAX_SUBSCRIPTIONS = 1000
/** Longest URI `resources/subscribe` keeps (subscriptions are stored session state). */
export const MAX_SUBSCRIPTION_URI_LENGTH = 2048

/** Hears `notifications/roots/list_changed`; `app.mcp.client(sessionId).listRoots()` fetches the new roots. */
export type RootsListChangedListener = (sessionId: string, session: Readonly<SessionRecord>) => void

/** What the session methods act on. */
export interface SessionMethodsHome {
  readonly dispatcher: Dispatcher
  readonly store: SessionStore
  readonly streams: LocalStreams
  /** Other instances, when sessions are shared. */
  readonly remote: RemoteSessions | undefined
  /** Whether `resources/subscribe` may keep a URI. */
  readonly knowsResource: (uri: string) => boolean
  readonly rootsListeners: ReadonlySet<RootsListChangedListener>
  readonly logger: Logger
}

const checkSetLevel = TypeCompiler.Compile(SetLevelParamsSchema)
const checkCancelled = TypeCompiler.Compile(CancelledParamsSchema)
const checkSubscribe = TypeCompiler.Compile(SubscribeParamsSchema)

/**
 * The methods and notifications that read or change 2025 session state: the log level,
 * resource subscriptions, `initialized`, cancellation (here or on another instance) and the
 * client's roots changing. Without a session (stateless mode) they answer and keep nothing.
 */
export function installSessionMethods (home: SessionMethodsHome): void {
  const { dispatcher, store, streams, remote, rootsListeners, logger } = home

  dispatcher.method('logging/setLevel', async (params, _ctx, { session }) => {
    const { level } = validParams(checkSetLevel, params)
    if (session !== undefined) await store.update(session.id, { logLevel: level })
    return {}
  })

  // Stores with atomic subscription updates (both built-in ones) are used directly; for
  // others, a per-session queue keeps concurrent (un)subscribes on this instance from losing
  // each other's read-modify-write.
  const queues = new Map<string, Promise<unknown>>()
  const updateSubscriptions = (sessionId: string, change: (current: readonly string[]) => string[] | undefined): Promise<void> => {
    const previous = queues.get(sessionId) ?? Promise.resolve()
    const next = previous.catch(() => {}).then(async () => {
      const session = await store.get(sessionId)
      if (session === undefined) return
      const updated = change(session.subscriptions ?? [])
      if (updated !== undefined) await store.update(sessionId, { subscriptions: updated })
    })
    queues.set(sessionId, next)
    const cleanup = (): void => { if (queues.get(sessionId) === next) queues.delete(sessionId) }
    next.then(cleanup, cleanup)
    return next
  }
  const tooMany = () => new McpError(ErrorCode.InvalidParams, `Invalid params: at most ${MAX_SUBSCRIPTIONS} subscriptions per session`)

  dispatcher.method('resources/subscribe', async (params, _ctx, { session }) => {
    const { uri } = validParams(checkSubscribe, params)
    if (uri.length > MAX_SUBSCRIPTION_URI_LENGTH) {
      throw new McpError(ErrorCode.InvalidParams, `Invalid params: uri longer than ${MAX_SUBSCRIPTION_URI_LENGTH} characters`)
    }
    if (!home.knowsResource(uri)) throw new McpError(ErrorCode.ResourceNotFound, 'Resource not found', { uri })
    if (session === undefined) return {} // stateless: nothing to keep, nothing will be sent
    if (store.addSubscription !== undefined) {
      if (await store.addSubscription(session.id, uri, MAX_SUBSCRIPTIONS) === 'full') throw tooMany()
      return {}
    }
    await updateSubscriptions(session.id, (current) => {
      if (current.includes(uri)) return undefined
      if (current.length >= MAX_SUBSCRIPTIONS) throw tooMany()
      return [...current, uri]
    })
    return {}
  })

  dispatcher.method('resources/unsubscribe', async (params, _ctx, { session }) => {
    const { uri } = validParams(checkSubscribe, params)
    if (session === undefined) return {}
    if (store.removeSubscription !== undefined) await store.removeSubscription(session.id, uri)
    else await updateSubscriptions(session.id, (current) => current.includes(uri) ? current.filter((u) => u !== uri) : undefined)
    return {}
  })

  dispatcher.onNotification('notifications/initialized', async (_params, { session }) => {
    if (session !== undefined && !session.initialized) await store.update(session.id, { initialized: true })
  })

  dispatcher.onNotification('notifications/cancelled', (params, { session }) => {
    if (session === undefined || !checkCancelled.Check(params)) return
    // Not running here: it may be running on another instance.
    if (!streams.cancel(session.id, params.requestId, params.reason)) remote?.cancel(session.id, params.requestId, params.reason)
  })

  dispatcher.onNotification('notifications/roots/list_changed', (_params, { session }) => {
    if (session === undefined) return
    for (const listener of rootsListeners) {
      try {
        listener(session.id, session)
      } catch (err) {
        logger.error({ err }, 'mcp: roots/list_changed listener threw')
      }
    }
  })
}
