/** A scope token as RFC 6749 §3.3 allows it: printable ASCII without space, `"` or `\`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/

/** Whether `value` can be a scope name (and so be quoted safely in a challenge). */
export function isScopeToken (value: unknown): value is string {
  return typeof value === 'string' && SCOPE_TOKEN.test(value)
}

/** The `scopes` of a tool, prompt, resource or template definition: a frozen copy, or undefined when none; a message naming the problem when malformed. */
export function definitionScopes (value: unknown): readonly string[] | undefined | string {
  if (value === undefined) return undefined
  if (!Array.isArray(value) || !value.every(isScopeToken)) return 'scopes must be an array of scope names (printable ASCII, no space, quote or backslash)'
  return value.length === 0 ? undefined : Object.freeze([...new Set(value)])
}

/** Whether `granted` holds every scope of `required`. */
export function permits (granted: readonly string[] | undefined, required: readonly string[] | undefined): boolean {
  if (required === undefined) return true
  return granted !== undefined && required.every((scope) => granted.includes(scope))
}
