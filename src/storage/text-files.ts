import iconv from 'iconv-lite'

/**
 * `@rename.txt` and `@install.txt` are windows-1253 text (as the old server's vendors wrote
 * them with Windows tools). A UTF-8 byte order mark marks a UTF-8 file instead.
 */
export function decodeControlFile (bytes: Buffer): string {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return bytes.subarray(3).toString('utf8')
  return iconv.decode(bytes, 'win1253')
}

/** A control file written through the admin API: windows-1253 with CRLF line ends, as the clients' tools expect. */
export function encodeControlFile (text: string): Buffer {
  return iconv.encode(text.replace(/\r?\n/g, '\r\n'), 'win1253')
}

function lines (text: string): string[] {
  return text.split(/\r\n|\r|\n/).map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith(';') && !line.startsWith('#'))
}

/**
 * `@rename.txt`: `subfolder=absolute destination` lines. The subfolder name is matched
 * case-insensitively (as on Windows); the destination is kept exactly as written.
 */
export function parseRename (text: string): Map<string, string> {
  const map = new Map<string, string>()
  for (const line of lines(text)) {
    const eq = line.indexOf('=')
    if (eq <= 0) continue
    const folder = line.slice(0, eq).trim()
    const destination = line.slice(eq + 1).trim()
    if (folder !== '' && destination !== '') map.set(folder.toLowerCase(), destination)
  }
  return map
}

/** `@install.txt`: one program to run per line, e.g. `%TEMP\ishop.exe`. */
export function parseInstall (text: string): string[] {
  return lines(text)
}
