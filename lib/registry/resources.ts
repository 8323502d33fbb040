import type { FeatureCore } from '../features.js'

/** `app.mcp` methods for resources (filled in by the resources feature). */
export interface ResourceApi {}

/** Resources, resource templates and subscriptions: methods, capabilities, completion source. */
export function installResources (_core: FeatureCore): ResourceApi {
  return {}
}
