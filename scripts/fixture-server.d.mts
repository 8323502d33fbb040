// Types of fixture-server.mjs, for the tests that import it.
import type { ChildProcess } from 'node:child_process'

export function freePort (host?: string): Promise<number>

export interface StartServerOptions {
  cwd?: string
  env?: NodeJS.ProcessEnv
  host?: string
  path?: string
  health?: string
  output?: NodeJS.WritableStream
  timeoutMs?: number
  attempts?: number
  pickPort?: (host: string) => Promise<number>
}

export interface StartedServer {
  url: string
  port: number
  child: ChildProcess
  stop (): Promise<number | string | null>
}

export function startServer (command: string, args: string[], options?: StartServerOptions): Promise<StartedServer>
