// oidc-provider 8 ships no types: the little the tests use.
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http'

  export interface ResourceServer {
    scope: string
    audience?: string
    accessTokenTTL?: number
    accessTokenFormat?: 'jwt' | 'opaque'
    jwt?: { sign?: { alg?: string } }
  }

  export const errors: { InvalidTarget: new (description?: string) => Error }

  export default class Provider {
    constructor (issuer: string, configuration?: Record<string, unknown>)
    proxy: boolean
    callback (): (req: IncomingMessage, res: ServerResponse) => void
    on (event: string, listener: (...args: any[]) => void): this
  }
}
