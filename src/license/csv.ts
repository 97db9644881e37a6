import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { CsvError, parse } from 'csv-parse'
import iconv from 'iconv-lite'
import { z } from 'zod'

/**
 * The lines of a CSV import (docs/admin-api.md, "CSV import"), read as a stream: RFC 4180
 * fields, quoted with "" escapes, separated by `;` when the first line has a `;` and no `,`,
 * else by `,`; CRLF, LF or CR line ends; cells trimmed; blank lines and a byte order mark
 * skipped. A first line naming known columns is a header and says their order; without one
 * the columns come in the import's default order. `line` counts records: the first after the
 * header is line 1.
 */
export interface CsvLine {
  line: number
  cells: string[]
}

export const CSV_ENCODINGS = ['utf-8', 'windows-1253'] as const
export type CsvEncoding = typeof CSV_ENCODINGS[number]
export const csvEncoding = z.enum(CSV_ENCODINGS).default('utf-8').describe('the file\'s character set; windows-1253 for Greek files of the old system')

/** A line that cannot be read at all (a quote never closed): the import stops there. */
export class CsvUnreadable extends Error {
  constructor (readonly line: number, message: string) {
    super(message)
  }
}

/** How many bytes are looked at for the first line's separator. */
const SNIFF_BYTES = 64 * 1024

export interface CsvReader {
  /** The columns in file order, after the header if any. */
  columns: string[]
  lines: AsyncGenerator<CsvLine>
}

/**
 * Reads `source` (bytes in `encoding`) as CSV lines. `known` lists the columns a header may
 * name, `defaults` their order when there is no header.
 */
export async function readCsv (source: AsyncIterable<Buffer | string> | string | Buffer, encoding: CsvEncoding, known: readonly string[], defaults: readonly string[]): Promise<CsvReader> {
  const input: AsyncIterable<Buffer | string> = typeof source === 'string' || Buffer.isBuffer(source) ? Readable.from([Buffer.from(source)]) : source
  const iterator = input[Symbol.asyncIterator]()
  // The separator is decided by the first line, so its bytes are read before the parser is made.
  const head: Buffer[] = []
  let size = 0
  for (;;) {
    const next = await iterator.next()
    if (next.done === true) break
    const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value)
    head.push(chunk)
    size += chunk.length
    if (chunk.includes(0x0a) || chunk.includes(0x0d) || size >= SNIFF_BYTES) break
  }
  const first = Buffer.concat(head)
  const end = first.findIndex((byte) => byte === 0x0a || byte === 0x0d)
  const firstLine = first.subarray(0, end < 0 ? first.length : end)
  const delimiter = firstLine.includes(0x3b) && !firstLine.includes(0x2c) ? ';' : ','

  const lowered = new Map(known.map((name) => [name.toLowerCase(), name]))
  let columns: string[] = [...defaults]
  let isFirst = true
  let parsed = 0
  const parser = parse({
    delimiter,
    record_delimiter: ['\r\n', '\n', '\r'],
    bom: true,
    relax_quotes: true,
    relax_column_count: true,
    skip_empty_lines: true,
    on_record: (record: string[]): string[] | null => {
      const cells = record.map((cell) => cell.trim())
      if (cells.every((cell) => cell === '')) return null
      const header = isFirst && lowered.has(cells[0].toLowerCase())
      isFirst = false
      if (header) {
        columns = cells.map((cell) => lowered.get(cell.toLowerCase()) ?? cell)
        return null
      }
      parsed++
      return cells
    }
  })
  const rest = Readable.from((async function * () {
    yield first
    for (;;) {
      const next = await iterator.next()
      if (next.done === true) return
      yield next.value
    }
  })(), { objectMode: false })
  const piped = pipeline(rest, iconv.decodeStream(encoding), parser)
  // Failures surface through the parser, to lines() below, which may not be reading yet when
  // the source fails: these only keep the promise and the stream's error from going
  // unhandled meanwhile.
  piped.catch(() => {})
  parser.on('error', () => {})

  async function * lines (): AsyncGenerator<CsvLine> {
    let line = 0
    try {
      for await (const cells of parser as AsyncIterable<string[]>) yield { line: ++line, cells }
    } catch (err) {
      if (!(err instanceof CsvError)) throw err
      throw new CsvUnreadable(parsed + 1, err.message)
    }
  }
  return { get columns () { return columns }, lines: lines() }
}

/**
 * A cell as a spreadsheet may show it (docs/admin-api.md, "CSV export"): one starting with
 * `=`, `+`, `-`, `@`, a tab or a carriage return would be run as a formula, so it is written
 * after an apostrophe, and so is one starting with an apostrophe (so that the import, which
 * takes one such apostrophe away, reads every exported cell back as it was).
 */
export function neutralise (cell: string): string {
  return NEUTRALISED.test(cell) ? `'${cell}` : cell
}

/** The import's side of neutralise: an exported cell read back. */
export function unneutralise (cell: string): string {
  return cell.length > 1 && cell.charCodeAt(0) === 0x27 && NEUTRALISED.test(cell.slice(1)) ? cell.slice(1) : cell
}

const NEUTRALISED = /^[=+\-@\t\r']/

/** One CSV line of cells: quoted when needed (a separator, quote or line end inside). */
export function csvRow (cells: ReadonlyArray<string | number | null | undefined>): string {
  return cells.map((value) => {
    const cell = neutralise(value === null || value === undefined ? '' : String(value))
    return /[",\r\n;]/.test(cell) ? `"${cell.replaceAll('"', '""')}"` : cell
  }).join(',') + '\r\n'
}
