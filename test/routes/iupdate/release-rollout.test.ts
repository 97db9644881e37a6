import t from 'tap'
import { cohortPlace } from '../../../src/catalog/release-control.js'
import { adminApi } from '../../helpers/admin.js'
import { adminQuery } from '../../helpers/db.js'
import { buildReleaseWorld, insertPcids, poll, pollAll, PROGRAM } from '../../helpers/release.js'

// Release control through f=qrymaxver (docs/protocol.md §3, "Release control"): rollouts and halts.
// Tens of thousands of polls on a shared machine: more time than tap's default.
t.setTimeout(300_000)
const PCS = 10_000
const v = (version: string): string => `/api/v1/programs/${PROGRAM}/versions/${version}`

function share (offers: Array<{ ok: string }>, version: string): number {
  return offers.filter((o) => o.ok === version).length / offers.length * 100
}

t.test('a staged rollout over 10,000 PCs: 30% within 2 points, raising it keeps every PC in, the others get the previous version', async (t) => {
  const world = await buildReleaseWorld(t)
  const pcids = await insertPcids(world.databaseUrl, PCS)
  t.equal((await adminApi(world.app, 'PATCH', v('3.0'), { rollout: 30 })).status, 200)

  const at30 = await pollAll(world.app, pcids, '1.0')
  const in30 = new Set(pcids.filter((_, i) => at30[i].ok === '3.0'))
  t.ok(Math.abs(share(at30, '3.0') - 30) <= 2, `30% rollout: ${share(at30, '3.0').toFixed(2)}% offered 3.0`)
  t.same(new Set(at30.map((o) => o.ok)), new Set(['3.0', '2.5']), 'the others are offered the previous version, not nothing')
  t.ok(at30.every((o) => o.kind === 'version'))
  t.same(await pollAll(world.app, pcids.slice(0, 500), '1.0'), at30.slice(0, 500), 'the same answer on the next poll: no PC flips')

  t.equal((await adminApi(world.app, 'PATCH', v('3.0'), { rollout: 60 })).status, 200)
  const at60 = await pollAll(world.app, pcids, '1.0')
  t.ok(Math.abs(share(at60, '3.0') - 60) <= 2, `60%: ${share(at60, '3.0').toFixed(2)}%`)
  t.ok(pcids.every((pcid, i) => !in30.has(pcid) || at60[i].ok === '3.0'), 'every PC in at 30% is still in at 60%')

  const view = await adminApi(world.app, 'GET', `${v('3.0')}/rollout`)
  t.match(view.json, { settings: { rollout: 60, channel: 'stable', requiredStep: false, minFromVersion: null, autoHalt: null, rolloutSchedule: [] }, state: 'rolling', haltReason: null, effectiveRollout: 60, downloads: { started: 0, delivered: 0, failed: 0 } })
  t.equal(view.json.offered, at60.filter((o) => o.ok === '3.0').length, 'offered counts the PCs whose last answer offered it')
  const audit = await adminQuery<{ action: string, details: { rollout: number } }>('SELECT action, details FROM audit_log WHERE target = $1 ORDER BY id', [`${PROGRAM}/3.0`], world.databaseUrl)
  t.same(audit.map((a) => [a.action, a.details.rollout]), [['version.update', 30], ['version.update', 60]])
})

t.test('a halt on one instance is seen by another within CATALOG_REFRESH_MS; resume brings the rollout back', async (t) => {
  const REFRESH = 500
  const a = await buildReleaseWorld(t, { CATALOG_REFRESH_MS: String(REFRESH) })
  const b = await buildReleaseWorld(t, { CATALOG_REFRESH_MS: String(REFRESH) }, { databaseUrl: a.databaseUrl, root: a.root })
  const pcids = await insertPcids(a.databaseUrl, PCS)
  await adminApi(a.app, 'PATCH', v('3.0'), { rollout: 50 })
  const insiders = pcids.filter((pcid) => cohortPlace(PROGRAM, pcid) < 50)
  await new Promise((resolve) => setTimeout(resolve, REFRESH * 2))
  const before = await pollAll(b.app, pcids, '2.0')
  t.ok(Math.abs(share(before, '3.0') - 50) <= 2, 'instance B follows the rollout set through A')

  const halted = await adminApi(a.app, 'POST', `${v('3.0')}/halt`, { reason: 'crash on start' })
  t.match(halted.json, { state: 'halted', haltReason: 'crash on start', rollout: 50 })
  const haltedAt = Date.now()
  // One refresh period, plus the reload's own query on a busy machine.
  await new Promise((resolve) => setTimeout(resolve, REFRESH + 250))
  t.ok(Date.now() - haltedAt < REFRESH * 2)
  const during = await pollAll(b.app, pcids, '2.0')
  t.equal(during.filter((o) => o.ok === '3.0').length, 0, 'halted: no PC is offered 3.0 on B')
  t.ok(during.every((o) => o.ok === '2.5' && o.kind === 'version'), 'held back PCs get the previous release')
  t.equal((await poll(b.app, insiders[0], '3.0')).ok, '3.0', 'a PC running the halted version keeps it')

  await adminApi(a.app, 'POST', `${v('3.0')}/resume`)
  await new Promise((resolve) => setTimeout(resolve, REFRESH + 250))
  const after = await pollAll(b.app, insiders, '2.0')
  t.ok(after.every((o) => o.ok === '3.0'), 'resumed: the same cohort gets it again')
  const audit = await adminQuery<{ action: string }>('SELECT action FROM audit_log WHERE target = $1 ORDER BY id', [`${PROGRAM}/3.0`], a.databaseUrl)
  t.same(audit.map((e) => e.action), ['version.update', 'version.halt', 'version.resume'])
})
