import t from 'tap'
import { BoundedRateStore } from '../../src/http/rate-limit.js'
import { buildTestApp } from '../helpers/app.js'

/** One request from `key`: its count in the window. */
function take (store: BoundedRateStore, key: string, windowMs = 60_000, max = 1): number {
  let current = 0
  store.incr(key, (_err, result) => { current = result.current }, windowMs, max)
  return current
}

t.test('the store stays bounded and does not forget a client over its limit when it fills', async (t) => {
  const store = new BoundedRateStore(100)
  take(store, 'limited')
  take(store, 'limited')
  t.equal(take(store, 'limited'), 3, 'over the limit of 1')
  for (let i = 0; i < 1000; i++) take(store, `10.0.${i >> 8}.${i & 255}`)
  t.ok(store.size <= 100, `at most the bound (${store.size})`)
  t.equal(take(store, 'limited'), 4, 'the limited client is still counted')
})

t.test('a window ends: ended windows go first when the store fills', async (t) => {
  const store = new BoundedRateStore(10)
  for (let i = 0; i < 10; i++) take(store, `a${i}`, 1)
  await new Promise((resolve) => setTimeout(resolve, 5))
  t.equal(take(store, 'a0', 1), 1, 'a new window')
  take(store, 'b', 1)
  t.ok(store.size <= 10)
})

t.test('an IPv6 client is limited by its /64, an IPv4-mapped address as its IPv4 address', async (t) => {
  const { app } = await buildTestApp(t, { RATE_LIMIT_MAX: '2', RATE_LIMIT_WINDOW_MS: '60000' })
  const poll = async (remoteAddress: string): Promise<number> => (await app.inject({ url: '/myweb/iupdate.php?f=getpcid', remoteAddress })).statusCode
  t.same([await poll('2001:db8:1:2::1'), await poll('2001:db8:1:2:ffff::9')], [200, 200])
  t.equal(await poll('2001:DB8:1:2::abcd'), 429, 'the same /64, whatever its spelling')
  t.equal(await poll('2001:db8:1:3::1'), 200, 'another /64')
  t.same([await poll('::ffff:192.0.2.7'), await poll('192.0.2.7')], [200, 200])
  t.equal(await poll('192.0.2.7'), 429, 'an IPv4-mapped address and its IPv4 address are one client')
})
