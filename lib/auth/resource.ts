/**
 * The canonical form of a resource URI (RFC 8707, as MCP applies it): an absolute http(s)
 * URL, lowercase scheme and host, no fragment, no trailing slash unless the path is `/`.
 * Undefined when `value` is not such a URL.
 */
export function canonicalResource (value: string): string | undefined {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return undefined
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined
  if (url.hash !== '' || value.includes('#') || url.username !== '' || url.password !== '') return undefined
  // URL already lowercases scheme and host and drops default ports.
  let text = url.href
  if (url.pathname !== '/' && text.endsWith('/') && url.search === '') text = text.slice(0, -1)
  if (url.pathname === '/' && url.search === '') text = text.slice(0, -1)
  return text
}

/** RFC 9728 §3.1: the metadata URL of a resource, the well-known segment inserted before its path. */
export function resourceMetadataUrl (resource: string): string {
  const url = new URL(resource)
  const path = url.pathname === '/' ? '' : url.pathname
  return `${url.origin}${WELL_KNOWN}${path}${url.search}`
}

/** The RFC 9728 well-known path prefix. */
export const WELL_KNOWN = '/.well-known/oauth-protected-resource'
