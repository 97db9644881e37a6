import t from 'tap'
import { ALPHABET, decodeSymbols } from '../../src/license/base32.js'
import { crc15, crc15Bitwise, formatKey, generateKey, keyIsForProgram, programTag, validateKey } from '../../src/license/key.js'

t.test('format: five groups of five Crockford symbols, version 1, program tag, check', async (t) => {
  const key = generateKey('ishop')
  t.match(key, /^[0-9A-HJKMNP-TV-Z]{5}(-[0-9A-HJKMNP-TV-Z]{5}){4}$/)
  t.equal(key[0], '1')
  const check = validateKey(key)
  t.match(check, { valid: true, key, formatVersion: 1, programTag: programTag('ishop') })
  t.ok(keyIsForProgram(check, 'ishop'))
  t.ok(keyIsForProgram(check, 'iShop'), 'program names compare without case')
  t.notOk(keyIsForProgram(check, 'taxspooler'))
  t.notOk(keyIsForProgram(validateKey('nonsense'), 'ishop'))
})

t.test('test vectors (docs/license-key.md)', async (t) => {
  t.equal(programTag('ishop'), 21921)
  t.equal(programTag('taxspooler'), 25133)
  t.equal(crc15([1]), 17817)
  t.equal(crc15([]), 0)
  t.equal(generateKey('ishop', Buffer.alloc(12)), '1ND10-00000-00000-00000-00CH3')
  t.equal(generateKey('ishop', Buffer.from('000102030405060708090a0b', 'hex')), '1ND10-00G40-R40M3-0E209-18520')
  t.equal(generateKey('taxspooler', Buffer.from('ffffffffffffffffffffffff', 'hex')), '1RHDZ-ZZZZZ-ZZZZZ-ZZZZZ-ZZPXK')
})

t.test('typing is forgiven: case, dashes, spaces, O for 0, I and L for 1', async (t) => {
  const key = '1ND10-00G40-R40M3-0E209-18520'
  const printed = validateKey(key)
  t.equal(printed.valid ? printed.key : undefined, key, 'the printed form is its own canonical form')
  for (const typed of ['1nd10-00g40-r40m3-0e209-18520', '1ND1000G40R40M30E20918520', ' 1ND10 00G40 R40M3 0E209 18520 ', 'IND1O-OOG4O-R4OM3-OE2O9-L852O',
    // As long as the printed form, but not it: the canonical key is still what comes back.
    '1ND10 00G40 R40M3 0E209 18520', '1ND1-000G40-R40M3-0E209-18520', '1ND10-00G40-R40M3-0E209-1852O', '1ND10-00G40-R40M3-0E209-1852o']) {
    t.match(validateKey(typed), { valid: true, key }, typed)
  }
  for (const bad of ['', '1ND10', '1ND10-00G40-R40M3-0E209-18520-0', '1ND10-00G40-R40M3-0E209-1852U', '1ND10-00G40-R40M3-0E209-1852*', 'x'.repeat(100)]) {
    t.match(validateKey(bad), { valid: false, problem: 'FORMAT' }, JSON.stringify(bad))
  }
})

t.test('every single-symbol substitution and every adjacent swap is detected', async (t) => {
  let substitutions = 0
  let swaps = 0
  const missed: string[] = []
  for (let n = 0; n < 300; n++) {
    const compact = generateKey(n % 2 === 0 ? 'ishop' : 'taxspooler').replace(/-/g, '')
    for (let i = 0; i < compact.length; i++) {
      for (const symbol of ALPHABET) {
        if (symbol === compact[i]) continue
        const typo = compact.slice(0, i) + symbol + compact.slice(i + 1)
        substitutions++
        if (validateKey(typo).valid) missed.push(typo)
      }
      if (i + 1 < compact.length && compact[i] !== compact[i + 1]) {
        const swapped = compact.slice(0, i) + compact[i + 1] + compact[i] + compact.slice(i + 2)
        swaps++
        if (validateKey(swapped).valid) missed.push(swapped)
      }
    }
  }
  t.ok(substitutions > 200_000, `${substitutions} substitutions tried`)
  t.ok(swaps > 6_000, `${swaps} swaps tried`)
  t.same(missed, [], 'none accepted')
})

