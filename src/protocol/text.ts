import iconv from 'iconv-lite'

/**
 * The charsets a client can ask for: windows-1253 (Greek) unless `cs=utf8`; messages
 * (Imessage) also know `cs=437` (the DOS code page) and name windows-1253 `928` (ELOT 928).
 */
export type Charset = 'windows-1253' | 'utf-8' | 'cp437'

export const DEFAULT_CHARSET: Charset = 'windows-1253'

export function charsetFromQuery (cs: unknown): Charset {
  if (typeof cs !== 'string') return DEFAULT_CHARSET
  return parseCharset(cs) ?? DEFAULT_CHARSET
}

/** A charset name as clients write it, or null when it is not one we know. */
export function parseCharset (cs: string): Charset | null {
  const name = cs.trim().toLowerCase().replace(/[-_\s]/g, '')
  if (name === 'utf8') return 'utf-8'
  if (name === '437' || name === 'cp437' || name === 'ibm437') return 'cp437'
  if (name === '' || name === '928' || name === '1253' || name === 'cp1253' || name === 'windows1253' || name === 'elot928') return 'windows-1253'
  return null
}

export function contentType (charset: Charset): string {
  return CONTENT_TYPES[charset]
}

const CONTENT_TYPES: Record<Charset, string> = {
  'windows-1253': 'text/plain; charset=windows-1253',
  'utf-8': 'text/plain; charset=utf-8',
  cp437: 'text/plain; charset=cp437'
}

export type Line = readonly [key: string, value: string | number]

const LINE_BREAKS = /[\r\n]+/g

/**
 * `KEY=value` lines, CRLF-terminated. Values never carry a line break: one would let data
 * forge extra keys, so CR and LF are replaced by spaces here, once, for every caller.
 */
export function linesText (lines: readonly Line[]): string {
  return lines.map(([key, value]) => `${key}=${String(value).replace(LINE_BREAKS, ' ')}\r\n`).join('')
}

/** `KEY=value` lines (linesText) in a client charset. */
export function encodeLines (lines: readonly Line[], charset: Charset): Buffer {
  return encodeText(linesText(lines), charset)
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]+/g

/**
 * An error body: `ERROR=<CODE>` and one description line. The description may quote the
 * request (an unknown function's name): control characters, line breaks first, become a space,
 * so that nothing a client sent can stand on a line of its own (docs/protocol.md §1).
 */
export function encodeError (code: string, description: string, charset: Charset): Buffer {
  return encodeText(`ERROR=${code}\r\n${description.replace(CONTROL, ' ').trim()}\r\n`, charset)
}

export function encodeText (text: string, charset: Charset): Buffer {
  // ASCII is the same bytes in all three: most answers are, and skip the table lookups.
  if (isAscii(text)) return Buffer.from(text, 'latin1')
  if (charset === 'utf-8') return Buffer.from(text, 'utf8')
  return iconv.encode(text, charset === 'cp437' ? 'cp437' : 'win1253')
}

/** Only ASCII characters take one UTF-8 byte each. */
function isAscii (text: string): boolean {
  return Buffer.byteLength(text, 'utf8') === text.length
}

export function decodeText (bytes: Buffer, charset: Charset): string {
  if (charset === 'utf-8') return bytes.toString('utf8')
  return iconv.decode(bytes, charset === 'cp437' ? 'cp437' : 'win1253')
}

/**
 * Multi-line text as one `KEY=value` value: `\` becomes `\\`, a line break `\n` (CRLF, LF
 * or CR alike), a tab `\t`. unescapeValue reverses it.
 */
export function escapeValue (text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\r\n|\r|\n/g, '\\n').replace(/\t/g, '\\t')
}

export function unescapeValue (text: string): string {
  return text.replace(/\\([\\nt])/g, (_m, c: string) => (c === 'n' ? '\r\n' : c === 't' ? '\t' : '\\'))
}
