import { Type, type Static } from '@sinclair/typebox'
import { JsonObjectSchema } from './json-object.js'
import { RequestIdSchema } from './jsonrpc.js'

// What a handler returns is checked strictly (no Date where an object belongs); what a
// client sends arrives parsed from JSON, and a per-key walk would only cost time.
const Meta = Type.Optional(Type.Record(Type.String(), Type.Unknown()))
const Obj = Type.Record(Type.String(), Type.Unknown())
const ParamsMeta = Type.Optional(JsonObjectSchema)

export const IconSchema = Type.Object({
  src: Type.String(),
  mimeType: Type.Optional(Type.String()),
  sizes: Type.Optional(Type.Array(Type.String())),
  theme: Type.Optional(Type.Union([Type.Literal('light'), Type.Literal('dark')]))
})
export type Icon = Static<typeof IconSchema>

export const ImplementationSchema = Type.Object({
  name: Type.String(),
  version: Type.String(),
  title: Type.Optional(Type.String()),
  description: Type.Optional(Type.String()),
  websiteUrl: Type.Optional(Type.String()),
  icons: Type.Optional(Type.Array(IconSchema))
})
export type Implementation = Static<typeof ImplementationSchema>

// ---- client → server params ------------------------------------------------------------

export const InitializeParamsSchema = Type.Object({
  protocolVersion: Type.String(),
  capabilities: JsonObjectSchema,
  clientInfo: Type.Object({ name: Type.String(), version: Type.String() }),
  _meta: ParamsMeta
})
export type InitializeParams = Static<typeof InitializeParamsSchema>

export const PaginatedParamsSchema = Type.Object({
  cursor: Type.Optional(Type.String()),
  _meta: ParamsMeta
})
export type PaginatedParams = Static<typeof PaginatedParamsSchema>

// A retry of a multi round-trip request (2026-07-28): the client's answers by key, and the
// state of the input-required result it answers, echoed byte for byte.
const InputResponses = Type.Optional(Type.Record(Type.String(), JsonObjectSchema))
const RequestState = Type.Optional(Type.String())

export const CallToolParamsSchema = Type.Object({
  name: Type.String(),
  arguments: Type.Optional(Type.Unknown()),
  inputResponses: InputResponses,
  requestState: RequestState,
  _meta: ParamsMeta
})
export type CallToolParams = Static<typeof CallToolParamsSchema>

export const LoggingLevelSchema = Type.Union([
  Type.Literal('debug'),
  Type.Literal('info'),
  Type.Literal('notice'),
  Type.Literal('warning'),
  Type.Literal('error'),
  Type.Literal('critical'),
  Type.Literal('alert'),
  Type.Literal('emergency')
])
export type LoggingLevel = Static<typeof LoggingLevelSchema>

export const SetLevelParamsSchema = Type.Object({ level: LoggingLevelSchema, _meta: ParamsMeta })
export type SetLevelParams = Static<typeof SetLevelParamsSchema>

export const CancelledParamsSchema = Type.Object({
  requestId: RequestIdSchema,
  reason: Type.Optional(Type.String())
})
export type CancelledParams = Static<typeof CancelledParamsSchema>

export const ProgressTokenSchema = Type.Union([Type.String(), Type.Integer()])
export type ProgressToken = Static<typeof ProgressTokenSchema>

// ---- content -------------------------------------------------------------------------

export const AnnotationsSchema = Type.Object({
  audience: Type.Optional(Type.Array(Type.Union([Type.Literal('user'), Type.Literal('assistant')]))),
  priority: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  lastModified: Type.Optional(Type.String())
})

export const TextContentSchema = Type.Object({
  type: Type.Literal('text'),
  text: Type.String(),
  annotations: Type.Optional(AnnotationsSchema),
  _meta: Meta
})
export const ImageContentSchema = Type.Object({
  type: Type.Literal('image'),
  data: Type.String(),
  mimeType: Type.String(),
  annotations: Type.Optional(AnnotationsSchema),
  _meta: Meta
})
export const AudioContentSchema = Type.Object({
  type: Type.Literal('audio'),
  data: Type.String(),
  mimeType: Type.String(),
  annotations: Type.Optional(AnnotationsSchema),
  _meta: Meta
})
export const TextResourceContentsSchema = Type.Object({
  uri: Type.String(),
  mimeType: Type.Optional(Type.String()),
  text: Type.String(),
  _meta: Meta
})
export const BlobResourceContentsSchema = Type.Object({
  uri: Type.String(),
  mimeType: Type.Optional(Type.String()),
  blob: Type.String(),
  _meta: Meta
})
export const EmbeddedResourceSchema = Type.Object({
  type: Type.Literal('resource'),
  resource: Type.Union([TextResourceContentsSchema, BlobResourceContentsSchema]),
  annotations: Type.Optional(AnnotationsSchema),
  _meta: Meta
})
export const ResourceLinkSchema = Type.Object({
  type: Type.Literal('resource_link'),
  uri: Type.String(),
  name: Type.String(),
  title: Type.Optional(Type.String()),
  description: Type.Optional(Type.String()),
  mimeType: Type.Optional(Type.String()),
  size: Type.Optional(Type.Number()),
  icons: Type.Optional(Type.Array(IconSchema)),
  annotations: Type.Optional(AnnotationsSchema),
  _meta: Meta
})
export const ContentBlockSchema = Type.Union([
  TextContentSchema,
  ImageContentSchema,
  AudioContentSchema,
  ResourceLinkSchema,
  EmbeddedResourceSchema
])
export type ContentBlock = Static<typeof ContentBlockSchema>
export type TextContent = Static<typeof TextContentSchema>

