import { readFile } from 'node:fs/promises'
import { decodeText } from '../../src/protocol/text.js'
import { ClientError } from './errors.js'

/**
 * The seed's `file.ini`, windows-1253 (a UTF-8 or UTF-16 byte order mark is honoured):
 *
 *   [Ftp]
 *   Host=host name[:port]
 *   SSL=[0/1]
 *   SN=serial_number
 *   LocalPath=absolute_path_where_the_application_is_installed   (%PROG)
 *
 * Read as Windows reads INI files (GetPrivateProfileString): section and key names in any
 * case, `;` comments only at the start of a line, the value after the first `=` trimmed, one
 * pair of surrounding quotes removed, backslashes kept as they are. (npm's `ini` package
 * treats `\` as an escape and `;` anywhere as a comment, which breaks `\\server\share`.)
 */
export interface FtpIni {
  host: string
  ssl: boolean
  serial: string
  localPath: string
}

/** Section name (lower case) → key (lower case) → value. */
export function parseIni (text: string): Map<string, Map<string, string>> {
  const sections = new Map<string, Map<string, string>>()
  let current: Map<string, string> | undefined
  for (const raw of text.split(/\r\n|\r|\n/)) {
    const line = raw.trim()
    if (line === '' || line.startsWith(';') || line.startsWith('#')) continue
    const section = /^\[([^\]]*)\]/.exec(line)
    if (section !== null) {
      const name = section[1].trim().toLowerCase()
      current = sections.get(name) ?? new Map()
      sections.set(name, current)
      continue
    }
    const eq = line.indexOf('=')
    if (current === undefined || eq <= 0) continue
    let value = line.slice(eq + 1).trim()
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1)
    const key = line.slice(0, eq).trim().toLowerCase()
    // The first of a repeated key wins, as GetPrivateProfileString reads it.
    if (!current.has(key)) current.set(key, value)
  }
  return sections
}

export function decodeIni (bytes: Buffer): string {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return bytes.subarray(3).toString('utf8')
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return bytes.subarray(2).toString('utf16le')
  return decodeText(bytes, 'windows-1253')
}

const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?$/

export function parseFtpIni (bytes: Buffer, name: string): FtpIni {
  const ftp = parseIni(decodeIni(bytes)).get('ftp')
  if (ftp === undefined) throw new ClientError(`${name}: no [Ftp] section`)
  const host = ftp.get('host') ?? ''
  const port = HOST.exec(host)?.[1]
  if (!HOST.test(host) || (port !== undefined && (Number(port) < 1 || Number(port) > 65535))) {
    throw new ClientError(`${name}: [Ftp] Host must be a host name with an optional :port, not "${host}"`)
  }
  const ssl = ftp.get('ssl') ?? '0'
  if (ssl !== '0' && ssl !== '1' && ssl !== '') throw new ClientError(`${name}: [Ftp] SSL must be 0 or 1, not "${ssl}"`)
  const localPath = ftp.get('localpath') ?? ''
  if (localPath === '') throw new ClientError(`${name}: [Ftp] LocalPath (the folder the program is installed in, %PROG) is missing`)
  return { host: host.toLowerCase(), ssl: ssl === '1', serial: ftp.get('sn') ?? '', localPath }
}

export async function readFtpIni (path: string): Promise<FtpIni> {
  let bytes: Buffer
  try {
    bytes = await readFile(path)
  } catch (err) {
    throw new ClientError(`${path} cannot be read: ${(err as Error).message}`)
  }
  return parseFtpIni(bytes, path)
}
