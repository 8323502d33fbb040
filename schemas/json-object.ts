import { Type, type TRecord, type TString, type TUnknown } from '@sinclair/typebox'

/**
 * Any JSON object (not null, not an array), typed as `Record<string, unknown>`. For what
 * arrives parsed from JSON, where nothing else (a Date, a Uint8Array) can appear: a
 * `Type.Record(Type.String(), Type.Unknown())` compiles to `Object.entries(value).every(…)`
 * with a regex test per key that always passes, about 300 ns per `tools/call` body against 8.
 * Internal: the package does not re-export it.
 */
export const JsonObjectSchema = Type.Object({}) as unknown as TRecord<TString, TUnknown>
