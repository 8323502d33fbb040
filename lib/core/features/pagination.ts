import { ErrorCode, McpError } from '../jsonrpc.js'

// Cursors name the last item of the previous page rather than an offset, so a page stays
// stable when items are added or removed between two calls.
const PREFIX = 'after:'

export function encodeCursor (lastName: string): string {
  return Buffer.from(PREFIX + lastName, 'utf8').toString('base64url')
}

export function decodeCursor (cursor: string): string {
  const text = Buffer.from(cursor, 'base64url').toString('utf8')
  if (!text.startsWith(PREFIX) || Buffer.from(text, 'utf8').toString('base64url') !== cursor) {
    throw new McpError(ErrorCode.InvalidParams, 'Invalid cursor')
  }
  return text.slice(PREFIX.length)
}

/** One page of `sorted` (ascending by name) after `cursor`. */
export function paginate<T extends { name: string }> (sorted: readonly T[], cursor: string | undefined, pageSize: number): { items: T[], nextCursor?: string } {
  let start = 0
  if (cursor !== undefined) {
    const after = decodeCursor(cursor)
    // Binary search for the first name greater than `after`.
    let lo = 0
    let hi = sorted.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (sorted[mid]!.name <= after) lo = mid + 1
      else hi = mid
    }
    start = lo
  }
  const items = sorted.slice(start, start + pageSize)
  if (start + pageSize < sorted.length) return { items, nextCursor: encodeCursor(items[items.length - 1]!.name) }
  return { items }
}

interface Listed {
  readonly name: string
  /** The list entry, built once at registration. */
  readonly descriptor: Record<string, unknown>
  readonly scopes?: readonly string[] | undefined
}

/** Which entries a caller may see (`listOnlyPermitted`); undefined shows all. */
export type ListFilter = (entry: { readonly scopes?: readonly string[] | undefined }) => boolean

function byName (a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0
}

/**
 * A registry's list answer (tools/list, prompts/list, resources/list…): the entries sorted by
 * name (kept until the registry changes), one page of their descriptors under `key`, and
 * `nextCursor` if more follow.
 */
export class ListedPages<T extends Listed> {
  readonly #key: string
  #sorted: T[] | undefined

  constructor (key: string) {
    this.#key = key
  }

  /** The registry changed: sort again on the next page. */
  invalidate (): void {
    this.#sorted = undefined
  }

  page (entries: () => Iterable<T>, cursor: string | undefined, pageSize: number, filter?: ListFilter): Record<string, unknown> {
    this.#sorted ??= [...entries()].sort(byName)
    // Filtered before paging, so pages stay full; cursors name entries, so they still work.
    const { items, nextCursor } = paginate(filter === undefined ? this.#sorted : this.#sorted.filter(filter), cursor, pageSize)
    const answer: Record<string, unknown> = { [this.#key]: items.map((item) => item.descriptor) }
    if (nextCursor !== undefined) answer.nextCursor = nextCursor
    return answer
  }
}
