import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import { ErrorCode } from '../core/jsonrpc.js'

/** What Node reports for a request it could not even parse. */
interface ClientError extends Error {
  code?: string
}

function answer (code: string | undefined): [number, string] {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return [408, 'Request Timeout: the request was not received in time']
  if (code === 'HPE_HEADER_OVERFLOW') return [431, 'Request Header Fields Too Large']
  return [400, 'Bad Request: the HTTP request could not be parsed']
}

/**
 * A `clientErrorHandler` for Fastify's options: the errors Node raises before any route runs
 * (a header over the size limit, a malformed header byte, a request not received within
 * `requestTimeout`) answered with a JSON-RPC error body, like every other MCP error, instead
 * of Fastify's `{error, message, statusCode}`. The plugin cannot install it itself: these
 * errors belong to the whole server, not to a route. `Fastify({ clientErrorHandler: mcpClientErrorHandler })`.
 */
export function mcpClientErrorHandler (err: ClientError, socket: Socket): void {
  // A reset connection has nobody left to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  if (socket.writable) {
    const [status, message] = answer(err.code)
    const body = JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: ErrorCode.TransportError, message } })
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]!}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`)
  }
  socket.destroy()
}
