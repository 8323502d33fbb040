// The fuzz against the server process: the server must still be running at the end.
import { startServer } from './child.js'
import { runFuzz, type FuzzReport } from './fuzz.js'

export interface FuzzResult extends FuzzReport {
  crashed: boolean
}

export async function fuzz ({ count, seed }: { count: number, seed: number }): Promise<FuzzResult> {
  const server = await startServer()
  try {
    const report = await runFuzz({ url: server.url, count, seed, alive: () => server.exit === undefined })
    return { ...report, crashed: server.exit !== undefined }
  } finally {
    await server.kill()
  }
}
