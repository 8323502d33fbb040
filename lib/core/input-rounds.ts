import { setTimeout as sleep } from 'node:timers/promises'
import { randomUUID } from 'node:crypto'
import type { CreateMessageParams } from '../../schemas/client.js'
import type { ClientRequests, RequestScope } from './caller.js'
import { ErrorCode, McpError } from './jsonrpc.js'
import { INPUT_REQUIRED_METHODS, missingCapabilities, requiredCapability, type InputRequest, type InputRequiredResult } from './mrtr.js'
import { RequestStateCodec, type RequestStateBinding } from './request-state.js'

/** Default most handler runs answered `input_required` for one 2025 request before giving up. */
export const DEFAULT_MAX_INPUT_ROUNDS = 8

/** A state-only result asks for a retry with no input to wait for: this paces the loop. */
const STATE_ONLY_PAUSE_MS = 250

/** What a retry carries: the client's answers and the state the handler left, verified. */
export interface RoundInputs {
  readonly inputResponses: Readonly<Record<string, unknown>> | undefined
  readonly requestState: unknown
}

/** Runs the handler again with the given inputs; resolves its (normalised) result. */
export type Rerun = (inputs: RoundInputs) => Record<string, unknown> | Promise<Record<string, unknown>>

export interface InputRoundsOptions {
  readonly codec?: RequestStateCodec
  readonly maxInputRounds?: number
}

const NO_INPUTS: RoundInputs = Object.freeze({ inputResponses: undefined, requestState: undefined })

/**
 * The core's side of multi round-trip requests: verifying a retry's state on the way in,
 * and doing what the request's scope says with an input-required result on the way out:
 * `return` it signed (2026-07-28), `fulfil` it by asking the client over the 2025 session and
 * running the handler again, or refuse it (`none`: nobody to ask).
 */
export class InputRounds {
  readonly codec: RequestStateCodec
  readonly maxInputRounds: number

  constructor (options: InputRoundsOptions = {}) {
    this.codec = options.codec ?? new RequestStateCodec()
    this.maxInputRounds = options.maxInputRounds ?? DEFAULT_MAX_INPUT_ROUNDS
  }

  /**
   * The inputs of a retry, its `requestState` verified against this caller and request.
   * Throws -32602 `invalid_request_state` for a tampered, expired or foreign state.
   */
  enter (method: string, params: Record<string, unknown>, scope: RequestScope): RoundInputs {
    const { inputResponses, requestState } = params
    if (inputResponses === undefined && requestState === undefined) return NO_INPUTS
    const responses = inputResponses !== null && typeof inputResponses === 'object' && !Array.isArray(inputResponses)
      ? inputResponses as Record<string, unknown>
      : undefined
    if (requestState === undefined) return { inputResponses: responses, requestState: undefined }
    const verdict = this.codec.verify(requestState, bindingOf(method, params, scope))
    if (!verdict.ok) {
      scope.logger.debug({ reason: verdict.reason, method }, 'mcp: requestState refused')
      throw new McpError(ErrorCode.InvalidParams, 'Invalid or expired requestState', { reason: 'invalid_request_state' })
    }
    return { inputResponses: responses, requestState: verdict.value }
  }

  /** What the request answers when its handler returned `result`, according to `scope.inputMode`. */
  answer (method: string, params: Record<string, unknown>, result: InputRequiredResult, scope: RequestScope, rerun: Rerun): Record<string, unknown> | Promise<Record<string, unknown>> {
    if (INPUT_REQUIRED_METHODS[method] === undefined) {
      throw new McpError(ErrorCode.InternalError, `Internal error: ${method} cannot answer input_required`)
    }
    const requests = checkedRequests(method, result)
    switch (scope.inputMode) {
      case 'return':
        return this.#wire(method, params, result, requests, scope)
      case 'fulfil':
        return this.#fulfil(method, result, requests, scope, rerun)
      default:
        return failure(method, `${method} needs input from the client, which cannot be asked for without a session`)
    }
  }