export const CallToolResultSchema = Type.Object({
  content: Type.Array(ContentBlockSchema),
  structuredContent: Type.Optional(Obj),
  isError: Type.Optional(Type.Boolean()),
  _meta: Meta
})
export type CallToolResult = Static<typeof CallToolResultSchema>

// ---- server → client -------------------------------------------------------------------

export const ToolAnnotationsSchema = Type.Object({
  title: Type.Optional(Type.String()),
  readOnlyHint: Type.Optional(Type.Boolean()),
  destructiveHint: Type.Optional(Type.Boolean()),
  idempotentHint: Type.Optional(Type.Boolean()),
  openWorldHint: Type.Optional(Type.Boolean())
})
export type ToolAnnotations = Static<typeof ToolAnnotationsSchema>

export const ServerCapabilitiesSchema = Type.Object({
  experimental: Type.Optional(Obj),
  logging: Type.Optional(Type.Object({})),
  completions: Type.Optional(Type.Object({})),
  prompts: Type.Optional(Type.Object({ listChanged: Type.Optional(Type.Boolean()) })),
  resources: Type.Optional(Type.Object({
    subscribe: Type.Optional(Type.Boolean()),
    listChanged: Type.Optional(Type.Boolean())
  })),
  tools: Type.Optional(Type.Object({ listChanged: Type.Optional(Type.Boolean()) }))
})
export type ServerCapabilities = Static<typeof ServerCapabilitiesSchema>

export const InitializeResultSchema = Type.Object({
  protocolVersion: Type.String(),
  capabilities: ServerCapabilitiesSchema,
  serverInfo: ImplementationSchema,
  instructions: Type.Optional(Type.String()),
  _meta: Meta
})
export type InitializeResult = Static<typeof InitializeResultSchema>

// ---- prompts ---------------------------------------------------------------------------

export const PromptArgumentSchema = Type.Object({
  name: Type.String(),
  title: Type.Optional(Type.String()),
  description: Type.Optional(Type.String()),
  required: Type.Optional(Type.Boolean())
})
export type PromptArgument = Static<typeof PromptArgumentSchema>

export const PromptSchema = Type.Object({
  name: Type.String(),
  title: Type.Optional(Type.String()),
  description: Type.Optional(Type.String()),
  arguments: Type.Optional(Type.Array(PromptArgumentSchema)),
  icons: Type.Optional(Type.Array(IconSchema)),
  _meta: Meta
})
export type Prompt = Static<typeof PromptSchema>

export const GetPromptParamsSchema = Type.Object({
  name: Type.String(),
  arguments: Type.Optional(Type.Record(Type.String(), Type.String())),
  inputResponses: InputResponses,
  requestState: RequestState,
  _meta: ParamsMeta
})
export type GetPromptParams = Static<typeof GetPromptParamsSchema>

export const PromptMessageSchema = Type.Object({
  role: Type.Union([Type.Literal('user'), Type.Literal('assistant')]),
  content: ContentBlockSchema
})
export type PromptMessage = Static<typeof PromptMessageSchema>

export const GetPromptResultSchema = Type.Object({
  description: Type.Optional(Type.String()),
  messages: Type.Array(PromptMessageSchema),
  _meta: Meta
})
export type GetPromptResult = Static<typeof GetPromptResultSchema>

// ---- resources -------------------------------------------------------------------------

export const ResourceSchema = Type.Object({
  uri: Type.String(),
  name: Type.String(),
  title: Type.Optional(Type.String()),
  description: Type.Optional(Type.String()),
  mimeType: Type.Optional(Type.String()),
  size: Type.Optional(Type.Integer({ minimum: 0 })),
  icons: Type.Optional(Type.Array(IconSchema)),
  annotations: Type.Optional(AnnotationsSchema),
  _meta: Meta
})
export type Resource = Static<typeof ResourceSchema>

export const ResourceTemplateSchema = Type.Object({
  uriTemplate: Type.String(),
  name: Type.String(),
  title: Type.Optional(Type.String()),
  description: Type.Optional(Type.String()),
  mimeType: Type.Optional(Type.String()),
  icons: Type.Optional(Type.Array(IconSchema)),
  annotations: Type.Optional(AnnotationsSchema),
  _meta: Meta
})
export type ResourceTemplate = Static<typeof ResourceTemplateSchema>

export const ReadResourceParamsSchema = Type.Object({ uri: Type.String(), inputResponses: InputResponses, requestState: RequestState, _meta: ParamsMeta })
export type ReadResourceParams = Static<typeof ReadResourceParamsSchema>
/** `resources/subscribe` and `resources/unsubscribe`. */
export const SubscribeParamsSchema = Type.Object({ uri: Type.String(), _meta: ParamsMeta })
export type SubscribeParams = Static<typeof SubscribeParamsSchema>

export const ResourceContentsSchema = Type.Union([TextResourceContentsSchema, BlobResourceContentsSchema])
export type ResourceContents = Static<typeof ResourceContentsSchema>

export const ReadResourceResultSchema = Type.Object({
  contents: Type.Array(ResourceContentsSchema),
  _meta: Meta
})
export type ReadResourceResult = Static<typeof ReadResourceResultSchema>
