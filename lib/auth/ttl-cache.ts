/**
 * A map whose entries expire at their own time and whose size is bounded: inserting beyond
 * `max` drops the oldest entry (insertion order), so a flood of distinct keys only churns it.
 */
export class TtlCache<V> {
  readonly #max: number
  readonly #entries = new Map<string, { value: V, expiresAt: number }>()
  readonly #now: () => number

  constructor (max: number, now: () => number = Date.now) {
    this.#max = max
    this.#now = now
  }

  get size (): number { return this.#entries.size }

  get (key: string): V | undefined {
    const entry = this.#entries.get(key)
    if (entry === undefined) return undefined
    if (entry.expiresAt <= this.#now()) {
      this.#entries.delete(key)
      return undefined
    }
    return entry.value
  }

  set (key: string, value: V, expiresAt: number): void {
    if (this.#max === 0 || expiresAt <= this.#now()) return
    this.#entries.delete(key)
    if (this.#entries.size >= this.#max) this.#entries.delete(this.#entries.keys().next().value!)
    this.#entries.set(key, { value, expiresAt })
  }
}
