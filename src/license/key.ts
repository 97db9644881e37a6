import { createHash, randomBytes } from 'node:crypto'
import { ALPHABET, codeValue, decodeSymbols } from './base32.js'

/**
 * License keys (the client's SN), format 1. docs/license-key.md specifies this byte by byte.
 *
 *   25 Crockford base32 symbols, shown in five groups of five:  1ABCD-EFGHJ-KMNPQ-RSTVW-XYZ01
 *   symbol  0       format version (1)
 *   symbols 1-3     program tag: the first 15 bits of SHA-256(lower-case program name, UTF-8)
 *   symbols 4-21    90 random bits
 *   symbols 22-24   check: CRC-15 (polynomial 0x4599) over the 110 bits of symbols 0-21
 *
 * A CRC of degree 15 with a constant term detects every error burst of up to 15 bits; one
 * wrong symbol touches at most 5 bits and a swap of two adjacent symbols at most 10, so every
 * single-symbol error and every adjacent swap is caught. The CRC is a typing check: anyone can
 * compute it, and only the server's records decide whether a key is a license.
 */

export const KEY_FORMAT_VERSION = 1
export const KEY_LENGTH = 25
/** Longer input is refused (FORMAT) before it is read: no key is typed with that much spacing. */
export const MAX_KEY_INPUT = 64
const GROUP = 5
const PAYLOAD_SYMBOLS = 22
const RANDOM_SYMBOLS = 18
const CRC_POLY = 0x4599 // x^15 + x^14 + x^10 + x^8 + x^7 + x^4 + x^3 + 1 (CRC-15/CAN)
const CRC_BITS = 15

export type KeyProblem = 'FORMAT' | 'CHECK' | 'VERSION'

export type KeyCheck =
  | { valid: true, key: string, formatVersion: number, programTag: number }
  | { valid: false, problem: KeyProblem }

/** The 15-bit tag of a program name that a key carries. */
export function programTag (program: string): number {
  const digest = createHash('sha256').update(program.toLowerCase(), 'utf8').digest()
  return ((digest[0] << 7) | (digest[1] >> 1)) & 0x7fff
}

/**
 * CRC-15 over a sequence of 5-bit symbols, most significant bit first, initial value 0:
 * bit by bit as docs/license-key.md gives it, a symbol at a time here (CRC_TABLE).
 */
export function crc15 (symbols: readonly number[], count = symbols.length): number {
  let crc = 0
  for (let i = 0; i < count; i++) crc = crcStep(crc, symbols[i])
  return crc
}

/** The CRC register after one more symbol. */
function crcStep (crc: number, symbol: number): number {
  return ((crc << 5) & 0x7fff) ^ CRC_TABLE[((crc >> (CRC_BITS - 5)) ^ symbol) & 31]
}

/** Bit by bit: five register shifts per symbol, the polynomial added when the bit out differs from the bit in. */
export function crc15Bitwise (symbols: readonly number[], count = symbols.length): number {
  let crc = 0
  for (let i = 0; i < count; i++) {
    const symbol = symbols[i]
    for (let bit = 4; bit >= 0; bit--) {
      const inBit = (symbol >> bit) & 1
      const top = (crc >> (CRC_BITS - 1)) & 1
      crc = (crc << 1) & 0x7fff
      if ((top ^ inBit) === 1) crc ^= CRC_POLY & 0x7fff
    }
  }
  return crc
}

/**
 * What five bit steps do to a register whose top five bits (xor the symbol) are the index:
 * the standard table of a CRC taken several bits at a time. Every key check of every poll runs
 * 22 table steps instead of 110 bit steps.
 */
const CRC_TABLE = Array.from({ length: 32 }, (_, top) => {
  let crc = top << (CRC_BITS - 5)
  for (let bit = 0; bit < 5; bit++) crc = (crc & 0x4000) !== 0 ? ((crc << 1) & 0x7fff) ^ CRC_POLY : (crc << 1) & 0x7fff
  return crc
})

/** Groups a 25-symbol key with dashes: `XXXXX-XXXXX-XXXXX-XXXXX-XXXXX`. */
export function formatKey (compact: string): string {
  const groups: string[] = []
  for (let i = 0; i < compact.length; i += GROUP) groups.push(compact.slice(i, i + GROUP))
  return groups.join('-')
}

/** A new key for `program`, from `random` (11+ bytes; by default from the system CSPRNG). */
export function generateKey (program: string, random: Uint8Array = randomBytes(12)): string {
  const symbols = [KEY_FORMAT_VERSION]
  const tag = programTag(program)
  symbols.push((tag >> 10) & 31, (tag >> 5) & 31, tag & 31)
  // 90 bits from the first 12 bytes (96 bits), 5 at a time.
  let bits = 0n
  for (let i = 0; i < 12; i++) bits = (bits << 8n) | BigInt(random[i] ?? 0)
  for (let i = 0; i < RANDOM_SYMBOLS; i++) symbols.push(Number((bits >> BigInt(91 - 5 * i)) & 31n))
  const crc = crc15(symbols)
  symbols.push((crc >> 10) & 31, (crc >> 5) & 31, crc & 31)
  return canonicalKey(symbols)
}

/**
 * Checks a typed key offline: case, dashes, spaces and the look-alikes O (0) and I, L (1)
 * are forgiven. Returns the canonical key (grouped, upper case) and what it carries.
 */
export function validateKey (input: string): KeyCheck {
  if (input.length > MAX_KEY_INPUT) return { valid: false, problem: 'FORMAT' }
  // Every poll of a licensed install checks its key: one pass over the input, no array.
  let count = 0
  let crc = 0
  let stored = 0
  let format = -1
  let tag = 0
  // Keys are nearly always sent as printed: then the input is the canonical form already.
  let canonical = input.length === PRINTED_LENGTH
  for (let i = 0; i < input.length; i++) {
    const code = input.charCodeAt(i)
    const dashPlace = i % (GROUP + 1) === GROUP
    if (code === 0x2d || code === 0x20) {
      canonical &&= code === 0x2d && dashPlace
      continue
    }
    const value = codeValue(code)
    if (value < 0 || count === KEY_LENGTH) return { valid: false, problem: 'FORMAT' }
    canonical &&= !dashPlace && code === ALPHABET.charCodeAt(value)
    if (count < PAYLOAD_SYMBOLS) crc = crcStep(crc, value)
    else stored = (stored << 5) | value
    if (count === 0) format = value
    else if (count <= 3) tag = (tag << 5) | value
    count++
  }
  if (count !== KEY_LENGTH) return { valid: false, problem: 'FORMAT' }
  if (crc !== stored) return { valid: false, problem: 'CHECK' }
  if (format !== KEY_FORMAT_VERSION) return { valid: false, problem: 'VERSION' }
  return {
    valid: true,
    key: canonical ? input : canonicalKey(decodeSymbols(input) ?? []),
    formatVersion: format,
    programTag: tag
  }
}

/** The printed form: five groups of five, dashes between. */
const PRINTED_LENGTH = KEY_LENGTH + KEY_LENGTH / GROUP - 1

function canonicalKey (symbols: readonly number[]): string {
  return formatKey(symbols.map((symbol) => ALPHABET[symbol]).join(''))
}

/** Whether a valid key carries the tag of `program`. */
export function keyIsForProgram (check: KeyCheck, program: string): boolean {
  return check.valid && check.programTag === programTag(program)
}
