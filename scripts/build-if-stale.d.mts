// Types of build-if-stale.mjs, for the tests that import it.
export const root: string
export function newestMtime (dir: string): number
export function isStale (entry: string, sourceDirs: string[]): boolean
export function buildIfStale (entry: string, sourceDirs: string[], say: (message: string) => void): boolean
