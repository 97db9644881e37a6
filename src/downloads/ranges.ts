/**
 * HTTP Range requests (RFC 9110 §14) for byte ranges of a file of known size.
 * Returns the ranges to send, 'unsatisfiable' (416), or null (ignore the header: send it all).
 */
export interface ByteRange { start: number, end: number } // inclusive

const MAX_RANGES = 32

export function parseRange (header: string | undefined, size: number): ByteRange[] | 'unsatisfiable' | null {
  if (header === undefined) return null
  const match = /^\s*bytes\s*=\s*(.+)$/i.exec(header)
  if (match === null) return null
  const specs = match[1].split(',').map((part) => part.trim()).filter((part) => part !== '')
  if (specs.length === 0 || specs.length > MAX_RANGES) return null
  const ranges: ByteRange[] = []
  for (const spec of specs) {
    const m = /^(\d*)-(\d*)$/.exec(spec)
    if (m === null || (m[1] === '' && m[2] === '')) return null
    if (m[1] === '') {
      const suffix = Number(m[2])
      if (suffix === 0) continue
      ranges.push({ start: Math.max(0, size - suffix), end: size - 1 })
    } else {
      const start = Number(m[1])
      const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1)
      if (m[2] !== '' && Number(m[2]) < start) return null
      if (start >= size) continue
      ranges.push({ start, end })
    }
  }
  if (ranges.length === 0) return 'unsatisfiable'
  return ranges
}

/** Merges overlapping and adjacent ranges (a client asking twice for the same bytes gets them once). */
export function coalesce (ranges: ByteRange[]): ByteRange[] {
  const sorted = [...ranges].sort((a, b) => a.start - b.start)
  const out: ByteRange[] = []
  for (const range of sorted) {
    const last = out[out.length - 1]
    if (last !== undefined && range.start <= last.end + 1) last.end = Math.max(last.end, range.end)
    else out.push({ ...range })
  }
  return out
}
