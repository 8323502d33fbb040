/**
 * RFC 6570 level-1 URI templates (`{var}` simple string expansion), matched in reverse:
 * which values, if any, expand the template to a given URI.
 *
 * A variable matches one or more characters other than '/', so templates and URIs line up
 * on their '/'s: both are split into '/'-separated segments and each segment is matched on
 * its own, left to right, each variable ending at the first occurrence of the literal that
 * follows it. That choice is complete (a segment has no '/', so a variable can always absorb
 * what a later split would have left to the next one) and takes linear time, where a
 * backtracking RegExp over `([^/]+)lit([^/]+)…` can take polynomial time on a hostile URI.
 */

/** RFC 6570 varname: varchar *( ["."] varchar ), varchar = ALPHA / DIGIT / "_" / pct-encoded. */
const VARNAME = /^(?:[A-Za-z0-9_]|%[0-9A-Fa-f]{2})(?:\.?(?:[A-Za-z0-9_]|%[0-9A-Fa-f]{2}))*$/
/** Characters RFC 6570 excludes from literals (besides braces, handled by the parser). */
// eslint-disable-next-line no-control-regex -- control characters are exactly what it refuses
const BAD_LITERAL = /[\u0000-\u0020\u007f"'<>\\^`|]/

/** A segment of a template: literals alternating with variables, starting and ending with a literal. */
interface Segment {
  /** `literals.length === variables.length + 1`; literals may be empty. */
  readonly literals: readonly string[]
  readonly variables: readonly string[]
}

export class UriTemplateError extends Error {}

export class UriTemplate {
  readonly template: string
  /** Variable names, in order of appearance. */
  readonly variables: readonly string[]
  readonly #segments: readonly Segment[]

  /** Parse `template`; throws `UriTemplateError` when it is not a level-1 template. */
  constructor (template: string) {
    if (typeof template !== 'string' || template === '') throw new UriTemplateError('the template must be a non-empty string')
    this.template = template
    const variables: string[] = []
    const segments: Segment[] = []
    for (const text of template.split('/')) segments.push(parseSegment(text, variables))
    this.variables = Object.freeze(variables)
    this.#segments = Object.freeze(segments)
  }

  /** The percent-decoded variable values if `uri` is an expansion of the template, else `undefined`. */
  match (uri: string): Record<string, string> | undefined {
    const parts = uri.split('/')
    if (parts.length !== this.#segments.length) return undefined
    const values: Record<string, string> = Object.create(null)
    for (let i = 0; i < parts.length; i++) {
      if (!matchSegment(this.#segments[i]!, parts[i]!, values)) return undefined
    }
    // Plain object for callers (and for TypeBox, which checks own enumerable keys either way).
    return { ...values }
  }
}

function parseSegment (text: string, variables: string[]): Segment {
  const literals: string[] = []
  const names: string[] = []
  let literal = ''
  let i = 0
  while (i < text.length) {
    const ch = text[i]!
    if (ch === '}') throw new UriTemplateError(`unmatched "}" at "${text}"`)
    if (ch !== '{') {
      if (BAD_LITERAL.test(ch)) throw new UriTemplateError(`character ${JSON.stringify(ch)} is not allowed in a URI template`)
      if (ch === '%' && !/^%[0-9A-Fa-f]{2}/.test(text.slice(i, i + 3))) throw new UriTemplateError('"%" must start a percent-encoded octet')
      literal += ch
      i++
      continue
    }
    const close = text.indexOf('}', i + 1)
    if (close === -1) throw new UriTemplateError(`unmatched "{" in "${text}"`)
    const name = text.slice(i + 1, close)
    if (name.includes('{')) throw new UriTemplateError(`nested "{" in "${text}"`)
    if (!VARNAME.test(name)) {
      throw new UriTemplateError(`"{${name}}" is not a level-1 expression: only {name} is supported (no operators, lists or modifiers)`)
    }
    if (variables.includes(name)) throw new UriTemplateError(`variable "${name}" appears twice`)
    if (names.length > 0 && literal === '') throw new UriTemplateError(`variables "${names[names.length - 1]!}" and "${name}" are adjacent, so the match is ambiguous`)
    literals.push(literal)
    literal = ''
    names.push(name)
    variables.push(name)
    i = close + 1
  }
  literals.push(literal)
  return { literals, variables: names }
}

function matchSegment (segment: Segment, text: string, values: Record<string, string>): boolean {
  const { literals, variables } = segment
  const first = literals[0]!
  if (variables.length === 0) return text === first
  const last = literals[literals.length - 1]!
  if (!text.startsWith(first)) return false
  const end = text.length - last.length
  if (end < first.length || !text.endsWith(last)) return false
  const body = text.slice(0, end)
  let pos = first.length
  for (let v = 0; v < variables.length; v++) {
    let stop = end
    if (v < variables.length - 1) {
      const next = literals[v + 1]!
      stop = body.indexOf(next, pos + 1)
      if (stop === -1) return false
      if (!store(values, variables[v]!, body.slice(pos, stop))) return false
      pos = stop + next.length
    } else {
      if (stop - pos < 1) return false
      if (!store(values, variables[v]!, body.slice(pos, stop))) return false
    }
  }
  return true
}

function store (values: Record<string, string>, name: string, raw: string): boolean {
  try {
    values[name] = decodeURIComponent(raw)
    return true
  } catch {
    return false // malformed percent-encoding: not an expansion of the template
  }
}
