/**
 * `x-mcp-header` (2026-07-28, SEP-2243): a tool's `inputSchema` may mark primitive arguments
 * to be mirrored into `Mcp-Param-{Name}` request headers, so gateways can route on them.
 * Clients drop a tool whose declarations are invalid from `tools/list`, so they are checked
 * when the tool is registered, not discovered later as a tool nobody sees.
 */

/** One argument a tool mirrors into a header. */
export interface ParamHeader {
  /** The declared name, as in `Mcp-Param-{name}` (compared case-insensitively). */
  readonly name: string
  /** The chain of `properties` keys from the schema root to the argument. */
  readonly path: readonly string[]
  readonly type: 'string' | 'integer' | 'boolean'
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
const KEYWORD = 'x-mcp-header'
// Everything but `properties` that can hold a subschema: a declaration under one of these
// is not statically reachable, which makes the whole tool invalid.
// ($ref targets live under $defs or definitions, covered here.)
const NESTED = [
  'items', 'prefixItems', 'additionalProperties', 'patternProperties', 'unevaluatedItems', 'unevaluatedProperties', 'contains', 'propertyNames',
  'oneOf', 'anyOf', 'allOf', 'not', 'if', 'then', 'else', 'dependentSchemas', '$defs', 'definitions'
]

function isObject (value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

function hasDeclaration (schema: unknown): boolean {
  if (Array.isArray(schema)) return schema.some(hasDeclaration)
  if (!isObject(schema)) return false
  if (Object.hasOwn(schema, KEYWORD)) return true
  return Object.values(schema).some(hasDeclaration)
}

function typeOf (schema: Record<string, unknown>): ParamHeader['type'] | undefined {
  const type = schema.type
  return type === 'string' || type === 'integer' || type === 'boolean' ? type : undefined
}

/**
 * The header declarations of an input schema, checked as the spec requires: a non-empty
 * RFC 9110 token, unique ignoring case, on a string, integer or boolean property reached
 * through `properties` alone. Throws an Error saying what is wrong.
 */
export function readParamHeaders (inputSchema: unknown): ParamHeader[] {
  const found: ParamHeader[] = []
  const seen = new Set<string>()
  const walk = (schema: unknown, path: string[]): void => {
    if (!isObject(schema)) return
    if (Object.hasOwn(schema, KEYWORD)) {
      const name = schema[KEYWORD]
      const where = path.length === 0 ? 'the schema root' : path.join('.')
      if (path.length === 0) throw new Error(`${KEYWORD} at ${where}: only properties can be mirrored`)
      if (typeof name !== 'string' || !TOKEN.test(name)) throw new Error(`${KEYWORD} at ${where} must be a non-empty RFC 9110 token`)
      const type = typeOf(schema)
      if (type === undefined) throw new Error(`${KEYWORD} "${name}" at ${where}: the property must have type string, integer or boolean`)
      const key = name.toLowerCase()
      if (seen.has(key)) throw new Error(`${KEYWORD} "${name}" is declared twice (names are compared ignoring case)`)
      seen.add(key)
      found.push({ name, path: [...path], type })
    }
    for (const keyword of NESTED) {
      if (hasDeclaration(schema[keyword])) throw new Error(`${KEYWORD} under "${keyword}" is not statically reachable: only chains of "properties" are`)
    }
    const properties = schema.properties
    if (isObject(properties)) {
      for (const [key, child] of Object.entries(properties)) walk(child, [...path, key])
    }
  }
  walk(inputSchema, [])
  return found
}

/** The argument at a declaration's path, or undefined when absent (or null: no header expected). */
export function argumentAt (args: unknown, path: readonly string[]): unknown {
  let value: unknown = args
  for (const key of path) {
    if (!isObject(value) || !Object.hasOwn(value, key)) return undefined
    value = value[key]
  }
  return value ?? undefined
}
