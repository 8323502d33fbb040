/**
 * `fastify-mcp-streamable/client`: a Streamable HTTP MCP client that speaks both eras and
 * handles 2025 sessions for you, and the `doctor` that checks a server's session handling.
 */
export { connect, McpClient, type SessionReset } from './client.js'
export { Subscription, type ListenFilter, type ListenOptions, type ListenEnd } from './listen.js'
export { forgetVerdicts, MODERN_VERSIONS, LEGACY_VERSIONS } from './era.js'
export { STATUS_HINTS } from './answer.js'
export type { ConnectOptions, RequestOptions, EraMode, Era, ServerRequestHandlers, LogMessage, Progress, RpcMessage } from './types.js'
export { runDoctor, formatReport, entropyBits, type DoctorCheck, type DoctorReport, type DoctorOptions, type CheckStatus } from './doctor.js'
