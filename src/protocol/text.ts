import iconv from 'iconv-lite'

/** The charsets a client can ask for; windows-1253 (Greek) unless `cs=utf8`. */
export type Charset = 'windows-1253' | 'utf-8'

export const DEFAULT_CHARSET: Charset = 'windows-1253'

export function charsetFromQuery (cs: unknown): Charset {
  if (typeof cs !== 'string') return DEFAULT_CHARSET
  const name = cs.toLowerCase().replace(/[-_]/g, '')
  return name === 'utf8' ? 'utf-8' : DEFAULT_CHARSET
}

export function contentType (charset: Charset): string {
  return `text/plain; charset=${charset}`
}

export type Line = readonly [key: string, value: string | number]

/**
 * Encodes `KEY=value` lines, CRLF-terminated. Values never carry a line break: one would
 * let data forge extra keys, so CR and LF are replaced by spaces here, once, for every caller.
 */
export function encodeLines (lines: Iterable<Line>, charset: Charset): Buffer {
  let text = ''
  for (const [key, value] of lines) {
    text += `${key}=${String(value).replace(/[\r\n]+/g, ' ')}\r\n`
  }
  return encodeText(text, charset)
}

/** An error body: `ERROR=<CODE>` and one or more description lines. */
export function encodeError (code: string, description: string, charset: Charset): Buffer {
  const lines = description.split(/\r?\n/).filter((line) => line.length > 0)
  return encodeText(`ERROR=${code}\r\n${lines.map((line) => `${line}\r\n`).join('')}`, charset)
}

export function encodeText (text: string, charset: Charset): Buffer {
  return charset === 'utf-8' ? Buffer.from(text, 'utf8') : iconv.encode(text, 'win1253')
}
