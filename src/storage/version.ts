/**
 * Versions are dot-separated non-negative integers (`5.6.12.1`), compared numerically
 * component by component. A version that is a strict prefix of another is the older one
 * (`5.6` < `5.6.0` < `5.6.0.1`), which makes the order total over distinct strings.
 */
export type Version = readonly number[]

const MAX_COMPONENTS = 8
const MAX_DIGITS = 9

/**
 * Null when `text` is not a version (empty parts, signs, leading zeros, over 8 parts or 9
 * digits). Every poll parses its version: one pass over the characters.
 */
export function parseVersion (text: string): Version | null {
  const version: number[] = []
  let value = 0
  let digits = 0
  for (let i = 0; i <= text.length; i++) {
    // The end of the text closes the last part as a dot would.
    const code = i < text.length ? text.charCodeAt(i) : 0x2e
    if (code === 0x2e) {
      if (digits === 0 || version.length === MAX_COMPONENTS) return null
      version.push(value)
      value = 0
      digits = 0
    } else if (code >= 0x30 && code <= 0x39 && digits < MAX_DIGITS && !(digits === 1 && value === 0)) {
      value = value * 10 + (code - 0x30)
      digits++
    } else {
      return null
    }
  }
  return version
}

export function formatVersion (version: Version): string {
  return version.join('.')
}

export function compareVersions (a: Version, b: Version): number {
  const length = Math.min(a.length, b.length)
  for (let i = 0; i < length; i++) {
    if (a[i] !== b[i]) return a[i] - b[i]
  }
  return a.length - b.length
}

/** Whether `part`'s components are a prefix of `version`'s (`5.6` matches `5.6.1`, never `5.61`). */
export function isPrefixOf (part: Version, version: Version): boolean {
  if (part.length > version.length) return false
  for (let i = 0; i < part.length; i++) {
    if (part[i] !== version[i]) return false
  }
  return true
}

/** The longest of `parts` that is a prefix of `version`, or undefined. */
export function bestMatchingPart<T extends { version: Version }> (parts: Iterable<T>, version: Version): T | undefined {
  let best: T | undefined
  for (const candidate of parts) {
    if (isPrefixOf(candidate.version, version) && (best === undefined || candidate.version.length > best.version.length)) {
      best = candidate
    }
  }
  return best
}
