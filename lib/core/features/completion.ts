import { Type } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import type { ToolContext, Dispatcher } from '../dispatcher.js'
import { ErrorCode, McpError, validParams } from '../jsonrpc.js'

/** Spec: at most 100 values per completion answer. */
export const MAX_COMPLETION_VALUES = 100

export const CompleteParamsSchema = Type.Object({
  ref: Type.Object({ type: Type.String() }, { additionalProperties: true }),
  argument: Type.Object({ name: Type.String(), value: Type.String() }),
  context: Type.Optional(Type.Object({ arguments: Type.Optional(Type.Record(Type.String(), Type.String())) }))
})
const checkComplete = TypeCompiler.Compile(CompleteParamsSchema)

/** What a `complete` callback answers: the values (any number; the server caps them at 100). */
export interface CompletionResult {
  values: string[]
  total?: number
  hasMore?: boolean
}

export interface CompletionRequest {
  /** `{ type: 'ref/prompt', name }` or `{ type: 'ref/resource', uri }`. */
  ref: { type: string } & Record<string, unknown>
  argument: { name: string, value: string }
  /** 2025-06-18: the values of arguments already filled in. */
  context: { arguments: Record<string, string> }
}

/** A feature that can complete one kind of reference (prompts, resource templates). */
export interface CompletionSource {
  /** Whether anything here offers completions: the `completions` capability is declared only then. */
  hasCompletions (): boolean
  /** Complete, or `undefined` when the ref names nothing this source knows (→ -32602). */
  complete (request: CompletionRequest, ctx: ToolContext): CompletionResult | undefined | Promise<CompletionResult | undefined>
}

/** `completion/complete`, dispatched by `ref.type` to the registered sources. */
export class CompletionRegistry {
  readonly #sources = new Map<string, CompletionSource>()
  readonly #dispatcher: Dispatcher

  /** Serves `completion/complete` and declares `completions` while some source offers any. */
  constructor (dispatcher: Dispatcher) {
    this.#dispatcher = dispatcher
    dispatcher.contributeCapabilities((capabilities) => {
      if (this.active) capabilities.completions = {}
    })
    dispatcher.method('completion/complete', async (params, ctx) => {
      if (!this.active) throw new McpError(ErrorCode.MethodNotFound, 'Method not found: completion/complete (no completions offered)')
      const { ref, argument, context } = validParams(checkComplete, params)
      const source = this.#sources.get(ref.type)
      const result = source === undefined
        ? undefined
        : await source.complete({ ref, argument, context: { arguments: context?.arguments ?? {} } }, ctx!)
      if (result === undefined) throw new McpError(ErrorCode.InvalidParams, `Invalid params: unknown reference ${JSON.stringify(ref)}`)
      return { completion: capCompletion(result) }
    }, { runsHandler: true })
  }

  get active (): boolean {
    for (const source of this.#sources.values()) if (source.hasCompletions()) return true
    return false
  }

  addSource (refType: string, source: CompletionSource): void {
    this.#sources.set(refType, source)
    this.changed()
  }

  /** A source gained or lost completions: recompute the capabilities. */
  changed (): void {
    this.#dispatcher.invalidateCapabilities()
  }
}

/**
 * Validate what a source answered and keep at most 100 values: beyond that, the first 100 are
 * sent with `hasMore: true` and `total` (at least the number of values given). A malformed
 * answer is an application bug: -32603, naming what is wrong.
 */
function capCompletion (result: unknown): CompletionResult {
  const fail = (what: string): never => { throw new McpError(ErrorCode.InternalError, `Internal error: invalid completion result: ${what}`) }
  if (result === null || typeof result !== 'object') return fail('expected an object or an array of strings')
  const { values, total, hasMore } = result as Partial<CompletionResult>
  if (!Array.isArray(values)) return fail('values must be an array')
  if (!values.every((v) => typeof v === 'string')) return fail('values must be strings')
  if (total !== undefined && (!Number.isSafeInteger(total) || total < 0)) return fail('total must be a non-negative integer')
  if (hasMore !== undefined && typeof hasMore !== 'boolean') return fail('hasMore must be a boolean')
  if (values.length <= MAX_COMPLETION_VALUES) {
    const out: CompletionResult = { values: [...values] }
    if (total !== undefined) out.total = total
    if (hasMore !== undefined) out.hasMore = hasMore
    return out
  }
  return { values: values.slice(0, MAX_COMPLETION_VALUES), total: Math.max(total ?? 0, values.length), hasMore: true }
}
