import type { FastifyBaseLogger } from 'fastify'

/** The pino logger the plugin writes to: Fastify's, or a child of it. */
export type Logger = FastifyBaseLogger

/** Session ids are bearer-like secrets: logs carry only a prefix. */
export function shortSessionId (id: string): string {
  return id.length > 8 ? id.slice(0, 8) + '…' : id
}
