/**
 * Fields as bytes. Message clients send text in their own charset (windows-1253, cp437 or
 * UTF-8), percent-encoded byte by byte; the usual parsers would read it as UTF-8 and lose
 * it. These keep the bytes, so the text can be decoded once the charset is known.
 */
export type RawFields = Map<string, Buffer>

/** Parses `a=1&b=%E1%E2` (a query string or a form body) into name → bytes; the last value of a name wins. */
export function parseRawFields (text: string, into: RawFields = new Map()): RawFields {
  for (const pair of text.split('&')) {
    if (pair === '') continue
    const eq = pair.indexOf('=')
    const name = percentDecode(eq < 0 ? pair : pair.slice(0, eq)).toString('utf8')
    into.set(name, percentDecode(eq < 0 ? '' : pair.slice(eq + 1)))
  }
  return into
}

function percentDecode (text: string): Buffer {
  const bytes: number[] = []
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x25 && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16))
      i += 2
    } else if (c === 0x2b) {
      bytes.push(0x20)
    } else if (c < 0x80) {
      bytes.push(c)
    } else {
      for (const b of Buffer.from(text[i], 'utf8')) bytes.push(b)
    }
  }
  return Buffer.from(bytes)
}
