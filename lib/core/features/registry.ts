import { ListedPages, type ListFilter } from './pagination.js'

/** What every registered entry carries: the name it is sorted by, its list entry built once, the scopes using it needs. */
export interface Listed {
  readonly name: string
  readonly descriptor: Record<string, unknown>
  readonly scopes?: readonly string[] | undefined
}

/**
 * The entries of one kind (tools, prompts, resources, resource templates) by key, in
 * registration order, listed in pages sorted by name. Every change invalidates the pages and
 * is reported to `onChange` (the feature host recomputes capabilities and announces it).
 */
export class Registry<T extends Listed> {
  readonly #entries = new Map<string, T>()
  readonly #pages: ListedPages<T>
  readonly #onChange: () => void

  /** `listKey` names the array in a list answer (`tools`, `prompts`, `resourceTemplates`…). */
  constructor (listKey: string, onChange: () => void) {
    this.#pages = new ListedPages(listKey)
    this.#onChange = onChange
  }

  get size (): number { return this.#entries.size }

  has (key: string): boolean { return this.#entries.has(key) }

  get (key: string): T | undefined { return this.#entries.get(key) }

  /** In registration order. */
  values (): IterableIterator<T> { return this.#entries.values() }

  /** Add an entry; false, adding nothing, when the key is taken (the feature names its own error). */
  add (key: string, entry: T): boolean {
    if (this.#entries.has(key)) return false
    this.#entries.set(key, entry)
    this.#changed()
    return true
  }

  /** Remove an entry; whether it existed. */
  remove (key: string): boolean {
    const removed = this.#entries.delete(key)
    if (removed) this.#changed()
    return removed
  }

  /** One page of the list answer after `cursor`, of the entries `filter` keeps. */
  page (cursor: string | undefined, pageSize: number, filter?: ListFilter): Record<string, unknown> {
    return this.#pages.page(() => this.#entries.values(), cursor, pageSize, filter)
  }

  #changed (): void {
    this.#pages.invalidate()
    this.#onChange()
  }
}
