import t from 'tap'
import { RateLimiter } from '../../../src/routes/iupdate/rate-limit.js'

t.test('at most max requests per address in a window from its first request', async (t) => {
  const limiter = new RateLimiter(3, 60_000)
  const start = 1_000_000
  t.same([1, 2, 3].map((i) => limiter.take('10.0.0.1', start + i)), [0, 0, 0])
  t.equal(limiter.take('10.0.0.1', start + 10), 60, 'the fourth waits for the rest of the window, in whole seconds')
  t.equal(limiter.take('10.0.0.1', start + 59_500), 1)
  t.equal(limiter.take('10.0.0.2', start + 20), 0, 'another address has its own budget')
  t.equal(limiter.take('10.0.0.1', start + 60_001), 0, 'a new window once the first has ended')
  t.same([0, 1].map((i) => limiter.take('10.0.0.1', start + 60_002 + i)), [0, 0])
  t.ok(limiter.take('10.0.0.1', start + 60_010) > 0)
})

t.test('addresses are counted as @fastify/rate-limit counts them: IPv6 by its /64, IPv4-mapped as IPv4', async (t) => {
  const limiter = new RateLimiter(2, 60_000)
  t.equal(limiter.take('2001:db8:1:2::1', 0), 0)
  t.equal(limiter.take('2001:db8:1:2:ffff::9', 0), 0)
  t.ok(limiter.take('2001:DB8:1:2::abcd', 0) > 0, 'the same /64, whatever its spelling')
  t.equal(limiter.take('2001:db8:1:3::1', 0), 0, 'another /64')
  t.equal(limiter.take('::ffff:192.0.2.7', 0), 0)
  t.equal(limiter.take('192.0.2.7', 0), 0)
  t.ok(limiter.take('192.0.2.7', 0) > 0, 'an IPv4-mapped address and its IPv4 address are one client')
})

t.test('memory stays bounded: ended windows go first, then the addresses counted longest', async (t) => {
  const limiter = new RateLimiter(1, 1_000, 100)
  for (let i = 0; i < 100; i++) limiter.take(`10.1.0.${i}`, 0)
  t.equal(limiter.size, 100)
  for (let i = 0; i < 50; i++) limiter.take(`10.2.0.${i}`, 500)
  t.ok(limiter.size <= 100, `at most the bound (${limiter.size})`)
  t.ok(limiter.take('10.2.0.49', 600) > 0, 'a recent address keeps its count')
  limiter.take('10.3.0.1', 2_000)
  t.equal(limiter.size, 1, 'once every window has ended, making room drops them all')
})
