import { readFile } from 'node:fs/promises'
import { portToPid } from 'pid-port'
import { ConfigError } from './config.js'
import { isDatabaseUnavailable } from './db/errors.js'
import { MigrationError } from './db/migrate.js'

/**
 * A start-up failure the operator can fix: its message is the one line printed, and says
 * what to do (docs/operations.md, "When things fail").
 */
export class StartupError extends Error {
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'StartupError'
  }
}

/** The line printed for any failure at start: never empty, never `undefined`. */
export function startupFailureLine (err: unknown): string {
  if (err instanceof StartupError || err instanceof ConfigError) return err.message
  if (err instanceof MigrationError) return `migration failed: ${err.message}`
  const code = (err as { code?: unknown } | undefined)?.code
  const text = err instanceof Error && err.message !== '' ? err.message : (typeof code === 'string' ? code : 'a failure without a message')
  return `${text} (unexpected: LOG_LEVEL=debug shows where it came from)`
}

/** `nginx (pid 812)`, or undefined when the system does not tell (`ss` missing, or another user's process). */
export async function processListeningOn (port: number, host: string): Promise<string | undefined> {
  const pid = await portToPid({ port, host: host === '0.0.0.0' || host === '::' ? '*' : host }).catch(() => undefined)
  if (pid === undefined) return undefined
  const command = (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')).trim()
  return command === '' ? `pid ${pid}` : `${command} (pid ${pid})`
}

/** The line for a port this server could not listen on; `setting` is the variable that chooses it. */
export async function portFailure (err: unknown, port: number, host: string, setting: string): Promise<StartupError | undefined> {
  const code = (err as { code?: unknown } | undefined)?.code
  if (code === 'EADDRINUSE') {
    const holder = await processListeningOn(port, host)
    return new StartupError(`port ${port} is in use${holder === undefined ? '' : ` by ${holder}`}: stop that program, or set ${setting} to a free port`, { cause: err })
  }
  if (code === 'EACCES') return new StartupError(`port ${port} needs more privileges than this user has: set ${setting} above 1023`, { cause: err })
  if (code === 'EADDRNOTAVAIL') return new StartupError(`${host} is not an address of this machine: set HOST to one of its addresses, or 0.0.0.0`, { cause: err })
  return undefined
}

/** The line for a database (DATABASE_URL, or the embedded one) that start-up could not use. */
export function databaseFailure (err: unknown): StartupError | undefined {
  const code = (err as { code?: unknown } | undefined)?.code
  if (isDatabaseUnavailable(err)) {
    return new StartupError(`cannot reach the database named by DATABASE_URL (${typeof code === 'string' ? code : (err as Error).message}): start it, or correct DATABASE_URL`, { cause: err })
  }
  if (code === '28P01' || code === '28000') return new StartupError('the database refuses the user or password in DATABASE_URL: correct DATABASE_URL', { cause: err })
  if (code === '3D000') return new StartupError('the database named in DATABASE_URL does not exist: create it (createdb), or correct DATABASE_URL', { cause: err })
  return undefined
}
