import t from 'tap'
import { generateKey, validateKey } from '../../src/license/key.js'
import { checkKey } from '../../src/updates/query.js'

t.test('checkKey answers as validateKey does, the first time and again', async (t) => {
  const key = generateKey('ishop')
  const typo = key.slice(0, -1) + (key.endsWith('0') ? '1' : '0')
  const inputs = [key, key.toLowerCase(), key.replace(/-/g, ''), key.replace(/-/g, ' '), typo, 'nonsense', '', 'x'.repeat(64), `${key}${'-'.repeat(40)}`, 'y'.repeat(500)]
  for (const input of inputs) {
    t.same(checkKey(input), validateKey(input), `first: ${input.slice(0, 40)}`)
    t.same(checkKey(input), validateKey(input), `again: ${input.slice(0, 40)}`)
  }
  t.match(checkKey(key.toLowerCase()), { valid: true, key })
  t.match(checkKey(typo), { valid: false, problem: 'CHECK' })
  t.match(checkKey('y'.repeat(500)), { valid: false, problem: 'FORMAT' })
})

t.test('checkKey after more different serials than it keeps: the first still answers right', async (t) => {
  const first = generateKey('ishop')
  t.match(checkKey(first), { valid: true, key: first })
  for (let i = 0; i < 60_000; i++) checkKey(`SERIAL-${i}`)
  t.match(checkKey(first), { valid: true, key: first })
  t.match(checkKey('SERIAL-7'), { valid: false })
})
