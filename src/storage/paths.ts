import { realpath } from 'node:fs/promises'
import { isAbsolute, join, relative, sep } from 'node:path'

/**
 * The one place where a path in the repository is resolved. Every caller, the scanner and
 * the file server alike, goes through `resolveInside`, so nothing outside FTP_ROOT is ever
 * listed or opened: bad names are refused before touching the disk, and the real path
 * (symlinks followed) must still lie under the root's real path.
 */
export class UnsafePathError extends Error {
  constructor (readonly segment: string, reason: string) {
    super(`Unsafe path segment ${JSON.stringify(segment.slice(0, 80))}: ${reason}`)
    this.name = 'UnsafePathError'
  }
}

// NUL, C0 and C1 control characters and DEL.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/ // eslint-disable-line no-control-regex

/** Why a single path segment is unsafe, or null when it is a plain name. */
export function segmentProblem (segment: string): string | null {
  if (segment === '') return 'empty'
  if (segment === '.' || segment === '..') return 'a relative step'
  if (CONTROL.test(segment)) return 'a control character'
  if (segment.includes('/') || segment.includes('\\')) return 'a path separator'
  if (isAbsolute(segment) || /^[A-Za-z]:/.test(segment)) return 'an absolute path'
  if (segment.length > 255) return 'too long'
  return null
}

export function assertSafeSegments (segments: readonly string[]): void {
  for (const segment of segments) {
    const problem = segmentProblem(segment)
    if (problem !== null) throw new UnsafePathError(segment, problem)
  }
}

/**
 * The real path of root/segments…, or null when it does not exist or leads (through a
 * symlink) outside the root. Throws UnsafePathError for a segment that is not a plain name.
 */
export async function resolveInside (realRoot: string, segments: readonly string[]): Promise<string | null> {
  assertSafeSegments(segments)
  let real: string
  try {
    real = await realpath(join(realRoot, ...segments))
  } catch {
    return null
  }
  return isWithin(realRoot, real) ? real : null
}

export function isWithin (root: string, path: string): boolean {
  const rel = relative(root, path)
  return rel === '' || (!rel.startsWith('..' + sep) && rel !== '..' && !isAbsolute(rel))
}
