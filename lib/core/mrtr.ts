import type { CreateMessageParams, CreateMessageResult, ElicitResult, ListRootsResult } from '../../schemas/client.js'

// Multi round-trip requests (MCP 2026-07-28, `basic/patterns/mrtr`): a `tools/call`,
// `prompts/get` or `resources/read` handler asks the client for input by returning an
// input-required result; the client answers and retries with `inputResponses`.

/** Form-mode elicitation, as embedded in an input-required result. */
export interface ElicitFormInputRequest {
  readonly method: 'elicitation/create'
  readonly params: { message: string, requestedSchema: Record<string, unknown>, mode?: 'form' }
}

/** URL-mode elicitation (the client must declare `elicitation.url`). */
export interface ElicitUrlInputRequest {
  readonly method: 'elicitation/create'
  readonly params: { mode: 'url', message: string, url: string, elicitationId?: string }
}

/** `sampling/createMessage`, as embedded in an input-required result. */
export interface CreateMessageInputRequest {
  readonly method: 'sampling/createMessage'
  readonly params: CreateMessageParams
}

/** `roots/list`, as embedded in an input-required result. */
export interface ListRootsInputRequest {
  readonly method: 'roots/list'
  readonly params: Record<string, never>
}

/** One request for input: what the 2025 revisions sent as a server → client request. */
export type InputRequest = ElicitFormInputRequest | ElicitUrlInputRequest | CreateMessageInputRequest | ListRootsInputRequest

/** What the client answers an input request with, by kind. */
export type InputResponse = ElicitResult | CreateMessageResult | ListRootsResult

/**
 * An input-required result. `S` is the state's type: a handler returns any JSON value as
 * `requestState` and the plugin signs it into the wire string (`InputRequiredResult<string>`);
 * on the retry the handler reads the verified value back as `ctx.requestState`.
 */
export interface InputRequiredResult<S = unknown> {
  readonly resultType: 'input_required'
  /** Keyed by names the handler chooses; the retry's `inputResponses` use the same keys. */
  readonly inputRequests?: Readonly<Record<string, InputRequest>>
  readonly requestState?: S
}

/** What `inputRequired()` takes: at least one of the two. */
export interface InputRequiredSpec<S = unknown> {
  inputRequests?: Record<string, InputRequest>
  /** Any JSON value: carried by the client, signed and bound to this caller and request. */
  requestState?: S
}

function buildInputRequired<S> (spec: InputRequiredSpec<S>): InputRequiredResult<S> {
  const hasRequests = spec.inputRequests !== undefined && Object.keys(spec.inputRequests).length > 0
  if (!hasRequests && spec.requestState === undefined) {
    throw new TypeError('inputRequired() needs inputRequests (at least one) or requestState')
  }
  const result: { resultType: 'input_required', inputRequests?: Record<string, InputRequest>, requestState?: S } = { resultType: 'input_required' }
  if (hasRequests) result.inputRequests = spec.inputRequests
  if (spec.requestState !== undefined) result.requestState = spec.requestState
  return result
}

/**
 * Return this from a `tools/call`, `prompts/get` or `resources/read` handler to ask the
 * client for input; the handler runs again with the answers in `ctx.inputResponses` and its
 * state in `ctx.requestState`. On a 2026-07-28 request the result goes to the client, which
 * retries; on a 2025 session the plugin asks the client itself (elicitation, sampling, roots
 * over the session's stream) and re-enters the handler, so one handler serves both eras.
 *
 * ```ts
 * const name = acceptedContent(ctx.inputResponses, 'name')?.name
 * if (typeof name !== 'string') {
 *   return inputRequired({ inputRequests: { name: inputRequired.elicit('Your name?', schema) } })
 * }
 * ```
 */
export const inputRequired = Object.assign(buildInputRequired, {
  /** Form-mode elicitation: ask the user to fill `requestedSchema` (a flat object schema). */
  elicit (message: string, requestedSchema: Record<string, unknown>): ElicitFormInputRequest {
    // JSON round trip: a TypeBox schema's symbols must not reach the wire.
    return { method: 'elicitation/create', params: { message, requestedSchema: JSON.parse(JSON.stringify(requestedSchema)) } }
  },
  /**
   * URL-mode elicitation: send the user to `url` (never a pre-authenticated one). On a 2025
   * session an `elicitationId` is required on the wire; one is made up if none is given.
   */
  elicitUrl (message: string, url: string, elicitationId?: string): ElicitUrlInputRequest {
    return { method: 'elicitation/create', params: elicitationId === undefined ? { mode: 'url', message, url } : { mode: 'url', message, url, elicitationId } }
  },
  /** Ask the client's model (`sampling/createMessage`). */
  createMessage (params: CreateMessageParams): CreateMessageInputRequest {
    return { method: 'sampling/createMessage', params }
  },
  /** Ask for the client's roots (`roots/list`). */
  listRoots (): ListRootsInputRequest {
    return { method: 'roots/list', params: {} }
  }
})

