/**
 * A string-keyed table for entries that come and go with requests (requests in flight, POST
 * streams being answered): a dictionary-mode object rather than a Map.
 *
 * V8 links each table a Map outgrows to its successor (for live iterators), and does not
 * clear the entries the old table held. Once one of those tables is promoted, every later
 * table and every entry they held stays reachable until a mark-compact. With dozens of
 * requests in flight (a Redis reply batch resumes them together) a Map here promoted each
 * finished request's whole object graph: about 2 MB per scavenge and a mark-compact a
 * second under load, against nothing with this table (test/inflight-gc.test.ts).
 */
export class KeyedTable<V> {
  #entries: Record<string, V> = Object.create(null)
  #size = 0

  get size (): number { return this.#size }

  get (key: string): V | undefined {
    return this.#entries[key]
  }

  set (key: string, value: V): void {
    if (this.#entries[key] === undefined) this.#size++
    this.#entries[key] = value
  }

  delete (key: string): void {
    if (this.#entries[key] === undefined) return
    delete this.#entries[key]
    this.#size--
  }

  /** Empty the table, returning what it held. */
  drain (): V[] {
    const values = Object.values(this.#entries)
    this.#entries = Object.create(null)
    this.#size = 0
    return values
  }
}
