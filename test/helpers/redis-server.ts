// A real redis-server for tests: started on a free loopback port, stopped at teardown.
// Missing redis-server skips locally but fails under CI=true (CI must never skip Redis).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'

export function redisServerPath (): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' })
  const path = found.stdout.trim()
  return found.status === 0 && path !== '' ? path : undefined
}

/** The reason to skip Redis tests, or false. Under CI a missing server is an error instead. */
export function skipWithoutRedis (): string | false {
  if (redisServerPath() !== undefined) return false
  if (process.env.CI === 'true') throw new Error('redis-server is not installed, and CI never skips Redis tests (apt-get install -y redis-server)')
  return 'redis-server is not installed'
}

async function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

/** One redis-server process; `stop()` and `start()` again keep the port (a restart). */
export class RedisServer {
  readonly port: number
  readonly #dir: string
  #process: ChildProcess | undefined

  private constructor (port: number) {
    this.port = port
    this.#dir = mkdtempSync(join(tmpdir(), 'mcp-redis-'))
  }

  static async start (): Promise<RedisServer> {
    const server = new RedisServer(await freePort())
    await server.start()
    return server
  }

  get url (): string { return `redis://127.0.0.1:${this.port}` }

  /** The redis-server process, while it runs (benchmarks read its CPU time). */
  get pid (): number | undefined { return this.#process?.pid }

  async start (): Promise<void> {
    const child = spawn(redisServerPath() ?? 'redis-server', [
      '--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--dir', this.#dir, '--protected-mode', 'yes', '--loglevel', 'warning'
    ], { stdio: ['ignore', 'pipe', 'pipe'] })
    this.#process = child
    let output = ''
    child.stdout?.on('data', (chunk) => { output += String(chunk) })
    child.stderr?.on('data', (chunk) => { output += String(chunk) })
    const deadline = Date.now() + 10_000
    for (;;) {
      if (child.exitCode !== null) throw new Error(`redis-server exited: ${output}`)
      const ping = spawnSync('redis-cli', ['-p', String(this.port), 'ping'], { encoding: 'utf8' })
      if (ping.stdout.trim() === 'PONG') return
      if (Date.now() > deadline) throw new Error(`redis-server did not answer on ${this.port}: ${output}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }

  /** Stop it at once (SIGKILL: like a crash, no save). */
  async stop (): Promise<void> {
    const child = this.#process
    this.#process = undefined
    if (child === undefined || child.exitCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGKILL')
    await exited
  }

  /** Run a redis-cli command against it (for assertions: MONITOR-free introspection). */
  cli (...args: string[]): string {
    return spawnSync('redis-cli', ['-p', String(this.port), ...args], { encoding: 'utf8' }).stdout.trim()
  }

  async close (): Promise<void> {
    await this.stop()
    rmSync(this.#dir, { recursive: true, force: true })
  }
}

/**
 * The subtest `name`, given its own redis-server (stopped when the subtest ends). Without
 * redis-server the subtest is skipped, except under CI=true, where this throws instead.
 */
export function withRedis (t: Test, name: string, fn: (t: Test, server: RedisServer) => Promise<void>): Promise<unknown> {
  const skip = skipWithoutRedis()
  return t.test(name, { skip }, async (t) => {
    const server = await RedisServer.start()
    t.teardown(() => server.close())
    await fn(t, server)
  })
}
