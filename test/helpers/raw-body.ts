// A sender that writes a whole large body on a raw socket, whatever the server answers first:
// what a client sees when a server refuses the body before reading it.
import net from 'node:net'
import type { Test } from 'tap'

export interface WholeBodyOutcome {
  /** Everything the server wrote back. */
  readonly received: string
  /** Socket errors while sending (EPIPE, ECONNRESET: the answer was lost). */
  readonly errors: readonly string[]
  /** The connection never ended within 10 s of the last byte (a server that stopped reading). */
  readonly stalled: boolean
}

/** Send `head` (request line and headers, without Content-Length) and `size` bytes of body. */
export async function sendWholeBody (t: Test, url: URL, head: string, size: number): Promise<WholeBodyOutcome> {
  const socket = net.connect(Number(url.port), url.hostname)
  t.teardown(() => socket.destroy())
  let received = ''
  const errors: string[] = []
  socket.on('data', (chunk) => { received += String(chunk) })
  socket.on('error', (err: NodeJS.ErrnoException) => errors.push(err.code ?? err.message))
  const closed = new Promise((resolve) => socket.once('close', resolve))
  socket.write(`${head}\r\nContent-Length: ${size}\r\n\r\n`)
  const chunk = Buffer.alloc(64 * 1024, 0x20)
  for (let sent = 0; sent < size && !socket.destroyed; sent += chunk.length) {
    if (!socket.write(chunk)) await new Promise((resolve) => { socket.once('drain', resolve); socket.once('close', resolve) })
  }
  let timer: NodeJS.Timeout | undefined
  const stalled = await Promise.race([closed.then(() => false), new Promise<boolean>((resolve) => { timer = setTimeout(resolve, 10_000, true) })])
  clearTimeout(timer)
  return { received, errors, stalled }
}
