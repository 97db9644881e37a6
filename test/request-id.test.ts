import type { RawRequestDefaultExpression } from 'fastify'
import t from 'tap'
import { requestIdGenerator } from '../src/request-id.js'

const request = (headers: Record<string, string> = {}): RawRequestDefaultExpression => ({ headers }) as unknown as RawRequestDefaultExpression

t.test('ids: a proxy\'s when sane, else this instance\'s prefix and a counter', async (t) => {
  const ids = requestIdGenerator()
  t.equal(ids(request({ 'x-request-id': 'lb-42.a_b' })), 'lb-42.a_b')
  const first = ids(request())
  const second = ids(request({ 'x-request-id': 'no spaces' }))
  const third = ids(request({ 'x-request-id': 'x'.repeat(65) }))
  t.match(first, /^[0-9a-f]{12}-1$/)
  t.equal(second, first.replace(/-1$/, '-2'), 'a bad proxy id is replaced')
  t.equal(third, first.replace(/-1$/, '-3'), 'so is an overlong one')
  for (let i = 0; i < 40; i++) ids(request())
  t.equal(ids(request()).split('-')[1], (44).toString(36), 'the counter is base 36')
  const other = requestIdGenerator()
  t.not(other(request()).split('-')[0], first.split('-')[0], 'another instance draws another prefix')
})
