// The layering of lib/, read from the import statements: a change that makes a layer reach
// up (the core importing HTTP, a store importing a front door) or closes a cycle fails here.
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')

/**
 * Each layer may import from itself and from the layers listed for it; everything else is
 * refused. Order, bottom up: schemas, foundation, telemetry (OpenTelemetry spans and metrics
 * through the API, the session observer seam), core, stores, auth (the OAuth resource
 * server: token checks, metadata, challenges), http (the shared edge),
 * legacy (the 2025 front door) and modern (the 2026-07-28 one, which never import each
 * other), root (composition: options, runtime, endpoint, index).
 */
const LAYERS: Record<string, readonly string[]> = {
  schemas: [],
  foundation: ['schemas'],
  telemetry: ['schemas', 'foundation'],
  core: ['schemas', 'foundation', 'telemetry'],
  stores: ['schemas', 'foundation', 'telemetry', 'core'],
  auth: ['schemas', 'foundation', 'core'],
  http: ['schemas', 'foundation', 'telemetry', 'core', 'auth'],
  legacy: ['schemas', 'foundation', 'telemetry', 'core', 'stores', 'auth', 'http'],
  modern: ['schemas', 'foundation', 'telemetry', 'core', 'stores', 'auth', 'http'],
  client: ['schemas', 'foundation'],
  root: ['schemas', 'foundation', 'telemetry', 'core', 'stores', 'auth', 'http', 'legacy', 'modern']
}

const FOUNDATION = new Set(['lib/errors.ts', 'lib/meta.ts', 'lib/log.ts', 'lib/timeout.ts'])

export function layerOf (file: string): string {
  if (file.startsWith('schemas/')) return 'schemas'
  if (FOUNDATION.has(file)) return 'foundation'
  const match = /^lib\/([^/]+)\//.exec(file)
  if (match === null) return 'root'
  if (LAYERS[match[1]!] === undefined) return `unknown folder lib/${match[1]}`
  return match[1]!
}

function sources (dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => relative(root, join(entry.parentPath, entry.name)))
}

/** Relative imports of a file (static, re-exports and dynamic), as repository paths. */
function importsOf (file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8')
  const found: string[] = []
  for (const match of text.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
    found.push(relative(root, resolve(root, dirname(file), match[1]!.replace(/\.js$/, '.ts'))))
  }
  return found
}

const files = [...sources('lib'), ...sources('schemas')]
const graph = new Map(files.map((file) => [file, importsOf(file)]))

type Graph = ReadonlyMap<string, readonly string[]>

/** The edges of `graph` that the layering refuses, as `from (layer) → to (layer)`. */
function refusedEdges (graph: Graph): string[] {
  const refused: string[] = []
  for (const [file, imports] of graph) {
    const from = layerOf(file)
    for (const target of imports) {
      const to = layerOf(target)
      if (to !== from && !LAYERS[from]?.includes(to)) refused.push(`${file} (${from}) → ${target} (${to})`)
    }
  }
  return refused
}

/** Every import cycle of `graph` found by a depth-first walk, as `a → b → a`. */
function cyclesOf (graph: Graph): string[] {
  const cycles: string[] = []
  const state = new Map<string, 'open' | 'done'>()
  const path: string[] = []
  const visit = (file: string): void => {
    state.set(file, 'open')
    path.push(file)
    for (const target of graph.get(file) ?? []) {
      if (state.get(target) === 'open') cycles.push([...path.slice(path.indexOf(target)), target].join(' → '))
      else if (state.get(target) === undefined && graph.has(target)) visit(target)
    }
    path.pop()
    state.set(file, 'done')
  }
  for (const file of graph.keys()) if (state.get(file) === undefined) visit(file)
  return cycles
}

t.test('every file belongs to a known layer', async (t) => {
  t.ok(graph.size > 30, 'the sources were read')
  t.ok([...graph.values()].some((imports) => imports.length > 0), 'imports were read')
  t.strictSame(files.filter((file) => LAYERS[layerOf(file)] === undefined), [])
})

t.test('imports only go down the layers', async (t) => {
  t.strictSame(refusedEdges(graph), [])
})

t.test('no import cycle between files', async (t) => {
  t.strictSame(cyclesOf(graph), [])
})

t.test('the check refuses an upward edge and finds a cycle', async (t) => {
  const bad: Graph = new Map([
    ['lib/core/a.ts', ['lib/http/b.ts', 'lib/errors.ts']],
    ['lib/http/b.ts', ['lib/core/a.ts']],
    ['lib/errors.ts', []],
    ['lib/legacy/c.ts', ['lib/stores/d.ts', 'lib/options.ts']]
  ])
  t.strictSame(refusedEdges(bad), [
    'lib/core/a.ts (core) → lib/http/b.ts (http)',
    'lib/legacy/c.ts (legacy) → lib/options.ts (root)'
  ])
  t.strictSame(cyclesOf(bad), ['lib/core/a.ts → lib/http/b.ts → lib/core/a.ts'])
  t.equal(layerOf('lib/somewhere/x.ts'), 'unknown folder lib/somewhere')
})
