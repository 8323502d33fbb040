import { parseArgs } from 'node:util'
import { connect } from './client.js'
import { formatReport, runDoctor } from './doctor.js'
import type { ListenFilter } from './listen.js'
import type { ConnectOptions, EraMode } from './types.js'

const USAGE = `Usage: mcp-streamable <command> URL [...] [options]

Commands:
  tools URL                       list the tools
  call URL TOOL [--args JSON]     call a tool (progress is shown as it arrives)
  read URL URI                    read a resource
  prompt URL NAME [--args JSON]   get a prompt
  listen URL [--tools] [--prompts] [--resources] [--resource URI] [--count N]
                                  print list changes and resource updates as they come
                                  (default: every list; until Ctrl-C or N notifications)
  doctor URL                      check the server's session handling (exit 1 on a ✘)

Options:
  --header "Name: value"          send a header on every request (repeatable; e.g. Authorization)
  --json                          print the raw result as JSON
  --mode legacy|auto|2026-07-28   how to choose the protocol era (default auto)
  --timeout MS                    per-request timeout (default 60000)
`

/** Where the command line writes: replaceable in tests. */
export interface Io {
  out: (text: string) => void
  err: (text: string) => void
}

const processIo: Io = { out: (text) => process.stdout.write(text), err: (text) => process.stderr.write(text) }

