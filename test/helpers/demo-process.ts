// The demo server (examples/demo/server.ts) as a process of its own, as `npm start` runs it.
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

export interface DemoProcess {
  readonly url: URL
  readonly child: ChildProcess
  readonly exited: Promise<number | null>
  /** It said its sessions are in Redis. */
  readonly onRedis: boolean
}

/** Start the demo on a free port with `env` added; resolves its MCP URL once it logs it. */
export function startDemo (env: Record<string, string>): Promise<DemoProcess> {
  const child = spawn(process.execPath, ['--import=tsx', 'examples/demo/server.ts'], { cwd: ROOT, env: { ...process.env, PORT: '0', HOST: '127.0.0.1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return new Promise((resolve, reject) => {
    let output = ''
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`the demo did not start: ${output}`)) }, 20_000)
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk
      const match = /MCP endpoint: (http:\/\/[^\s"]+\/mcp)( \(sessions in Redis\))?/.exec(output)
      if (match !== null) {
        clearTimeout(timer)
        resolve({ url: new URL(match[1]!), child, exited, onRedis: match[2] !== undefined })
      }
    })
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
    void exited.then(() => { clearTimeout(timer); reject(new Error(`the demo exited: ${output}`)) })
  })
}
