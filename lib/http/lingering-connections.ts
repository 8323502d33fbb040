import type { Server, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'

const SWEEP_MS = 50

/**
 * What would hold `server.close()` long after the plugin's drain is over: keep-alive
 * connections whose last answer was written after the close began (Node closes idle ones
 * only once, when `close()` is called, and a client's pooled connection then lives out
 * `keepAliveTimeout`, 72 s by default), and connections a client opened without sending a
 * request yet (Node never counts those as idle: they wait for `headersTimeout`). Once shutdown
 * starts, the answers still to come say `Connection: close` (the client must not send another
 * request on that connection: it would only be refused), and idle or unused connections are
 * ended every few milliseconds until the server has closed. Connections carrying a request
 * are left alone.
 */
export class LingeringConnections {
  readonly #server: Server
  readonly #sockets = new Set<Socket>()
  #timer: NodeJS.Timeout | undefined

  constructor (server: Server) {
    this.#server = server
    server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket)
      socket.once('close', () => this.#sockets.delete(socket))
    })
  }

  /** From now until the server has closed, end the connections that hold it open for nothing. */
  endWhileClosing (): void {
    if (this.#timer !== undefined || !this.#server.listening) return
    for (const socket of this.#sockets) {
      // The response in progress on the socket (Node's own field, which closeIdleConnections reads too).
      const response = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage
      if (response !== undefined && response !== null && !response.headersSent) response.setHeader('connection', 'close')
    }
    this.#timer = setInterval(() => this.#sweep(), SWEEP_MS).unref()
    this.#server.once('close', () => this.stop())
  }

  stop (): void {
    clearInterval(this.#timer)
  }

  #sweep (): void {
    this.#server.closeIdleConnections()
    for (const socket of this.#sockets) {
      if (socket.bytesRead === 0) socket.destroy()
    }
  }
}