/** Run the `mcp-streamable` command line; resolves with the exit code. */
export async function main (argv: readonly string[], io: Io = processIo): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        header: { type: 'string', multiple: true, short: 'H' },
        json: { type: 'boolean' },
        args: { type: 'string' },
        mode: { type: 'string' },
        timeout: { type: 'string' },
        tools: { type: 'boolean' },
        prompts: { type: 'boolean' },
        resources: { type: 'boolean' },
        resource: { type: 'string', multiple: true },
        count: { type: 'string' },
        help: { type: 'boolean', short: 'h' }
      }
    })
  } catch (err) {
    io.err(`error: ${(err as Error).message}\n\n${USAGE}`)
    return 2
  }
  const { values, positionals } = parsed
  const [command, url, name] = positionals
  if (values.help === true || command === undefined) { io.out(USAGE); return command === undefined && values.help !== true ? 2 : 0 }
  const usage = (why: string): number => { io.err(`error: ${why}\n\n${USAGE}`); return 2 }
  if (url === undefined) return usage(`${command} needs the server URL`)
  try { void new URL(url) } catch { return usage(`"${url}" is not a URL (e.g. http://127.0.0.1:3000/mcp)`) }

  const headers: Record<string, string> = {}
  for (const header of values.header ?? []) {
    const colon = header.indexOf(':')
    if (colon <= 0) return usage(`--header "${header}" must be "Name: value"`)
    headers[header.slice(0, colon).trim().toLowerCase()] = header.slice(colon + 1).trim()
  }
  let args: Record<string, unknown> = {}
  if (values.args !== undefined) {
    try { args = JSON.parse(values.args) as Record<string, unknown> } catch { return usage('--args must be a JSON object, e.g. --args \'{"text":"hi"}\'') }
    if (args === null || typeof args !== 'object' || Array.isArray(args)) return usage('--args must be a JSON object')
  }
  const mode: EraMode = values.mode === undefined || values.mode === 'auto' ? 'auto' : values.mode === 'legacy' ? 'legacy' : { pin: values.mode }
  const timeout = values.timeout === undefined ? undefined : Number(values.timeout)
  if (timeout !== undefined && !(timeout > 0)) return usage('--timeout must be a number of milliseconds')

  if (command === 'doctor') {
    const report = await runDoctor(url, {
      headers,
      onProgress: (title, check) => { if (check === undefined && values.json !== true) io.err(`… ${title}\n`) }
    })
    io.out(values.json === true ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`)
    return report.ok ? 0 : 1
  }
  if (command === 'listen') return listen(url, values, { mode, headers, ...(timeout === undefined ? {} : { requestTimeoutMs: timeout }) }, io, usage)
  if (!['tools', 'call', 'read', 'prompt'].includes(command)) return usage(`unknown command "${command}"`)
  if (command !== 'tools' && name === undefined) return usage(`${command} needs ${command === 'read' ? 'a resource URI' : command === 'call' ? 'a tool name' : 'a prompt name'}`)

  const options: ConnectOptions = { mode, headers, openStream: false, onLog: (m) => io.err(`log ${m.level}: ${typeof m.data === 'string' ? m.data : JSON.stringify(m.data)}\n`) }
  if (timeout !== undefined) options.requestTimeoutMs = timeout
  let client
  try {
    client = await connect(url, options)
  } catch (err) {
    io.err(`error: ${(err as Error).message}\n`)
    return 1
  }
  try {
    let result: Record<string, any>
    if (command === 'tools') result = await client.listTools()
    else if (command === 'call') {
      result = await client.callTool(name!, args, { onProgress: (p) => io.err(`progress ${p.progress}${p.total === undefined ? '' : `/${p.total}`}${p.message === undefined ? '' : ` ${p.message}`}\n`) })
    } else if (command === 'read') result = await client.readResource(name!)
    else result = await client.getPrompt(name!, args as Record<string, string>)
    io.out(values.json === true ? `${JSON.stringify(result, null, 2)}\n` : `${render(command, result)}\n`)
    return command === 'call' && result.isError === true ? 1 : 0
  } catch (err) {
    io.err(`error: ${(err as Error).message}\n`)
    return 1
  } finally {
    await client.close()
  }
}

interface ListenFlags { tools?: boolean, prompts?: boolean, resources?: boolean, resource?: string[], count?: string, json?: boolean }

/** `listen`: one line per notification (the message as JSON with --json) until Ctrl-C, the server ends it, or --count. */
async function listen (url: string, flags: ListenFlags, options: ConnectOptions, io: Io, usage: (why: string) => number): Promise<number> {
  const count = flags.count === undefined ? Infinity : Number(flags.count)
  if (!(count > 0)) return usage('--count must be a positive number')
  const every = flags.tools !== true && flags.prompts !== true && flags.resources !== true && flags.resource === undefined
  const filter: ListenFilter = {}
  if (every || flags.tools === true) filter.toolsListChanged = true
  if (every || flags.prompts === true) filter.promptsListChanged = true
  if (every || flags.resources === true) filter.resourcesListChanged = true
  if (flags.resource !== undefined) filter.resourceSubscriptions = flags.resource
  const stop = new AbortController()
  const onSignal = (): void => stop.abort()
  process.once('SIGINT', onSignal)
  let client
  try {
    client = await connect(url, { ...options, openStream: false })
    const subscription = await client.listen(filter, { signal: stop.signal })
    const honored = Object.entries(subscription.notifications).map(([key, value]) => key === 'resourceSubscriptions' ? (value as string[]).join(' ') : key.replace('ListChanged', '')).join(', ')
    io.err(`listening (${client.era === 'modern' ? 'subscriptions/listen' : '2025 session'}): ${honored === '' ? 'nothing the server announces' : honored}\n`)
    let seen = 0
    for await (const notification of subscription) {
      io.out(flags.json === true ? `${JSON.stringify(notification)}\n` : `${notification.method!}${notification.params?.uri === undefined ? '' : ` ${String(notification.params.uri)}`}\n`)
      if (++seen >= count) break
    }
    const end = await subscription.ended
    return end === 'broken' ? 1 : 0
  } catch (err) {
    io.err(`error: ${(err as Error).message}\n`)
    return 1
  } finally {
    process.off('SIGINT', onSignal)
    await client?.close()
  }
}

/** The readable form of a result. */
function render (command: string, result: Record<string, any>): string {
  if (command === 'tools') return (result.tools as Array<{ name: string, description?: string }>).map((t) => `${t.name}${t.description === undefined ? '' : `  ${t.description}`}`).join('\n')
  if (command === 'read') return (result.contents as Array<{ uri: string, text?: string, blob?: string }>).map((c) => c.text ?? `[${c.blob?.length ?? 0} bytes of base64 from ${c.uri}]`).join('\n')
  if (command === 'prompt') return (result.messages as Array<{ role: string, content: { type: string, text?: string } }>).map((m) => `${m.role}: ${m.content.text ?? `[${m.content.type}]`}`).join('\n')
  const text = (result.content as Array<{ type: string, text?: string }> ?? []).map((c) => c.text ?? `[${c.type}]`).join('\n')
  return result.isError === true ? `tool error: ${text}` : text
}
