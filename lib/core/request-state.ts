import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

/** Shortest HMAC key accepted: the SHA-256 block's worth of entropy is what makes forgery hopeless. */
export const MIN_REQUEST_STATE_KEY_BYTES = 32

/** How long a signed `requestState` stays valid by default: a person may take minutes to answer an elicitation. */
export const DEFAULT_REQUEST_STATE_TTL_MS = 10 * 60_000

/** What a `requestState` is bound to: a state minted for one of these is refused for any other. */
export interface RequestStateBinding {
  /** The authenticated principal, if any. */
  readonly principal: string | undefined
  /** The JSON-RPC method: `tools/call`, `prompts/get` or `resources/read`. */
  readonly method: string
  /** The salient param: the tool or prompt name, or the resource URI. */
  readonly target: string
}

/** The outcome of `verify`: the value signed, or why the state is refused. */
export type RequestStateVerdict =
  | { readonly ok: true, readonly value: unknown }
  | { readonly ok: false, readonly reason: 'malformed' | 'signature' | 'expired' }

export interface RequestStateCodecOptions {
  /**
   * HMAC keys, each at least 32 bytes (a string counts its UTF-8 bytes). The first signs;
   * every one verifies, so a key is rotated by putting the new one first and dropping the
   * old one after a TTL. Default: one random key per process, which only works while one
   * instance serves every retry: give several instances the same keys.
   */
  readonly keys?: ReadonlyArray<string | Buffer>
  /** Validity of a state from the moment it is signed. Default 10 minutes. */
  readonly ttlMs?: number
  /** The clock (tests). */
  readonly now?: () => number
}

const VERSION = 'v1'
const DOMAIN = 'mcp.requestState.v1\n'

/** A key as bytes, or undefined if it is not a string or Buffer of at least 32 bytes. */
export function requestStateKey (key: unknown): Buffer | undefined {
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : Buffer.isBuffer(key) ? Buffer.from(key) : undefined
  return bytes !== undefined && bytes.length >= MIN_REQUEST_STATE_KEY_BYTES ? bytes : undefined
}

/**
 * Signs and verifies the `requestState` of multi round-trip results. The client holds the
 * state between rounds and may alter it, so it is integrity-protected (signed, not
 * encrypted: the client can read it, so never put secrets in it).
 *
 * Wire format: `v1.<payload>.<mac>`, both parts base64url without padding.
 * - `payload` = JSON `{"v": <the handler's value>, "exp": <expiry, ms since the epoch>}`;
 * - `mac` = HMAC-SHA256(key, `"mcp.requestState.v1\n" + payload + "." + binding`), where
 *   `binding` is the hex SHA-256 of the JSON array `[principal ?? null, method, target]`.
 *   The binding is not carried in the token: a state presented for another principal, method
 *   or tool (prompt, URI) simply fails the MAC.
 *
 * Verification compares the MAC text in constant time against each key's and fails closed:
 * anything unexpected is a refusal.
 */
export class RequestStateCodec {
  readonly #keys: readonly Buffer[]
  readonly #ttlMs: number
  readonly #now: () => number

  constructor (options: RequestStateCodecOptions = {}) {
    const keys = options.keys === undefined || options.keys.length === 0
      ? [randomBytes(MIN_REQUEST_STATE_KEY_BYTES)]
      : options.keys.map((key, i) => {
        const bytes = requestStateKey(key)
        if (bytes === undefined) throw new RangeError(`requestState key ${i} must be a string or Buffer of at least ${MIN_REQUEST_STATE_KEY_BYTES} bytes`)
        return bytes
      })
    const ttlMs = options.ttlMs ?? DEFAULT_REQUEST_STATE_TTL_MS
    if (!Number.isSafeInteger(ttlMs) || ttlMs < 1) throw new RangeError('requestState ttlMs must be a positive integer')
    this.#keys = keys
    this.#ttlMs = ttlMs
    this.#now = options.now ?? Date.now
  }

  /** The wire `requestState` carrying `value` (any JSON value), bound to `binding`, signed with the first key. */
  sign (value: unknown, binding: RequestStateBinding): string {
    const payload = Buffer.from(JSON.stringify({ v: value, exp: this.#now() + this.#ttlMs }), 'utf8').toString('base64url')
    return `${VERSION}.${payload}.${mac(this.#keys[0]!, payload, bindingDigest(binding))}`
  }

  /** The value a state carries if some key signed it for `binding` and it has not expired. */
  verify (token: unknown, binding: RequestStateBinding): RequestStateVerdict {
    if (typeof token !== 'string') return { ok: false, reason: 'malformed' }
    const parts = token.split('.')
    if (parts.length !== 3 || parts[0] !== VERSION || parts[1] === '') return { ok: false, reason: 'malformed' }
    const payload = parts[1]!
    const given = Buffer.from(parts[2]!, 'utf8')
    const digest = bindingDigest(binding)
    let signed = false
    // Every key is tried, whatever matched first: the time taken says nothing of which one.
    for (const key of this.#keys) {
      const expected = Buffer.from(mac(key, payload, digest), 'utf8')
      if (expected.length === given.length && timingSafeEqual(expected, given)) signed = true
    }
    if (!signed) return { ok: false, reason: 'signature' }
    let decoded: unknown
    try {
      decoded = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
    } catch {
      return { ok: false, reason: 'malformed' }
    }
    if (decoded === null || typeof decoded !== 'object') return { ok: false, reason: 'malformed' }
    const { v, exp } = decoded as { v?: unknown, exp?: unknown }
    if (typeof exp !== 'number' || !(this.#now() < exp)) return { ok: false, reason: 'expired' }
    return { ok: true, value: v }
  }
}

function bindingDigest (binding: RequestStateBinding): string {
  return createHash('sha256').update(JSON.stringify([binding.principal ?? null, binding.method, binding.target])).digest('hex')
}

function mac (key: Buffer, payload: string, digest: string): string {
  return createHmac('sha256', key).update(DOMAIN).update(payload).update('.').update(digest).digest('base64url')
}
