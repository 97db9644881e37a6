/**
 * Crockford's base32: digits and letters without I, L, O and U. Decoding is
 * case-insensitive, reads O as 0 and I/L as 1, and ignores dashes.
 */
export const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'

const DECODE = new Int8Array(128).fill(-1)
for (let i = 0; i < ALPHABET.length; i++) {
  DECODE[ALPHABET.charCodeAt(i)] = i
  DECODE[ALPHABET.toLowerCase().charCodeAt(i)] = i
}
for (const [alias, digit] of [['O', 0], ['o', 0], ['I', 1], ['i', 1], ['L', 1], ['l', 1]] as const) {
  DECODE[alias.charCodeAt(0)] = digit
}

/** The value (0..31) of one character, or -1 when it is not a base32 character. */
export function symbolValue (char: string): number {
  return codeValue(char.charCodeAt(0))
}

/** The value (0..31) of a character code, or -1 when it is not a base32 character. */
export function codeValue (code: number): number {
  return code < 128 ? DECODE[code] : -1
}

/** The values (0..31) of typed input, dashes and spaces dropped, look-alikes mapped. Null when a character is not base32. */
export function decodeSymbols (input: string): number[] | null {
  const symbols: number[] = []
  for (let i = 0; i < input.length; i++) {
    const code = input.charCodeAt(i)
    if (code === 0x2d || code === 0x20) continue
    const value = codeValue(code)
    if (value < 0) return null
    symbols.push(value)
  }
  return symbols
}

/** Normalises typed input: drops dashes and spaces, maps look-alikes, upper-cases. Null when a character is not base32. */
export function normalize (input: string): string | null {
  const symbols = decodeSymbols(input)
  if (symbols === null) return null
  let out = ''
  for (const value of symbols) out += ALPHABET[value]
  return out
}

/** Encodes bytes, 5 bits per character, most significant bits first; the last character is zero-padded. */
export function encodeBytes (bytes: Uint8Array): string {
  let out = ''
  let buffer = 0
  let bits = 0
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte
    bits += 8
    while (bits >= 5) {
      out += ALPHABET[(buffer >>> (bits - 5)) & 31]
      bits -= 5
    }
    buffer &= (1 << bits) - 1
  }
  if (bits > 0) out += ALPHABET[(buffer << (5 - bits)) & 31]
  return out
}
