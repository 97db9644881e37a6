import { randomBytes } from 'node:crypto'
import { chmod, readFile, rename, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from 'pino'
import { StartupError } from '../../startup.js'

/**
 * The embedded Postgres's passwords, generated at its first start and kept in
 * `DATA_DIR/pgpass`, readable by the server's user alone. The file is in libpq's password
 * file format, so `PGPASSFILE=DATA_DIR/pgpass pg_dump …` works as it is (README, Database).
 */

export const SUPERUSER = 'postgres'
/** The application connects as this role: it owns the application database and nothing else. */
export const APP_ROLE = 'iupdate'
/** The superuser's password in clusters made before passwords were generated. */
export const LEGACY_PASSWORD = 'postgres'
export const PGPASS_FILE = 'pgpass'

export interface Passwords {
  superuser: string
  app: string
}

/** `create`: a missing file is made with new passwords (a new cluster, or one made before this code). */
export async function loadPasswords (dataDir: string, port: number, log: Logger, options: { create: boolean }): Promise<Passwords> {
  const file = join(dataDir, PGPASS_FILE)
  const info = await stat(file).catch(() => undefined)
  if (info === undefined && !options.create) throw new StartupError(`${file} is missing: restore it from a backup`)
  if (info === undefined) {
    const passwords = { superuser: newPassword(), app: newPassword() }
    const temporary = `${file}.${process.pid}.tmp`
    await writeFile(temporary, pgpassText(passwords, file, port), { mode: 0o600 })
    await rename(temporary, file)
    return passwords
  }
  if (info.uid !== process.getuid?.()) {
    throw new StartupError(`${file} belongs to another user: give it to the user the server runs as (chown), mode 0600`)
  }
  if ((info.mode & 0o077) !== 0) {
    await chmod(file, 0o600)
    log.warn({ file }, 'password file was readable by other users; made it 0600')
  }
  const passwords = parsePgpass(await readFile(file, 'utf8'))
  if (passwords === undefined) {
    throw new StartupError(`${file} does not hold the embedded Postgres passwords (lines for ${SUPERUSER} and ${APP_ROLE}): restore it from a backup`)
  }
  return passwords
}

function newPassword (): string {
  return randomBytes(24).toString('base64url')
}

function pgpassText (passwords: Passwords, file: string, port: number): string {
  return [
    '# Passwords of the embedded Postgres of iupdate-server (docs/operations.md). For example:',
    `# PGPASSFILE=${file} pg_dump -h 127.0.0.1 -p ${port} -U ${APP_ROLE} -Fc iupdate > iupdate.dump`,
    `127.0.0.1:*:*:${SUPERUSER}:${passwords.superuser}`,
    `127.0.0.1:*:*:${APP_ROLE}:${passwords.app}`,
    ''
  ].join('\n')
}

function parsePgpass (text: string): Passwords | undefined {
  const byUser = new Map<string, string>()
  for (const line of text.split('\n')) {
    const fields = line.trim().split(':')
    if (line.startsWith('#') || fields.length !== 5) continue
    byUser.set(fields[3], fields[4])
  }
  const superuser = byUser.get(SUPERUSER)
  const app = byUser.get(APP_ROLE)
  return superuser === undefined || app === undefined ? undefined : { superuser, app }
}