/** Whether a handler's return value is an input-required result. */
export function isInputRequired (value: unknown): value is InputRequiredResult {
  return value !== null && typeof value === 'object' && (value as { resultType?: unknown }).resultType === 'input_required'
}

function entryOf (responses: Readonly<Record<string, unknown>> | undefined, key: string): Record<string, unknown> | undefined {
  if (responses === undefined || responses === null || typeof responses !== 'object' || !Object.hasOwn(responses, key)) return undefined
  const entry = responses[key]
  return entry !== null && typeof entry === 'object' && !Array.isArray(entry) ? entry as Record<string, unknown> : undefined
}

/**
 * The content of an accepted elicitation answer under `key`, or undefined when it is missing,
 * malformed, declined or cancelled: then ask again. The values come from the client: check
 * them as you would any input.
 */
export function acceptedContent (responses: Readonly<Record<string, unknown>> | undefined, key: string): Record<string, unknown> | undefined {
  const entry = entryOf(responses, key)
  if (entry?.action !== 'accept') return undefined
  const { content } = entry
  return content !== null && typeof content === 'object' && !Array.isArray(content) ? content as Record<string, unknown> : undefined
}

/** The sampling answer under `key` (it has a `role` and `content`), or undefined. */
export function sampledMessage (responses: Readonly<Record<string, unknown>> | undefined, key: string): CreateMessageResult | undefined {
  const entry = entryOf(responses, key)
  return typeof entry?.role === 'string' && entry.content !== undefined ? entry as unknown as CreateMessageResult : undefined
}

/** The roots answer under `key` (it has a `roots` array), or undefined. */
export function listedRoots (responses: Readonly<Record<string, unknown>> | undefined, key: string): ListRootsResult | undefined {
  const entry = entryOf(responses, key)
  return Array.isArray(entry?.roots) ? entry as unknown as ListRootsResult : undefined
}

/** The methods that may answer `input_required` (spec: no other request may). */
export const INPUT_REQUIRED_METHODS: Readonly<Record<string, 'name' | 'uri'>> = Object.freeze({
  'tools/call': 'name',
  'prompts/get': 'name',
  'resources/read': 'uri'
})

/** The client capabilities an input request needs, in `ClientCapabilities` shape; undefined for an unknown kind. */
export function requiredCapability (request: unknown): Record<string, Record<string, unknown>> | undefined {
  if (request === null || typeof request !== 'object') return undefined
  const { method, params } = request as { method?: unknown, params?: Record<string, unknown> }
  switch (method) {
    case 'elicitation/create':
      return params?.mode === 'url' ? { elicitation: { url: {} } } : { elicitation: { form: {} } }
    case 'sampling/createMessage':
      return params?.tools !== undefined || params?.toolChoice !== undefined ? { sampling: { tools: {} } } : { sampling: {} }
    case 'roots/list':
      return { roots: {} }
    default:
      return undefined
  }
}

/**
 * What of `required` the client did not declare, in `ClientCapabilities` shape (the
 * `data.requiredCapabilities` of -32021), or undefined if it declared everything. A bare
 * `elicitation: {}` declares form mode, as it did before modes existed.
 */
export function missingCapabilities (required: Record<string, Record<string, unknown>>, declared: Readonly<Record<string, unknown>>): Record<string, Record<string, unknown>> | undefined {
  const missing: Record<string, Record<string, unknown>> = {}
  for (const [name, members] of Object.entries(required)) {
    const have = declared[name]
    if (have === null || typeof have !== 'object') {
      missing[name] = { ...missing[name], ...members }
      continue
    }
    const bare = Object.keys(have).length === 0
    for (const member of Object.keys(members)) {
      if ((have as Record<string, unknown>)[member] !== undefined) continue
      if (name === 'elicitation' && member === 'form' && bare) continue
      missing[name] = { ...missing[name], [member]: {} }
    }
  }
  return Object.keys(missing).length === 0 ? undefined : missing
}
