import type { FeatureCore } from '../features.js'

/** `app.mcp` methods for prompts (filled in by the prompts feature). */
export interface PromptApi {}

/** Prompts: methods, capabilities, completion source. */
export function installPrompts (_core: FeatureCore): PromptApi {
  return {}
}
