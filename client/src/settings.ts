import { readFile } from 'node:fs/promises'
import { homedir, tmpdir } from 'node:os'
import { isAbsolute, join, win32 } from 'node:path'
import { z } from 'zod'
import { ClientError } from './errors.js'

/**
 * The client's settings: `settings.json` in the data folder (all optional), the seed's registry
 * values (durations in milliseconds, same defaults) and the folders that `%TEMP`, `%WIN32` and
 * drive letters stand for. docs/client.md lists them.
 */
const DURATION = z.number().int().min(10).max(2_147_483_647)
const FOLDER = z.string().refine((path) => isAbsolute(path), 'must be an absolute path')

const SCHEMA = z.strictObject({
  /** The seed's "Polling period": how often the servers are asked for newer versions. */
  pollingPeriodMs: DURATION.default(86_400_000),
  /** The seed's "BITS Polling period": how often the service looks at its download jobs. */
  jobPollingPeriodMs: DURATION.default(300_000),
  /** A failed poll, download or completion is tried again after this ("every next hour"). */
  retryPeriodMs: DURATION.default(3_600_000),
  /** `check --hour`: poll this often ("every 10 minutes") … */
  burstIntervalMs: DURATION.default(600_000),
  /** … for this long ("for the next hour"). */
  burstDurationMs: DURATION.default(3_600_000),
  /** The seed's "SendInterval": queued messages are sent this often. */
  sendIntervalMs: DURATION.default(300_000),
  /** The seed's "QryInterval": questions are fetched this often. */
  questionIntervalMs: DURATION.default(900_000),
  /** A request that receives nothing for this long is given up (downloads too, between two chunks). */
  requestTimeoutMs: DURATION.default(60_000),
  /** What `%TEMP` is. */
  tempDir: FOLDER.optional(),
  /** What `%WIN32` is (windows\system32 on Windows). */
  win32Dir: FOLDER.optional(),
  /** Off Windows, where `C:\…` destinations go: `<drivesDir>/c/…`. */
  drivesDir: FOLDER.optional(),
  /** Run the `RUN` lines of @install.txt (also `--run-installers`). */
  runInstallers: z.boolean().default(false),
  /** Never fetch the servers' key sets again: only the cached (or installed) keys are trusted. */
  pinKeys: z.boolean().default(false)
})

export type Durations = Pick<z.infer<typeof SCHEMA>, 'pollingPeriodMs' | 'jobPollingPeriodMs' | 'retryPeriodMs' | 'burstIntervalMs' | 'burstDurationMs' | 'sendIntervalMs' | 'questionIntervalMs' | 'requestTimeoutMs'>

export interface Settings extends Durations {
  dataDir: string
  tempDir: string
  win32Dir: string
  drivesDir: string
  runInstallers: boolean
  pinKeys: boolean
  /** Windows path rules (drive letters, `\`) or POSIX ones. */
  windows: boolean
}

export const SETTINGS_FILE = 'settings.json'

type Env = Record<string, string | undefined>

/** `IUPDATE_CLIENT_DATA`, else the seed's CSIDL_COMMON_APPDATA folder on Windows, else /var/lib (root) or ~/.local/state. */
export function defaultDataDir (env: Env = process.env, platform = process.platform): string {
  if (env.IUPDATE_CLIENT_DATA !== undefined && env.IUPDATE_CLIENT_DATA !== '') return env.IUPDATE_CLIENT_DATA
  if (platform === 'win32') return win32.join(env.ProgramData ?? env.PROGRAMDATA ?? 'C:\\ProgramData', 'INCA Hellas', 'iUpdate')
  if (process.getuid?.() === 0) return '/var/lib/iupdate-client'
  return join(env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'iupdate-client')
}

export async function loadSettings (dataDir: string, overrides: { runInstallers?: boolean } = {}, env: Env = process.env, platform = process.platform): Promise<Settings> {
  const file = join(dataDir, SETTINGS_FILE)
  let text: string | undefined
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new ClientError(`${file} cannot be read: ${(err as Error).message}`)
  }
  let json: unknown = {}
  if (text !== undefined) {
    try {
      json = JSON.parse(text)
    } catch {
      throw new ClientError(`${file} is not valid JSON`)
    }
  }
  const parsed = SCHEMA.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new ClientError(`${file}: ${issue.path.join('.') || '(top level)'}: ${issue.message}`)
  }
  const given = parsed.data
  const windows = platform === 'win32'
  return {
    ...given,
    dataDir,
    windows,
    tempDir: given.tempDir ?? (windows ? env.TEMP ?? tmpdir() : join(dataDir, 'temp')),
    win32Dir: given.win32Dir ?? (windows ? win32.join(env.SystemRoot ?? 'C:\\Windows', 'System32') : join(dataDir, 'win32')),
    drivesDir: given.drivesDir ?? join(dataDir, 'drives'),
    runInstallers: overrides.runInstallers === true || given.runInstallers
  }
}
