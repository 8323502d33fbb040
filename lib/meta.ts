/** This package's identity, the default `serverInfo` (a test keeps it equal to package.json). */
export const PACKAGE_NAME = 'fastify-mcp-streamable'
export const PACKAGE_VERSION = '0.1.0'
