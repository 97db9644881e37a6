import { posix, win32 } from 'node:path'
import { ClientError } from './errors.js'

/**
 * Where a listed file goes (docs/protocol.md §5): `DEST` is `%TEMP`, `%PROG` (the ini's
 * LocalPath) or `%WIN32`, each optionally followed by `\sub\folders`, or an absolute path
 * (`C:\…`, `\\server\share\…`, or `/…` off Windows); `FILE` is a name, with subfolders
 * separated by `\`. Off Windows a drive path `C:\x\y` is placed at `<drivesDir>/c/x/y`.
 * No segment may be `.` or `..`: whatever the server lists stays below its destination.
 */
export interface Folders {
  TEMP: string
  PROG: string
  WIN32: string
}

export interface PathRules {
  windows: boolean
  drivesDir: string
}

export class PlaceError extends ClientError {}

const VARIABLE = /^%(TEMP|PROG|WIN32)(?=[\\/]|$)/i
const DRIVE = /^([A-Za-z]):(?:[\\/]|$)/
const UNC = /^\\\\([^\\/]+)[\\/]([^\\/]+)(?:[\\/]|$)/
// Characters Windows does not allow in a name; off Windows only NUL and `/` are impossible.
const WINDOWS_RESERVED = /[<>:"|?*]/

/** The segments of a path written with `\` (or `/`); empty ones (`a\\b`, a trailing `\`) are dropped. */
export function segments (text: string, rules: PathRules, what: string): string[] {
  const parts = text.split(/[\\/]/).filter((part) => part !== '')
  for (const part of parts) {
    // eslint-disable-next-line no-control-regex
    if (part === '.' || part === '..' || /[\u0000-\u001f]/.test(part) || (rules.windows && WINDOWS_RESERVED.test(part))) {
      throw new PlaceError(`${what} "${text}" has an unsafe part "${part}"`)
    }
  }
  return parts
}

/** An absolute folder as written by a vendor or in the ini (`C:\…`, `\\server\share\…`, `/…`), as a local path. */
export function absoluteFolder (path: string, rules: PathRules, what = 'path'): string | undefined {
  const drive = DRIVE.exec(path)
  if (drive !== null) {
    const rest = segments(path.slice(drive[0].length), rules, what)
    return rules.windows ? win32.join(`${drive[1].toUpperCase()}:\\`, ...rest) : posix.join(rules.drivesDir, drive[1].toLowerCase(), ...rest)
  }
  const unc = UNC.exec(path)
  if (unc !== null && rules.windows) return win32.join(`\\\\${unc[1]}\\${unc[2]}\\`, ...segments(path.slice(unc[0].length), rules, what))
  if (!rules.windows && path.startsWith('/')) return posix.join('/', ...segments(path, rules, what))
  return undefined
}

export function destinationFolder (dest: string, folders: Folders, rules: PathRules): string {
  const join = rules.windows ? win32.join : posix.join
  const variable = VARIABLE.exec(dest)
  if (variable !== null) {
    const base = folders[variable[1].toUpperCase() as keyof Folders]
    return join(base, ...segments(dest.slice(variable[0].length), rules, 'DEST'))
  }
  const folder = absoluteFolder(dest, rules, 'DEST')
  if (folder === undefined) throw new PlaceError(`DEST "${dest}" is neither %TEMP, %PROG, %WIN32 nor an absolute path`)
  return folder
}

/** The local path of FILE in DEST. */
export function destinationPath (dest: string, file: string, folders: Folders, rules: PathRules): string {
  const parts = segments(file, rules, 'FILE')
  if (parts.length === 0) throw new PlaceError('FILE is empty')
  return (rules.windows ? win32.join : posix.join)(destinationFolder(dest, folders, rules), ...parts)
}
