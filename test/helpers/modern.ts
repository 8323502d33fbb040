import type { FastifyInstance, LightMyRequestResponse } from 'fastify'

export const MODERN = '2026-07-28'
export const PV = 'io.modelcontextprotocol/protocolVersion'
export const CAPS = 'io.modelcontextprotocol/clientCapabilities'
export const INFO = 'io.modelcontextprotocol/clientInfo'
export const LOG_LEVEL = 'io.modelcontextprotocol/logLevel'
export const SERVER_INFO = 'io.modelcontextprotocol/serverInfo'
export const SUBSCRIPTION_ID = 'io.modelcontextprotocol/subscriptionId'

/** The per-request envelope of a 2026-07-28 request, plus extra `_meta` keys. */
export function envelope (capabilities: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { [PV]: MODERN, [CAPS]: capabilities, [INFO]: { name: 'modern-test', version: '1.0.0' }, ...extra }
}

/** A 2026-07-28 request: params with the envelope in `_meta`. */
export function modernRpc (id: string | number, method: string, params: Record<string, unknown> = {}, meta: Record<string, unknown> = envelope()): Record<string, unknown> {
  return { jsonrpc: '2.0', id, method, params: { ...params, _meta: { ...meta, ...(params._meta as Record<string, unknown> | undefined) } } }
}

/** The headers a conforming client derives from the body (set one to undefined to leave it out). */
export function modernHeaders (message: Record<string, unknown>, extra: Record<string, string | undefined> = {}): Record<string, string> {
  const params = (message.params ?? {}) as Record<string, unknown>
  const headers: Record<string, string | undefined> = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': MODERN,
    'mcp-method': message.method as string
  }
  const name = message.method === 'resources/read' ? params.uri : message.method === 'tools/call' || message.method === 'prompts/get' ? params.name : undefined
  if (typeof name === 'string') headers['mcp-name'] = /^[\x21-\x7e]+$/.test(name) ? name : `=?base64?${Buffer.from(name).toString('base64')}?=`
  Object.assign(headers, extra)
  return Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== undefined)) as Record<string, string>
}

/** POST a 2026-07-28 message with the derived headers (overridable). */
export function postModern (app: FastifyInstance, message: Record<string, unknown>, extra: Record<string, string | undefined> = {}): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url: '/mcp', headers: modernHeaders(message, extra), payload: JSON.stringify(message) })
}

/** The JSON-RPC messages of an answer, JSON or SSE. */
export function messagesOf (res: LightMyRequestResponse): Array<Record<string, any>> {
  if (String(res.headers['content-type']).startsWith('text/event-stream')) {
    return res.body.split('\n\n').flatMap((event) => {
      const data = event.split('\n').filter((line) => line.startsWith('data: ')).map((line) => line.slice(6)).join('\n')
      return data === '' ? [] : [JSON.parse(data) as Record<string, any>]
    })
  }
  return [res.json()]
}
