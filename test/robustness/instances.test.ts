import t from 'tap'
import { buildTestApp, listen } from '../helpers/app.js'
import { adminQuery } from '../helpers/db.js'
import { buildWorld, TOKEN_SECRET } from '../helpers/world.js'

// Two servers on one database, as behind a load balancer: they agree on seats and on links.
t.test('two instances under concurrent load agree on seats and one-shot links', async (t) => {
  const world = await buildWorld(t)
  const other = await buildTestApp(t, { FTP_ROOT: world.root, REPO_SETTLE_MS: '0', TOKEN_SECRET, RATE_LIMIT_MAX: '100000' }, { databaseUrl: world.databaseUrl })
  const bases = [world.base, await listen(other.app)]
  const key = encodeURIComponent(world.keys.entitled) // 5 seats
  const pcids = await Promise.all(Array.from({ length: 40 }, async () => await world.pcid()))

  const ask = async (pcid: string, i: number): Promise<Map<string, string>> => (await world.query(`prog[]=ishop&version[]=2.6.5.1&serial[]=${key}&pcid=${pcid}&v=1`, bases[i % 2])).map
  const first = await Promise.all(pcids.map(async (pcid, i) => await ask(pcid, i)))
  const licensed = pcids.filter((_, i) => first[i].get('LICENSE[0]') !== '')
  t.equal(licensed.length, 5, 'exactly the seat limit got a license, across both instances')
  t.equal(first.filter((m) => m.get('REASON[0]') === 'SEAT_LIMIT').length, 35)
  const seats = await adminQuery('SELECT s.pcid FROM seat s JOIN license l ON l.id = s.license_id WHERE l.key = $1', [world.keys.entitled], world.databaseUrl)
  t.same(seats.map((s) => s.pcid).sort(), [...licensed].sort(), 'the seats are the licensed PCs')

  // Both instances agree afterwards, in both directions.
  const again = await Promise.all(pcids.map(async (pcid, i) => await ask(pcid, i + 1)))
  t.same(pcids.filter((_, i) => again[i].get('LICENSE[0]') !== '').sort(), [...licensed].sort())

  // Links: each downloaded whole through one instance is spent on both.
  const urls = licensed.map((_, i) => again[pcids.indexOf(licensed[i])].get('URL[0][2]') ?? '')
  const onOther = (url: string, i: number): string => url.replace(world.base, bases[(i + 1) % 2]).replace(bases[1], bases[(i + 1) % 2])
  const sizes = await Promise.all(urls.map(async (url, i) => (await (await fetch(url.replace(world.base, bases[i % 2]))).arrayBuffer()).byteLength))
  t.ok(sizes.every((size) => size === world.setup.length), 'all delivered whole')
  for (let attempt = 0; attempt < 100; attempt++) {
    const [{ n }] = await adminQuery('SELECT count(*)::int AS n FROM download WHERE completed_at IS NOT NULL', [], world.databaseUrl)
    if (n === urls.length) break
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  const statuses = await Promise.all(urls.map(async (url, i) => (await fetch(onOther(url, i), { headers: { range: 'bytes=0-0' } })).status))
  t.same(statuses, urls.map(() => 410), 'spent on the other instance too')
  const records = await adminQuery('SELECT token_hash, count(*)::int AS n FROM download GROUP BY token_hash', [], world.databaseUrl)
  t.equal(records.length, urls.length)
  t.ok(records.every((r) => r.n === 1), 'one record per link')

  // A link confirmed through one instance is dead on the other.
  const fresh = (await ask(licensed[0], 0)).get('URL[0][1]') ?? ''
  const token = new URL(fresh).searchParams.get('t') ?? ''
  await fetch(fresh.replace(world.base, bases[0]), { headers: { range: 'bytes=0-0' } })
  t.equal((await fetch(`${bases[1]}/myweb/iupdate.php?f=dlconfirm&t=${token}`, { method: 'POST' })).status, 200)
  t.equal((await fetch(fresh.replace(world.base, bases[0]))).status, 410)
})
