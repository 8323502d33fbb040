/** A JSON-RPC message as the client sees it (loosely typed: the server is foreign). */
export interface RpcMessage {
  jsonrpc: '2.0'
  id?: string | number | null
  method?: string
  params?: Record<string, any>
  result?: Record<string, any>
  error?: { code: number, message: string, data?: unknown }
}

/** `'legacy'`: the 2025 handshake, no probe. `'auto'`: probe `server/discover`, fall back by the spec's rules. `{ pin }`: that revision only. */
export type EraMode = 'legacy' | 'auto' | { pin: string }

/** The era a connection speaks: 2025 sessions, or stateless 2026-07-28 requests. */
export type Era = 'legacy' | 'modern'

/** What the server asks of the client (2025 server→client requests, or 2026-07-28 input requests). */
export interface ServerRequestHandlers {
  /** `elicitation/create`: return `{ action: 'accept', content }`, `{ action: 'decline' }` or `{ action: 'cancel' }`. */
  elicitation?: (params: Record<string, any>) => Promise<Record<string, any>> | Record<string, any>
  /** `sampling/createMessage`: return a `CreateMessageResult`. */
  sampling?: (params: Record<string, any>) => Promise<Record<string, any>> | Record<string, any>
  /** `roots/list`: return `{ roots: [...] }`. */
  roots?: (params: Record<string, any>) => Promise<Record<string, any>> | Record<string, any>
}

/** A `notifications/message` from the server. */
export interface LogMessage {
  level: string
  logger?: string
  data: unknown
}

/** A `notifications/progress` for one request. */
export interface Progress {
  progress: number
  total?: number
  message?: string
}

export interface ConnectOptions {
  /** How to choose the era (default `'auto'`). */
  mode?: EraMode
  /** Headers sent on every request (e.g. `authorization`). */
  headers?: Record<string, string>
  /** `clientInfo` sent to the server. */
  clientInfo?: { name: string, version: string }
  /** Milliseconds for the probe and the handshake (default 10 000). */
  connectTimeoutMs?: number
  /** Default milliseconds per request, until the final answer (default 60 000). */
  requestTimeoutMs?: number
  /** Handlers for what the server asks; each one present is declared as a capability. */
  handlers?: ServerRequestHandlers
  /** Log messages from the server. On 2026-07-28 setting this asks for logs from `logLevel`. */
  onLog?: (message: LogMessage) => void
  /** The level asked for on 2026-07-28 requests when `onLog` is set (default `'info'`). */
  logLevel?: string
  /** Open the 2025 GET stream when the server offers one (default true). */
  openStream?: boolean
  /** Most `input_required` rounds per 2026-07-28 request (default 10). */
  maxInputRounds?: number
  /** Largest SSE event accepted, in characters (default 4 MiB). */
  maxEventChars?: number
  /** Most `Last-Event-ID` resumptions of one broken stream (default 5). */
  maxResumes?: number
  /** The node:http(s) agent (default: a keep-alive pool of the client's own, closed by `close()`). */
  agent?: import('node:http').Agent
}

export interface RequestOptions {
  /** Progress notifications for this request (asks the server for them). */
  onProgress?: (progress: Progress) => void
  /** Cancels the request: `notifications/cancelled` on 2025 sessions, the stream closed on 2026-07-28. */
  signal?: AbortSignal
  /** Overrides `requestTimeoutMs` for this request. */
  timeoutMs?: number
}
