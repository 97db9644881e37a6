/**
 * Reading request fields the way PHP did: `prog[]=a&prog[]=b` and `prog[0]=a&prog[1]=b`
 * both give the array ['a', 'b'], aligned by position.
 */
export type Fields = Record<string, string | string[] | undefined>

/** A single-valued field; when repeated, the last value wins, as in PHP. */
export function scalar (fields: Fields, name: string): string | undefined {
  const value = fields[name]
  if (Array.isArray(value)) return value[value.length - 1]
  return value
}

/**
 * An array field. Returns the values in position order; explicit indexes (`prog[3]`) put a
 * value at that position and `prog[]` appends, as PHP does. Holes become undefined.
 */
export function array (fields: Fields, name: string, maxIndex: number): Array<string | undefined> {
  const result: Array<string | undefined> = []
  const prefix = `${name}[`
  // Each poll reads three arrays from its fields: a plain loop, no entries array, no regex.
  for (const key in fields) {
    const raw = fields[key]
    if (raw === undefined || key.charCodeAt(key.length - 1) !== 0x5d || !key.startsWith(prefix)) continue
    const inner = key.slice(prefix.length, -1)
    if (inner === '') {
      if (Array.isArray(raw)) for (const value of raw) result.push(value)
      else result.push(raw)
    } else if (isIndex(inner)) {
      const index = Number(inner)
      if (index > maxIndex) throw new RangeError(`${name}[${inner}] is beyond the limit`)
      result[index] = Array.isArray(raw) ? raw[raw.length - 1] : raw
    }
  }
  return Array.from(result)
}

/** One to six decimal digits. */
function isIndex (text: string): boolean {
  if (text.length > 6) return false
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code < 0x30 || code > 0x39) return false
  }
  return true
}
