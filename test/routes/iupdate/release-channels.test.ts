import t from 'tap'
import { adminApi } from '../../helpers/admin.js'
import { adminQuery } from '../../helpers/db.js'
import { buildReleaseWorld, insertPcids, poll, pollAll, PROGRAM } from '../../helpers/release.js'
import { writeTree } from '../../helpers/tree.js'

// Release control through f=qrymaxver (docs/protocol.md §3, "Release control"): a license's
// pin, and the beta channel of licenses and PCIDs.
t.setTimeout(300_000)
// Every stable PC is refused the beta (no shares are measured): 2,000 of them show it.
const PCS = 2_000
const v = (version: string): string => `/api/v1/programs/${PROGRAM}/versions/${version}`

t.test('a pinned license stays within its prefix; null lifts the pin', async (t) => {
  const world = await buildReleaseWorld(t)
  const pcids = await insertPcids(world.databaseUrl, 2000)
  const pinned = await world.license()
  const other = await world.license()
  const bad = await adminApi(world.app, 'PATCH', `/api/v1/licenses/${pinned}`, { pin: '2.x' })
  t.equal(bad.status, 400, 'a pin is a version prefix')
  const set = await adminApi(world.app, 'PATCH', `/api/v1/licenses/${pinned}`, { pin: '2' })
  t.equal(set.status, 200)
  t.equal(set.json.pin, '2')
  for (const pcid of pcids.slice(0, 200)) {
    const offer = await poll(world.app, pcid, '1.0', pinned)
    if (offer.ok !== '2.5' || offer.files[0] !== `/ftp/${PROGRAM}/2.5/setup.exe`) t.fail(`pinned to 2: ${offer.ok}`)
  }
  t.pass('200 PCs of the pinned license are offered 2.5, the newest of 2.x, with its files')
  t.equal((await poll(world.app, pcids[300], '1.0', other)).ok, '3.0', 'another license of the program is not pinned')
  await adminApi(world.app, 'PATCH', `/api/v1/licenses/${pinned}`, { pin: '2.0' })
  t.equal((await poll(world.app, pcids[0], '1.0', pinned)).ok, '2.0', 'pin 2.0 admits 2.0 and not 2.5')
  t.equal((await poll(world.app, pcids[0], '3.0', pinned)).ok, '3.0', 'a pin never takes back what a PC runs')
  await adminApi(world.app, 'PATCH', `/api/v1/licenses/${pinned}`, { pin: null })
  t.equal((await poll(world.app, pcids[0], '1.0', pinned)).ok, '3.0', 'lifted')
  const audit = await adminQuery<{ details: { pin: string | null } }>('SELECT details FROM audit_log WHERE action = \'license.update\' AND target = $1 ORDER BY id', [pinned], world.databaseUrl)
  t.same(audit.map((a) => a.details.pin), ['2', '2.0', null])
})

t.test('a beta version reaches beta PCs only (by license or by PCID); beta PCs see stable versions too', async (t) => {
  const world = await buildReleaseWorld(t)
  await writeTree(world.root, { 'app/3.1/setup.exe': 'beta 3.1' })
  await world.app.repository.rescan(PROGRAM)
  const pcids = await insertPcids(world.databaseUrl, PCS)
  t.equal((await adminApi(world.app, 'PATCH', v('3.1'), { channel: 'beta' })).status, 200)
  const stable = await pollAll(world.app, pcids, '1.0')
  t.ok(stable.every((o) => o.ok === '3.0'), 'no stable PC of 2,000 is offered the beta')

  const betaPcids = pcids.slice(0, 100)
  for (const pcid of betaPcids) t.equal((await adminApi(world.app, 'PATCH', `/api/v1/pcids/${pcid}`, { channel: 'beta' })).status, 200)
  const after = await pollAll(world.app, pcids.slice(0, 1000), '1.0')
  t.ok(after.every((o, i) => o.ok === (i < 100 ? '3.1' : '3.0')), 'exactly the 100 beta PCIDs are offered 3.1')

  const key = await world.license()
  t.equal((await poll(world.app, pcids[500], '1.0', key)).ok, '3.0')
  await adminApi(world.app, 'PATCH', `/api/v1/licenses/${key}`, { channel: 'beta' })
  const viaLicense = await poll(world.app, pcids[500], '1.0', key)
  t.equal(viaLicense.ok, '3.1', 'a PC of a beta license is offered the beta')
  t.same(viaLicense.files, [`/ftp/${PROGRAM}/3.1/setup.exe`])
  t.equal((await poll(world.app, pcids[501], '1.0')).ok, '3.0', 'the same PC\'s neighbours are not')

  await adminApi(world.app, 'POST', `${v('3.1')}/yank`)
  t.equal((await poll(world.app, betaPcids[0], '1.0')).ok, '3.0', 'a beta PC sees stable versions')
  const detail = await adminApi(world.app, 'GET', `/api/v1/pcids/${betaPcids[0]}`)
  t.equal(detail.json.channel, 'beta')
  t.equal((await adminApi(world.app, 'PATCH', '/api/v1/pcids/7Q2M9K4XWJ3HN8RT5VCZ6DPA1E', { channel: 'beta' })).status, 404)
  t.equal((await adminApi(world.app, 'PATCH', `/api/v1/pcids/${betaPcids[0]}`, { channel: 'alpha' })).status, 400)
})

t.test('a pin or channel set through one instance applies on another within CATALOG_REFRESH_MS, not LICENSE_CACHE_MS', async (t) => {
  const REFRESH = 300
  const env = { CATALOG_REFRESH_MS: String(REFRESH), LICENSE_CACHE_MS: '600000' }
  const a = await buildReleaseWorld(t, env)
  const b = await buildReleaseWorld(t, env, { databaseUrl: a.databaseUrl, root: a.root })
  await writeTree(a.root, { 'app/3.1/setup.exe': 'beta 3.1' })
  await a.app.repository.rescan(PROGRAM)
  await b.app.repository.rescan(PROGRAM)
  await adminApi(a.app, 'PATCH', v('3.1'), { channel: 'beta' })
  const [pcid, other] = await insertPcids(a.databaseUrl, 2)
  const key = await a.license()
  await new Promise((resolve) => setTimeout(resolve, REFRESH * 2))
  t.equal((await poll(b.app, pcid, '1.0', key)).ok, '3.0', 'B has read and keeps the license')
  t.equal((await poll(b.app, other, '1.0')).ok, '3.0', 'and the PCID')

  await adminApi(a.app, 'PATCH', `/api/v1/licenses/${key}`, { pin: '2' })
  await adminApi(a.app, 'PATCH', `/api/v1/pcids/${other}`, { channel: 'beta' })
  await new Promise((resolve) => setTimeout(resolve, REFRESH + 250))
  t.equal((await poll(b.app, pcid, '1.0', key)).ok, '2.5', 'the pin holds on B')
  t.equal((await poll(b.app, other, '1.0')).ok, '3.1', 'the beta PCID gets the beta on B')
})
