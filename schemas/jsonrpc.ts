import { Type, type Static } from '@sinclair/typebox'
import { JsonObjectSchema } from './json-object.js'

/** A JSON-RPC id as MCP allows it: a string or an integer, never null. */
// A number id must survive JSON.parse exactly: 9007199254740993 reads as …992, and an answer
// under another id leaves the client waiting forever.
export const RequestIdSchema = Type.Union([Type.String(), Type.Integer({ minimum: -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER })])
export type RequestId = Static<typeof RequestIdSchema>

const ParamsSchema = Type.Union([
  JsonObjectSchema,
  Type.Array(Type.Unknown())
])

// `Optional(Never)` means "this key must be absent": it keeps the four shapes disjoint,
// so `{"id": null, "method": …}` is neither a request nor a notification.
const Absent = () => Type.Optional(Type.Never())

export const JsonRpcRequestSchema = Type.Object({
  jsonrpc: Type.Literal('2.0'),
  id: RequestIdSchema,
  method: Type.String({ minLength: 1 }),
  params: Type.Optional(ParamsSchema),
  result: Absent(),
  error: Absent()
})
export type JsonRpcRequest = Static<typeof JsonRpcRequestSchema>

export const JsonRpcNotificationSchema = Type.Object({
  jsonrpc: Type.Literal('2.0'),
  method: Type.String({ minLength: 1 }),
  params: Type.Optional(ParamsSchema),
  id: Absent(),
  result: Absent(),
  error: Absent()
})
export type JsonRpcNotification = Static<typeof JsonRpcNotificationSchema>

export const JsonRpcResultResponseSchema = Type.Object({
  jsonrpc: Type.Literal('2.0'),
  id: RequestIdSchema,
  result: JsonObjectSchema,
  method: Absent(),
  error: Absent()
})
export type JsonRpcResultResponse = Static<typeof JsonRpcResultResponseSchema>

export const JsonRpcErrorObjectSchema = Type.Object({
  code: Type.Integer(),
  message: Type.String(),
  data: Type.Optional(Type.Unknown())
})
export type JsonRpcErrorObject = Static<typeof JsonRpcErrorObjectSchema>

export const JsonRpcErrorResponseSchema = Type.Object({
  jsonrpc: Type.Literal('2.0'),
  id: Type.Union([RequestIdSchema, Type.Null()]),
  error: JsonRpcErrorObjectSchema,
  method: Absent(),
  result: Absent()
})
export type JsonRpcErrorResponse = Static<typeof JsonRpcErrorResponseSchema>

export const JsonRpcMessageSchema = Type.Union([
  JsonRpcRequestSchema,
  JsonRpcNotificationSchema,
  JsonRpcResultResponseSchema,
  JsonRpcErrorResponseSchema
])
export type JsonRpcMessage = Static<typeof JsonRpcMessageSchema>
export type JsonRpcResponse = JsonRpcResultResponse | JsonRpcErrorResponse

/** The body of a POST: one message, or (2025-03-26 only, checked later) a non-empty batch. */
export const JsonRpcBodySchema = Type.Union([
  JsonRpcMessageSchema,
  Type.Array(JsonRpcMessageSchema, { minItems: 1 })
])
export type JsonRpcBody = Static<typeof JsonRpcBodySchema>
