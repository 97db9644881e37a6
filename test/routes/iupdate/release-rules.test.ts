import t from 'tap'
import { cohortPlace } from '../../../src/catalog/release-control.js'
import { adminApi } from '../../helpers/admin.js'
import { buildReleaseWorld, insertPcids, poll, pollAll, PROGRAM } from '../../helpers/release.js'
import { writeTree } from '../../helpers/tree.js'

// Release control through f=qrymaxver (docs/protocol.md §3, "Release control"): stepping
// stones, minFromVersion, the rules together, and a program without settings.
t.setTimeout(300_000)
// Every PC gets the same rule here (no shares are measured): 2,000 of them show it.
const PCS = 2_000
const v = (version: string): string => `/api/v1/programs/${PROGRAM}/versions/${version}`

t.test('a stepping stone is offered before the newest version, to every PC below it', async (t) => {
  const world = await buildReleaseWorld(t)
  const pcids = await insertPcids(world.databaseUrl, PCS)
  t.equal((await adminApi(world.app, 'PATCH', v('2.0'), { requiredStep: true })).status, 200)
  const below = await pollAll(world.app, pcids, '1.0')
  t.ok(below.every((o) => o.ok === '2.0' && o.kind === 'version'), 'every PC at 1.0 is offered the stepping stone 2.0')
  t.equal((await poll(world.app, pcids[0], '1.9.9')).ok, '2.0')
  t.equal((await poll(world.app, pcids[0], '2.0')).ok, '3.0', 'at the stone: the newest')
  t.equal((await poll(world.app, pcids[0], '2.1')).ok, '3.0')

  const key = await world.license()
  const entitled = await poll(world.app, pcids[1], '1.0', key)
  t.same(entitled.files, [`/ftp/${PROGRAM}/2.0/setup.exe`], 'the files listed are the stone\'s')
  t.ok(entitled.license)

  await adminApi(world.app, 'PATCH', v('2.5'), { requiredStep: true })
  t.equal((await poll(world.app, pcids[0], '1.0')).ok, '2.0', 'the lowest stone above the client first')
  t.equal((await poll(world.app, pcids[0], '2.0')).ok, '2.5', 'then the next')
  await adminApi(world.app, 'POST', `${v('2.0')}/yank`)
  t.equal((await poll(world.app, pcids[0], '1.0')).ok, '2.5', 'a yanked stone is no stone')
})

t.test('minFromVersion: clients below it are not offered the version, and get the newest they may take', async (t) => {
  const world = await buildReleaseWorld(t)
  const pcids = await insertPcids(world.databaseUrl, PCS)
  t.equal((await adminApi(world.app, 'PATCH', v('3.0'), { minFromVersion: '2.0' })).status, 200)
  const old = await pollAll(world.app, pcids, '1.5')
  t.ok(old.every((o) => o.ok === '2.5'), 'from 1.5: 2.5, not 3.0')
  const recent = await pollAll(world.app, pcids.slice(0, 1000), '2.0')
  t.ok(recent.every((o) => o.ok === '3.0'), 'from 2.0: 3.0')
  t.equal((await adminApi(world.app, 'PATCH', v('3.0'), { minFromVersion: 'two' })).status, 400)
  t.equal((await adminApi(world.app, 'PATCH', v('3.0'), { minFromVersion: null })).status, 200)
  t.equal((await poll(world.app, pcids[0], '1.5')).ok, '3.0', 'null lifts it')
})

t.test('the rules together: a stone, a rollout, a beta and a pin, in the order of docs/protocol.md §3', async (t) => {
  const world = await buildReleaseWorld(t)
  const pcids = await insertPcids(world.databaseUrl, 400)
  await adminApi(world.app, 'PATCH', v('2.0'), { requiredStep: true })
  await adminApi(world.app, 'PATCH', v('3.0'), { rollout: 50 })
  const inside = pcids.find((p) => cohortPlace(PROGRAM, p) < 50) ?? ''
  const outside = pcids.find((p) => cohortPlace(PROGRAM, p) >= 50) ?? ''
  t.equal((await poll(world.app, inside, '1.0')).ok, '2.0', 'the stone comes before the rollout')
  t.equal((await poll(world.app, inside, '2.0')).ok, '3.0')
  t.equal((await poll(world.app, outside, '2.0')).ok, '2.5', 'outside the rollout: the previous version')
  const key = await world.license()
  await adminApi(world.app, 'PATCH', `/api/v1/licenses/${key}`, { pin: '2' })
  t.equal((await poll(world.app, inside, '2.0', key)).ok, '2.5', 'the pin holds inside the rollout')
})

t.test('a program with none of these settings answers byte for byte as before', async (t) => {
  const world = await buildReleaseWorld(t)
  await writeTree(world.root, { 'plain/1.0/a.exe': 'a', 'plain/2.0/b.exe': 'b', 'plain/updates/1.0/p.exe': 'p' })
  await world.app.repository.rescan('plain')
  await world.app.prisma.program.create({ data: { name: 'plain' } })
  await world.app.catalog.refresh()
  const [pcid] = await insertPcids(world.databaseUrl, 1)
  const ask = async (version: string): Promise<string> => (await world.app.inject({ url: `/myweb/iupdate.php?f=qrymaxver&prog[]=plain&version[]=${version}&pcid=${pcid}&v=1` })).body
  const expected = {
    '1.0': `PCID=${pcid}\r\nPROG[0]=plain\r\nOK[0]=2.0\r\nLICENSE[0]=\r\nKIND[0]=version\r\nREASON[0]=NO_LICENSE\r\n`,
    '2.0': `PCID=${pcid}\r\nPROG[0]=plain\r\nOK[0]=2.0\r\nLICENSE[0]=\r\nKIND[0]=none\r\nREASON[0]=NO_LICENSE\r\n`,
    '1.0.5': `PCID=${pcid}\r\nPROG[0]=plain\r\nOK[0]=2.0\r\nLICENSE[0]=\r\nKIND[0]=version\r\nREASON[0]=NO_LICENSE\r\n`
  }
  const before = { '1.0': await ask('1.0'), '2.0': await ask('2.0'), '1.0.5': await ask('1.0.5') }
  t.same(before, expected, 'the answers of docs/protocol.md §3 without release control')

  // Every setting on another program; the neutral values written on this one.
  await adminApi(world.app, 'PATCH', v('3.0'), { rollout: 10, channel: 'beta', minFromVersion: '2.0', autoHalt: { maxFailureRate: 0.1, minDownloads: 10 } })
  await adminApi(world.app, 'PATCH', v('2.0'), { requiredStep: true })
  await adminApi(world.app, 'POST', `${v('2.5')}/halt`)
  await adminApi(world.app, 'PATCH', '/api/v1/programs/plain/versions/2.0', { rollout: 100, channel: 'stable', requiredStep: false, minFromVersion: null, rolloutSchedule: [], autoHalt: null })
  await adminApi(world.app, 'PATCH', `/api/v1/pcids/${pcid}`, { channel: 'beta' })
  t.same({ '1.0': await ask('1.0'), '2.0': await ask('2.0'), '1.0.5': await ask('1.0.5') }, before, 'the same bytes with settings elsewhere')
  t.notOk(world.app.catalog.isControlled('plain'))
})