t.test('a key of an unknown format version is refused', async (t) => {
  const symbols = [...'2ND10000000000000000000'].map((c) => ALPHABET.indexOf(c)).slice(0, 22)
  const crc = crc15(symbols)
  const compact = symbols.map((s) => ALPHABET[s]).join('') + ALPHABET[(crc >> 10) & 31] + ALPHABET[(crc >> 5) & 31] + ALPHABET[crc & 31]
  t.match(validateKey(formatKey(compact)), { valid: false, problem: 'VERSION' })
})

t.test('keys are unique', async (t) => {
  const keys = Array.from({ length: 5000 }, () => generateKey('ishop'))
  t.equal(new Set(keys).size, keys.length)
})

t.test('the CRC a symbol at a time equals the CRC bit by bit (docs/license-key.md)', async (t) => {
  let seed = 7
  const next = (): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed >> 16 }
  let same = 0
  for (let n = 0; n < 3000; n++) {
    const symbols = Array.from({ length: n % 31 }, () => next() & 31)
    if (crc15(symbols) === crc15Bitwise(symbols) && crc15(symbols, 3) === crc15Bitwise(symbols, 3)) same++
  }
  t.equal(same, 3000)
})

t.test('validateKey agrees with a plain reference on typed, mistyped and malformed keys', async (t) => {
  // The reference: decode everything, CRC bit by bit, format the canonical key from the symbols.
  const reference = (input: string): unknown => {
    if (input.length > 64) return { valid: false, problem: 'FORMAT' }
    const symbols = decodeSymbols(input)
    if (symbols?.length !== 25) return { valid: false, problem: 'FORMAT' }
    if (crc15Bitwise(symbols, 22) !== ((symbols[22] << 10) | (symbols[23] << 5) | symbols[24])) return { valid: false, problem: 'CHECK' }
    if (symbols[0] !== 1) return { valid: false, problem: 'VERSION' }
    return { valid: true, key: formatKey(symbols.map((v) => ALPHABET[v]).join('')), formatVersion: 1, programTag: (symbols[1] << 10) | (symbols[2] << 5) | symbols[3] }
  }
  let seed = 11
  const next = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return (seed >> 8) % n }
  const mutations: Array<(key: string) => string> = [
    (k) => k,
    (k) => k.toLowerCase(),
    (k) => k.replace(/-/g, ''),
    (k) => k.replace(/-/g, ' '),
    (k) => k.replace(/0/g, 'O').replace(/1/g, 'l'),
    (k) => { const i = next(k.length); return k.slice(0, i) + '-' + k.slice(i) },
    (k) => { const i = next(k.length); return k.slice(0, i) + ALPHABET[next(32)] + k.slice(i + 1) },
    (k) => { const i = next(k.length - 1); return k.slice(0, i) + k[i + 1] + k[i] + k.slice(i + 2) },
    (k) => k.slice(0, next(k.length)),
    (k) => k + ALPHABET[next(32)],
    (k) => k.slice(0, 28) + 'U',
    (k) => '2' + k.slice(1),
    (k) => ' ' + k + ' '
  ]
  let agree = 0
  let valid = 0
  const total = 400 * mutations.length
  for (let n = 0; n < 400; n++) {
    const key = generateKey(n % 2 === 0 ? 'ishop' : 'taxspooler')
    for (const mutate of mutations) {
      const input = mutate(key)
      const got = validateKey(input)
      if (JSON.stringify(got) === JSON.stringify(reference(input))) agree++
      else t.fail(`${JSON.stringify(input)}: ${JSON.stringify(got)} vs ${JSON.stringify(reference(input))}`)
      if (got.valid) valid++
    }
  }
  t.equal(agree, total)
  t.ok(valid > 2000 && valid < total, `both outcomes are exercised (${valid} of ${total} valid)`)
})