  /** 2026-07-28: the result as the client gets it, after checking it asks only for what the client declared. */
  #wire (method: string, params: Record<string, unknown>, result: InputRequiredResult, requests: Array<[string, InputRequest]>, scope: RequestScope): Record<string, unknown> {
    const required = mergeRequired(requests)
    const missing = required === undefined ? undefined : missingCapabilities(required, scope.clientCapabilities)
    if (missing !== undefined) {
      throw new McpError(ErrorCode.MissingRequiredClientCapability, 'Missing required client capability', { requiredCapabilities: missing })
    }
    const wire: Record<string, unknown> = { resultType: 'input_required' }
    if (result.inputRequests !== undefined) wire.inputRequests = result.inputRequests
    if (result.requestState !== undefined) wire.requestState = this.codec.sign(result.requestState, bindingOf(method, params, scope))
    return wire
  }

  /** 2025 session: ask the client for each input, concurrently, then run the handler again, for at most `maxInputRounds` rounds. */
  async #fulfil (method: string, first: InputRequiredResult, firstRequests: Array<[string, InputRequest]>, scope: RequestScope, rerun: Rerun): Promise<Record<string, unknown>> {
    let current = first
    let requests = firstRequests
    for (let round = 1; ; round++) {
      if (round > this.maxInputRounds) {
        return failure(method, `${method} still needed input after ${this.maxInputRounds} rounds; giving up`)
      }
      let responses: Record<string, unknown> | undefined
      if (requests.length > 0) {
        const missing = missingCapabilities(mergeRequired(requests)!, scope.clientCapabilities)
        if (missing !== undefined) {
          return failure(method, `${method} needs input the client cannot give: it did not declare ${describe(missing)}`)
        }
        try {
          responses = await ask(scope, requests)
        } catch (err) {
          if (scope.signal.aborted) throw err
          return failure(method, `${method} could not get its input from the client: ${err instanceof Error ? err.message : String(err)}`)
        }
      } else {
        await sleep(STATE_ONLY_PAUSE_MS, undefined, { signal: scope.signal })
      }
      const next = await rerun({ inputResponses: responses, requestState: current.requestState })
      if (!isInputRequiredResult(next)) return next
      current = next
      requests = checkedRequests(method, current)
    }
  }
}

function isInputRequiredResult (value: Record<string, unknown>): value is Record<string, unknown> & InputRequiredResult {
  return value.resultType === 'input_required'
}

function bindingOf (method: string, params: Record<string, unknown>, scope: RequestScope): RequestStateBinding {
  const target = params[INPUT_REQUIRED_METHODS[method] ?? 'name']
  return { principal: scope.auth?.principal, method, target: typeof target === 'string' ? target : '' }
}

/** The input requests, each of a known kind; a handler returning anything else is a server bug (-32603). */
function checkedRequests (method: string, result: InputRequiredResult): Array<[string, InputRequest]> {
  const { inputRequests } = result
  const entries = inputRequests === undefined || inputRequests === null ? [] : Object.entries(inputRequests)
  if (entries.length === 0 && result.requestState === undefined) {
    throw new McpError(ErrorCode.InternalError, `Internal error: ${method} answered input_required with neither inputRequests nor requestState`)
  }
  for (const [key, request] of entries) {
    if (requiredCapability(request) === undefined) {
      throw new McpError(ErrorCode.InternalError, `Internal error: ${method} asked for input "${key}" of an unknown kind`)
    }
  }
  return entries
}

function mergeRequired (requests: Array<[string, InputRequest]>): Record<string, Record<string, unknown>> | undefined {
  let merged: Record<string, Record<string, unknown>> | undefined
  for (const [, request] of requests) {
    for (const [name, members] of Object.entries(requiredCapability(request)!)) {
      merged ??= {}
      merged[name] = { ...merged[name], ...members }
    }
  }
  return merged
}

function describe (capabilities: Record<string, Record<string, unknown>>): string {
  return Object.entries(capabilities)
    .flatMap(([name, members]) => Object.keys(members).length === 0 ? [name] : Object.keys(members).map((member) => `${name}.${member}`))
    .join(', ')
}

/** One round of a 2025 session: every input asked at once; the first failure cancels the others. */
async function ask (scope: RequestScope, requests: Array<[string, InputRequest]>): Promise<Record<string, unknown>> {
  const client = scope.client(requests[0]![1].method)
  const round = new AbortController()
  const signal = AbortSignal.any([scope.signal, round.signal])
  const answers = await Promise.all(requests.map(async ([key, request]) => {
    try {
      return [key, await askOne(client, request, signal)] as const
    } catch (err) {
      round.abort(err)
      throw err
    }
  }))
  return Object.fromEntries(answers)
}

function askOne (client: ClientRequests, request: InputRequest, signal: AbortSignal): Promise<unknown> {
  switch (request.method) {
    case 'elicitation/create': {
      const { params } = request
      if (params.mode === 'url') return client.elicitUrl(params.message, params.url, params.elicitationId ?? randomUUID(), { signal })
      return client.elicit(params.message, params.requestedSchema, { signal })
    }
    case 'sampling/createMessage':
      return client.sample(request.params as CreateMessageParams, { signal })
    default:
      return client.listRoots({ signal })
  }
}

/** Tools report it as a tool error (the 2025 idiom); prompts and resources as -32603. */
function failure (method: string, message: string): Record<string, unknown> {
  if (method === 'tools/call') return { content: [{ type: 'text', text: message }], isError: true }
  throw new McpError(ErrorCode.InternalError, message)
}
