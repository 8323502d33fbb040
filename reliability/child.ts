import { fork, type ChildProcess } from 'node:child_process'

/** The server under test (reliability/server.ts), running in its own process. */
export interface ServerProcess {
  readonly url: URL
  readonly child: ChildProcess
  /** Set once the process has exited: a crash, unless `close()` asked for it. */
  readonly exit: { code: number | null, signal: NodeJS.Signals | null } | undefined
  /** Heap used after a full GC, in bytes. */
  heapUsed (): Promise<number>
  /** `app.close()` in the server; resolves how long it took (ms), once the process has exited. */
  close (): Promise<number>
  /** SIGKILL, if still running (teardown). */
  kill (): Promise<void>
}

function ask<T> (child: ChildProcess, type: string, answer: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: { type: string } & T) => {
      if (message.type !== answer) return
      child.off('message', onMessage)
      child.off('exit', onExit)
      resolve(message)
    }
    const onExit = () => reject(new Error(`the server exited before answering ${type}`))
    child.on('message', onMessage)
    child.once('exit', onExit)
    child.send({ type })
  })
}

/** Start the server with `env` added to this process's environment. */
export async function startServer (env: Record<string, string> = {}): Promise<ServerProcess> {
  const child = fork(new URL('./server.js', import.meta.url), [], {
    execArgv: ['--expose-gc'],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc']
  })
  let exit: ServerProcess['exit']
  const exited = new Promise<void>((resolve) => child.once('exit', (code, signal) => { exit = { code, signal }; resolve() }))
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the server exited with ${code} before listening`)))
    child.on('message', (message: { type: string, port: number }) => { if (message.type === 'ready') resolve(message.port) })
  })
  return {
    url: new URL(`http://127.0.0.1:${port}/mcp`),
    child,
    get exit () { return exit },
    heapUsed: async () => (await ask<{ heapUsed: number }>(child, 'memory', 'memory')).heapUsed,
    async close () {
      const { ms } = await ask<{ ms: number }>(child, 'close', 'closed')
      await exited
      return ms
    },
    async kill () {
      if (exit !== undefined) return
      child.kill('SIGKILL')
      await exited
    }
  }
}
