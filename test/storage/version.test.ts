import t from 'tap'
import { bestMatchingPart, compareVersions, formatVersion, isPrefixOf, parseVersion } from '../../src/storage/version.js'

const v = (text: string): number[] => {
  const parsed = parseVersion(text)
  if (parsed === null) throw new Error(`bad version ${text}`)
  return [...parsed]
}

t.test('parsing', async (t) => {
  t.same(parseVersion('5.6.12.1'), [5, 6, 12, 1])
  t.same(parseVersion('0'), [0])
  t.same(parseVersion('2.10'), [2, 10])
  for (const bad of ['', '.', '1.', '.1', '1..2', '-1', '1.-2', '1.a', '01.2', '1.02', 'v1', '1 .2', '1.2.3.4.5.6.7.8.9', '1234567890', '1e3', '0x10']) {
    t.equal(parseVersion(bad), null, JSON.stringify(bad))
  }
  t.equal(formatVersion(v('2.6.10')), '2.6.10')
})

t.test('numeric ordering, component by component', async (t) => {
  const sorted = ['2.6.9', '2.6.10', '2.10', '2.9', '5.6.0.1', '5.6', '5.6.0', '10.0', '1.99.99'].map(v).sort(compareVersions).map(formatVersion)
  t.same(sorted, ['1.99.99', '2.6.9', '2.6.10', '2.9', '2.10', '5.6', '5.6.0', '5.6.0.1', '10.0'])
  t.ok(compareVersions(v('2.6.10'), v('2.6.9')) > 0)
  t.ok(compareVersions(v('5.6'), v('5.6.0.1')) < 0)
  t.equal(compareVersions(v('3.1'), v('3.1')), 0)
})

t.test('a part matches by component prefix; the longest wins', async (t) => {
  const parts = ['5.6', '5.6.12', '5.6.12.1', '5.6.1', '5'].map((text) => ({ text, version: v(text) }))
  const match = (requested: string): string | undefined => bestMatchingPart(parts, v(requested))?.text
  t.equal(match('5.6.12.1'), '5.6.12.1')
  t.equal(match('5.6.12.2'), '5.6.12')
  t.equal(match('5.6.12'), '5.6.12')
  t.equal(match('5.6.1'), '5.6.1')
  t.equal(match('5.6.1.7'), '5.6.1')
  t.equal(match('5.6.2'), '5.6')
  t.equal(match('5.7'), '5')
  t.equal(match('6.0'), undefined)
  const withoutOne = parts.filter((p) => p.text !== '5.6.1')
  t.equal(bestMatchingPart(withoutOne, v('5.6.1'))?.text, '5.6', '5.6.1 matches 5.6, never 5.6.12')
  t.equal(isPrefixOf(v('5.6.12'), v('5.6.1')), false)
  t.equal(isPrefixOf(v('5.6'), v('5.61')), false)
})

t.test('parseVersion agrees with the rule written as a regular expression', async (t) => {
  const reference = (text: string): number[] | null => {
    const parts = text.split('.')
    if (parts.length > 8 || !parts.every((part) => /^(0|[1-9]\d{0,8})$/.test(part))) return null
    return parts.map(Number)
  }
  let seed = 3
  const next = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return (seed >> 8) % n }
  const characters = '0123456789..........0-+ a'
  let agree = 0
  let versions = 0
  for (let n = 0; n < 20000; n++) {
    let text = ''
    for (let length = next(24); length > 0; length--) text += characters[next(characters.length)]
    const got = parseVersion(text)
    if (JSON.stringify(got) === JSON.stringify(reference(text))) agree++
    else t.fail(`${JSON.stringify(text)}: ${JSON.stringify(got)}`)
    if (got !== null) versions++
  }
  t.equal(agree, 20000)
  t.ok(versions > 500, `versions and non-versions both drawn (${versions} versions)`)
  t.same(parseVersion('123456789.0'), [123456789, 0])
  t.equal(parseVersion('1234567890'), null, 'ten digits')
})
