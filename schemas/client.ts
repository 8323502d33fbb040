import { Type, type Static } from '@sinclair/typebox'
import { ContentBlockSchema } from './mcp.js'

// Messages of server → client requests (elicitation, sampling, roots) and their results.

const Meta = Type.Optional(Type.Record(Type.String(), Type.Unknown()))

export const ElicitResultSchema = Type.Object({
  action: Type.Union([Type.Literal('accept'), Type.Literal('decline'), Type.Literal('cancel')]),
  content: Type.Optional(Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Array(Type.String())]))),
  _meta: Meta
})
export type ElicitResult = Static<typeof ElicitResultSchema>

export const SamplingMessageSchema = Type.Object({
  role: Type.Union([Type.Literal('user'), Type.Literal('assistant')]),
  content: Type.Union([ContentBlockSchema, Type.Array(Type.Unknown()), Type.Record(Type.String(), Type.Unknown())]),
  _meta: Meta
})

export const CreateMessageParamsSchema = Type.Object({
  messages: Type.Array(SamplingMessageSchema),
  maxTokens: Type.Integer({ minimum: 1 }),
  modelPreferences: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  systemPrompt: Type.Optional(Type.String()),
  includeContext: Type.Optional(Type.Union([Type.Literal('none'), Type.Literal('thisServer'), Type.Literal('allServers')])),
  temperature: Type.Optional(Type.Number()),
  stopSequences: Type.Optional(Type.Array(Type.String())),
  metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  tools: Type.Optional(Type.Array(Type.Record(Type.String(), Type.Unknown()))),
  toolChoice: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  _meta: Meta
})
export type CreateMessageParams = Static<typeof CreateMessageParamsSchema>

export const CreateMessageResultSchema = Type.Object({
  role: Type.Union([Type.Literal('user'), Type.Literal('assistant')]),
  content: Type.Union([ContentBlockSchema, Type.Array(Type.Unknown()), Type.Record(Type.String(), Type.Unknown())]),
  model: Type.String(),
  stopReason: Type.Optional(Type.String()),
  _meta: Meta
})
export type CreateMessageResult = Static<typeof CreateMessageResultSchema>

export const RootSchema = Type.Object({ uri: Type.String(), name: Type.Optional(Type.String()), _meta: Meta })
export const ListRootsResultSchema = Type.Object({ roots: Type.Array(RootSchema), _meta: Meta })
export type ListRootsResult = Static<typeof ListRootsResultSchema>
