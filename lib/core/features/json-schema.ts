import { Kind, type TSchema } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { Ajv2020 } from 'ajv/dist/2020.js'

/** A validator, TypeBox-compiled or Ajv: what the registries need from a schema. */
export interface Checker {
  Check (value: unknown): boolean
  Errors (value: unknown): Iterable<{ path: string, message: string }>
}

/** A plain JSON Schema object (2020-12) for what TypeBox does not express. */
export interface JsonSchemaObject {
  type: 'object'
  [keyword: string]: unknown
}

const DIALECT_2020_12 = 'https://json-schema.org/draft/2020-12/schema'

// One Ajv per process: compiled validators are cached by schema identity, and no remote
// `$ref` is ever loaded (there is no loadSchema), as the 2026 spec requires.
let ajv: Ajv2020 | undefined

/** Whether a schema object was built with TypeBox (it carries TypeBox's Kind symbol). */
export function isTypeBox (schema: unknown): schema is TSchema {
  return schema !== null && typeof schema === 'object' && (schema as Record<PropertyKey, unknown>)[Kind] !== undefined
}

/**
 * Compile a TypeBox schema with TypeBox, or a raw JSON Schema with Ajv's 2020-12 validator.
 * Throws (a plain Error with the reason) for a dialect other than 2020-12 or a schema that
 * does not compile.
 */
export function compileSchema (schema: unknown): Checker {
  if (isTypeBox(schema)) return TypeCompiler.Compile(schema)
  const raw = schema as Record<string, unknown>
  if (raw.$schema !== undefined && raw.$schema !== DIALECT_2020_12 && raw.$schema !== DIALECT_2020_12 + '#') {
    throw new Error(`unsupported JSON Schema dialect ${JSON.stringify(raw.$schema)} (only 2020-12)`)
  }
  ajv ??= new Ajv2020({ allErrors: false, strict: false, validateFormats: false })
  const validate = ajv.compile(raw)
  return {
    Check: (value) => validate(value) === true,
    Errors: (value) => {
      validate(value)
      return (validate.errors ?? []).map((e) => ({ path: e.instancePath, message: e.message ?? 'is invalid' }))
    }
  }
}
