// Start a server process on a free loopback port and wait until it answers its health route.
//
// The port is chosen here and handed to the server as PORT, so nothing depends on what the
// server logs (or on its LOG_LEVEL). Between closing the probe socket and the server binding
// the port, another process could take it: the server then exits (EADDRINUSE) and we try
// again on a new port. The health answer must be the plugin's (`{"status":"ok",…}`) and come
// while our child is alive, so a stranger on the port is not mistaken for it.
import { spawn } from 'node:child_process'
import { createServer } from 'node:net'

/** A port that was free on `host` a moment ago (the OS's pick for port 0). */
export function freePort (host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const probe = createServer()
    probe.unref()
    probe.once('error', reject)
    probe.listen({ host, port: 0, exclusive: true }, () => {
      const { port } = probe.address()
      probe.close(() => resolve(port))
    })
  })
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Spawn `command args` with HOST and PORT set, and resolve once `GET <health>` answers
 * `{"status":"ok"}`. Options: `cwd`, `env` (HOST/PORT are overridden), `host` (default
 * 127.0.0.1), `path` (the MCP endpoint, default /mcp), `health` (default /health),
 * `output` (a writable stream that receives the child's stdout and stderr), `timeoutMs`
 * per attempt (default 15 s), `attempts` (default 3), `pickPort` (default `freePort`).
 * Resolves `{ url, port, child, stop }`; `stop()` sends SIGTERM (SIGKILL after 5 s) and
 * resolves the exit code.
 */
export async function startServer (command, args, options = {}) {
  const {
    cwd,
    env = process.env,
    host = '127.0.0.1',
    path = '/mcp',
    health = '/health',
    output,
    timeoutMs = 15_000,
    attempts = 3,
    pickPort = freePort
  } = options
  const urlHost = host.includes(':') ? `[${host}]` : host
  let lastError
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const port = await pickPort(host)
    const child = spawn(command, args, { cwd, env: { ...env, HOST: host, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] })
    let tail = ''
    const keep = (chunk) => {
      tail = (tail + chunk.toString('utf8')).slice(-4000)
      output?.write(chunk)
    }
    child.stdout.on('data', keep)
    child.stderr.on('data', keep)
    let exit
    const exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        exit ??= { code, signal }
        resolve(code ?? signal)
      })
      // A command that cannot be spawned emits 'error' and no 'exit'.
      child.once('error', (err) => {
        exit ??= { code: null, signal: null, error: err }
        resolve(null)
      })
    })

    const base = `http://${urlHost}:${port}`
    const deadline = Date.now() + timeoutMs
    let healthy = false
    // `exit` is set by the child's listeners while this loop awaits.
    const running = () => exit === undefined
    while (running() && Date.now() < deadline) {
      try {
        const res = await fetch(base + health, { signal: AbortSignal.timeout(2000) })
        const body = await res.json().catch(() => null)
        if (res.ok && body?.status === 'ok' && exit === undefined) {
          healthy = true
          break
        }
      } catch {}
      await sleep(50)
    }

    const stop = async () => {
      if (exit === undefined) {
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
        await exited
        clearTimeout(timer)
      }
      return exited
    }
    if (healthy) return { url: `${base}${path}`, port, child, stop }

    if (exit === undefined) {
      await stop()
      lastError = new Error(`the server did not answer ${base}${health} within ${timeoutMs} ms`)
      break
    }
    await exited
    const how = exit.error?.message ?? `code ${exit.code}, signal ${exit.signal}`
    lastError = new Error(`the server exited early (${how})${tail === '' ? '' : `:\n${tail.trimEnd()}`}`)
    // Only a lost race for the port is worth another try.
    if (!/EADDRINUSE/.test(tail)) break
  }
  throw lastError
}
