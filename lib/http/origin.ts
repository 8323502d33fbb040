/** `[::1]:3000` → `[::1]`, `Example.COM:80` → `example.com`. */
export function hostnameOf (host: string): string {
  const lower = host.trim().toLowerCase()
  if (lower.startsWith('[')) {
    const end = lower.indexOf(']')
    return end === -1 ? lower : lower.slice(0, end + 1)
  }
  const colon = lower.indexOf(':')
  return colon === -1 ? lower : lower.slice(0, colon)
}

/** How allowed origins are compared: lowercase, no trailing slash. */
export function normaliseOrigin (origin: string): string {
  return origin.trim().toLowerCase().replace(/\/+$/, '')
}
