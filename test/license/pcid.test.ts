import t from 'tap'
import { ALPHABET, encodeBytes, normalize, symbolValue } from '../../src/license/base32.js'
import { isPcidSyntax, newPcid } from '../../src/license/pcid.js'

t.test('Crockford base32', async (t) => {
  t.equal(ALPHABET.length, 32)
  t.equal(encodeBytes(Buffer.from([0xff])), 'ZW', '8 bits: 5 + 3 padded with zeros')
  t.equal(encodeBytes(Buffer.from('f')), 'CR')
  t.equal(encodeBytes(Buffer.alloc(5)), '00000000')
  t.equal(normalize('ab-cd efo il'), 'ABCDEF011', 'case, dashes, spaces and look-alikes')
  t.equal(normalize('AU'), null, 'U is not a Crockford digit')
  t.equal(normalize('Ω'), null)
  t.equal(symbolValue('z'), 31)
  t.equal(symbolValue('*'), -1)
})

t.test('PCIDs: 26 characters, 130 random bits, never repeated', async (t) => {
  const issued = Array.from({ length: 2000 }, () => newPcid())
  t.ok(issued.every(isPcidSyntax), 'all well-formed')
  t.equal(new Set(issued).size, 2000)
  t.equal(isPcidSyntax('7Q2M9K4XWJ3HN8RT5VCZ6DPA1E'), true)
  t.equal(isPcidSyntax('7q2m9k4xwj3hn8rt5vcz6dpa1e'), false, 'as issued: upper case')
  t.equal(isPcidSyntax('7Q2M9K4XWJ3HN8RT5VCZ6DPA1'), false)
  t.equal(isPcidSyntax('../../../../etc/passwd0000'), false)
})
