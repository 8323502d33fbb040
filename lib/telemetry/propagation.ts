import { ROOT_CONTEXT, context, propagation, trace, type Context, type Link, type TextMapGetter } from '@opentelemetry/api'

/** Reads propagation fields (`traceparent`, `tracestate`, `baggage`) from a request's `params._meta`. */
export const metaGetter: TextMapGetter<Record<string, unknown>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const value = carrier[key]
    return typeof value === 'string' ? value : undefined
  }
}

/** Where a server span hangs: its parent context, and a link to the ambient one when the parent came from `_meta`. */
export interface Parent {
  readonly context: Context
  readonly links: Link[] | undefined
}

/**
 * The parent of the span of a message, as the conventions' context propagation says: the
 * context the client injected into `params._meta` through the configured propagators, with
 * a link to the ambient context (the HTTP request's, when HTTP is instrumented); else the
 * ambient context itself.
 */
export function parentOf (meta: unknown): Parent {
  const active = context.active()
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) return { context: active, links: undefined }
  const extracted = propagation.extract(ROOT_CONTEXT, meta as Record<string, unknown>, metaGetter)
  const remote = trace.getSpanContext(extracted)
  if (remote === undefined || !trace.isSpanContextValid(remote)) return { context: active, links: undefined }
  const ambient = trace.getSpanContext(active)
  return { context: extracted, links: ambient === undefined || !trace.isSpanContextValid(ambient) ? undefined : [{ context: ambient }] }
}

/** A copy of `params` whose `_meta` carries the current context (for a request the server sends). */
export function injectInto (params: Record<string, unknown>, ctx: Context): Record<string, unknown> {
  const existing = params._meta
  const meta: Record<string, unknown> = existing !== null && typeof existing === 'object' ? { ...existing as Record<string, unknown> } : {}
  propagation.inject(ctx, meta, { set: (carrier, key, value) => { carrier[key] = value } })
  return Object.keys(meta).length === 0 ? params : { ...params, _meta: meta }
}
