import { decodeText, parseCharset, type Charset } from '../../src/protocol/text.js'
import { ServerError } from './errors.js'

/**
 * Reading the server's `KEY=value` answers (docs/protocol.md §1, §3, §8): the charset from the
 * Content-Type, an `ERROR=` first line as a ServerError, the qrymaxver lines as a listing.
 */
export type Lines = Map<string, string>

export function charsetOf (contentType: string | undefined): Charset {
  const name = /charset=([^;\s]+)/i.exec(contentType ?? '')?.[1]
  return parseCharset(name ?? '') ?? 'windows-1253'
}

export function parseLines (text: string): Lines {
  const lines: Lines = new Map()
  for (const line of text.split('\r\n')) {
    const eq = line.indexOf('=')
    if (eq > 0) lines.set(line.slice(0, eq), line.slice(eq + 1))
  }
  return lines
}

/** The lines of a success; an `ERROR=` answer (or a non-2xx status) throws. */
export function answerLines (status: number, bytes: Buffer, charset: Charset): Lines {
  const text = decodeText(bytes, charset)
  if (text.startsWith('ERROR=') || status < 200 || status > 299) {
    const [first, ...rest] = text.split(/\r?\n/)
    const code = first.startsWith('ERROR=') ? first.slice(6) : 'HTTP'
    throw new ServerError(code, status, rest.filter((l) => l !== '').join(' ').slice(0, 300) || `HTTP ${status}`)
  }
  return parseLines(text)
}

export interface ListedFile {
  url: string
  file: string
  dest: string
  date: string
  size?: number
  sha256?: string
}

export interface ProgramListing {
  program: string
  ok: string
  license: string
  files: ListedFile[]
  run: string[]
  kind?: string
  reason?: string
}

export interface Listing {
  pcid: string
  programs: ProgramListing[]
}

/** Reads a qrymaxver answer (with v=1) for `count` programs. */
export function parseListing (lines: Lines, count: number): Listing {
  const programs: ProgramListing[] = []
  for (let i = 0; i < count; i++) {
    const files: ListedFile[] = []
    for (let j = 0; lines.has(`URL[${i}][${j}]`); j++) {
      const size = lines.get(`SIZE[${i}][${j}]`)
      files.push({
        url: lines.get(`URL[${i}][${j}]`) ?? '',
        file: lines.get(`FILE[${i}][${j}]`) ?? '',
        dest: lines.get(`DEST[${i}][${j}]`) ?? '',
        date: lines.get(`DATE[${i}][${j}]`) ?? '',
        size: size === undefined || !/^\d+$/.test(size) ? undefined : Number(size),
        sha256: lines.get(`SHA256[${i}][${j}]`)?.toLowerCase()
      })
    }
    const run: string[] = []
    for (let k = 0; lines.has(`RUN[${i}][${k}]`); k++) run.push(lines.get(`RUN[${i}][${k}]`) ?? '')
    programs.push({
      program: lines.get(`PROG[${i}]`) ?? '',
      ok: lines.get(`OK[${i}]`) ?? '',
      license: lines.get(`LICENSE[${i}]`) ?? '',
      files,
      run,
      kind: lines.get(`KIND[${i}]`),
      reason: lines.get(`REASON[${i}]`)
    })
  }
  return { pcid: lines.get('PCID') ?? '', programs }
}
