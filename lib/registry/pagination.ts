import { ErrorCode, McpError } from '../protocol/jsonrpc.js'

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
