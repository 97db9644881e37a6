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
  for (const [key, raw] of Object.entries(fields)) {
    if (raw === undefined || !key.startsWith(prefix) || !key.endsWith(']')) continue
    const inner = key.slice(prefix.length, -1)
    const values = Array.isArray(raw) ? raw : [raw]
    if (inner === '') {
      for (const value of values) result.push(value)
    } else if (/^\d{1,6}$/.test(inner)) {
      const index = Number(inner)
      if (index > maxIndex) throw new RangeError(`${name}[${inner}] is beyond the limit`)
      result[index] = values[values.length - 1]
    }
  }
  return Array.from(result)
}
