import { CsvError, parse } from 'csv-parse'
import { badRequest } from '../errors.js'

/**
 * The lines of a license import (docs/admin-api.md, "CSV import"): RFC 4180 fields, quoted
 * with "" escapes, separated by `;` when the first line has a `;` and no `,`, else by `,`;
 * CRLF, LF or CR line ends; cells trimmed; blank lines, a byte order mark and a first line
 * starting with the `program` header skipped. `line` counts licenses: the first after the
 * header is line 1.
 */
export interface CsvLine {
  line: number
  cells: string[]
}

export async function * licenseCsvLines (text: string): AsyncGenerator<CsvLine> {
  const head = text.slice(0, text.search(/[\r\n]|$/))
  // Lines are counted as they are parsed (ahead of the reader), so that a parse error names the line it is in.
  let parsed = 0
  let first = true
  const parser = parse(text, {
    delimiter: head.includes(';') && !head.includes(',') ? ';' : ',',
    record_delimiter: ['\r\n', '\n', '\r'],
    bom: true,
    relax_quotes: true,
    relax_column_count: true,
    skip_empty_lines: true,
    on_record: (record: string[]): string[] | null => {
      const cells = record.map((cell) => cell.trim())
      if (cells.every((cell) => cell === '')) return null
      const header = first && cells[0].toLowerCase() === 'program'
      first = false
      if (header) return null
      parsed++
      return cells
    }
  })
  let line = 0
  try {
    for await (const cells of parser as AsyncIterable<string[]>) yield { line: ++line, cells }
  } catch (err) {
    if (!(err instanceof CsvError)) throw err
    throw badRequest('The CSV cannot be read; no license was issued.', [{ field: `line ${parsed + 1}`, message: err.message }])
  }
}
