import { Connection } from './connection.js'
import { DayLog } from './log.js'
import { absoluteFolder, PlaceError, type Folders, type PathRules } from './places.js'
import type { Settings } from './settings.js'
import { Store, type ProgramEntry } from './state.js'

/** What every command works with: settings, the state, the day log, a connection per server. */
export interface Context {
  settings: Settings
  store: Store
  log: DayLog
  /** Output for the user alone (a listing), not an action to log. */
  print: (line: string) => void
  connection: (host: string, ssl: boolean) => Connection
  rules: PathRules
}

export function makeContext (settings: Settings, print: (line: string) => void): Context {
  const connections = new Map<string, Connection>()
  return {
    settings,
    store: new Store(settings.dataDir),
    log: new DayLog(settings.dataDir, print),
    print,
    rules: { windows: settings.windows, drivesDir: settings.drivesDir },
    connection: (host, ssl) => {
      const key = `${ssl ? 's' : ''}${host}`
      let connection = connections.get(key)
      if (connection === undefined) {
        connection = new Connection(host, ssl, { dataDir: settings.dataDir, timeoutMs: settings.requestTimeoutMs, pinKeys: settings.pinKeys })
        connections.set(key, connection)
      }
      return connection
    }
  }
}

/** What `%TEMP`, `%PROG` and `%WIN32` are for this program. */
export function foldersOf (context: Context, entry: ProgramEntry): Folders {
  const prog = absoluteFolder(entry.localPath, context.rules, 'LocalPath')
  if (prog === undefined) throw new PlaceError(`LocalPath "${entry.localPath}" of ${entry.name} is not an absolute path`)
  return { TEMP: context.settings.tempDir, PROG: prog, WIN32: context.settings.win32Dir }
}

/** When a failed poll, download or completion is tried again ("every next hour"). */
export function retryAt (context: Context, from = Date.now()): string {
  return new Date(from + context.settings.retryPeriodMs).toISOString()
}
