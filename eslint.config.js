import neostandard, { resolveIgnoresFromGitignore } from 'neostandard'

export default [
  ...neostandard({
    ts: true,
    ignores: resolveIgnoresFromGitignore()
  }),
  {
    rules: {
      // `void promise;` marks a promise left unawaited on purpose (a stream step that reports
      // its own errors, a fan-out that must not pace the caller); as an expression it stays
      // refused.
      'no-void': ['error', { allowAsStatement: true }]
    }
  }
]
