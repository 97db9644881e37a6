import t from 'tap'
import { cohortPlace } from '../../../src/catalog/release-control.js'
import { adminApi } from '../../helpers/admin.js'
import { adminQuery } from '../../helpers/db.js'
import { buildReleaseWorld, insertPcids, poll, pollAll, PROGRAM, sleep, until } from '../../helpers/release.js'

// What release control does by itself (docs/protocol.md §3): the automatic halt on failing
// downloads and the rollout schedule, run by the periodic job of every instance; and
// f=newveravail following the version offered.
t.setTimeout(300_000)
const JOB = 100
/** Long enough for several runs of the job on each instance (every JOB ms) and a catalog refresh. */
const SEVERAL_RUNS = 1000
const v = (version: string): string => `/api/v1/programs/${PROGRAM}/versions/${version}`

/** Download records of 3.0's installer, as the ftp/ route and f=dlconfirm leave them. */
async function records (databaseUrl: string, count: number, state: 'delivered' | 'failed' | 'stalled' | 'running'): Promise<void> {
  const started = state === 'stalled' ? 'now() - interval \'2 minutes\'' : 'now()'
  const completed = state === 'delivered' ? 'now()' : 'NULL'
  const failed = state === 'failed' ? 'now()' : 'NULL'
  await adminQuery(`INSERT INTO download (id, pcid, program, folder, path, size, started_at, completed_at, failed_at, expires_at)
    SELECT gen_random_uuid(), 'PC' || g, $1, '3.0', $1 || '/3.0/setup.exe', 13, ${started}, ${completed}, ${failed}, now() + interval '1 day'
      FROM generate_series(1, $2) g`, [PROGRAM, count], databaseUrl)
}

t.test('an automatic halt fires above its rate once the minimum is reached, once across instances, with its reason audited', async (t) => {
  const env = { DOWNLOAD_STALL_MINUTES: '1', ROLLOUT_JOB_INTERVAL_MS: String(JOB), CATALOG_REFRESH_MS: '200' }
  const a = await buildReleaseWorld(t, env)
  const b = await buildReleaseWorld(t, env, { databaseUrl: a.databaseUrl, root: a.root })
  const pcids = await insertPcids(a.databaseUrl, 10_000)
  const patched = await adminApi(a.app, 'PATCH', v('3.0'), { releasedAt: '2026-01-01', rollout: 50, autoHalt: { maxFailureRate: 0.2, minDownloads: 50 } })
  t.match(patched.json, { rollout: 50, autoHalt: { maxFailureRate: 0.2, minDownloads: 50 }, state: 'rolling' })
  await b.app.catalog.refresh()
  const inside = pcids.filter((p) => cohortPlace(PROGRAM, p) < 50)

  // Through the public endpoint: one download delivered, one reported failed by the client.
  const key = await a.license()
  const [first, second] = await Promise.all([poll(a.app, inside[0], '2.0', key), poll(a.app, inside[1], '2.0', key)])
  t.equal(first.ok, '3.0')
  const firstLink = new URL(first.body.match(/URL\[0\]\[0\]=(\S+)/)?.[1] ?? '')
  t.equal((await a.app.inject({ url: firstLink.pathname + firstLink.search })).body, 'installer 3.0')
  const link = new URL(second.body.match(/URL\[0\]\[0\]=(\S+)/)?.[1] ?? '')
  t.equal((await a.app.inject({ url: link.pathname + link.search, headers: { range: 'bytes=0-3' } })).statusCode, 206)
  const failed = await a.app.inject({ method: 'POST', url: `/myweb/iupdate.php?f=dlconfirm&ok=0&err=disk+full&${link.search.slice(1)}` })
  t.equal(failed.body.trim(), 'DLCONFIRM=FAILED')

  await records(a.databaseUrl, 30, 'failed')
  await records(a.databaseUrl, 5, 'running')
  await sleep(SEVERAL_RUNS)
  t.equal((await adminApi(a.app, 'GET', `${v('3.0')}/rollout`)).json.state, 'rolling', '31 of 32 failed, below the minimum of 50: no halt')

  await records(a.databaseUrl, 123, 'delivered')
  await sleep(SEVERAL_RUNS)
  const atRate = await adminApi(a.app, 'GET', `${v('3.0')}/rollout`)
  t.match(atRate.json, { state: 'rolling', downloads: { delivered: 124, failed: 31 } }, 'exactly 20% (31 of 155): not above the threshold')

  await records(a.databaseUrl, 1, 'stalled')
  await until(async () => (await adminApi(b.app, 'GET', `${v('3.0')}/rollout`)).json.state === 'halted', 10_000)
  await sleep(SEVERAL_RUNS)
  const halted = await adminApi(b.app, 'GET', `${v('3.0')}/rollout`)
  t.match(halted.json, { state: 'halted', haltReason: /^automatic halt: 32 of 156 downloads failed/, downloads: { started: 161, delivered: 124, failed: 32 } }, 'a started download not delivered within the stall window counts as failed: 20.5% halts')
  const audit = await adminQuery<{ actor: string, action: string, details: { reason: string, automatic: boolean } }>('SELECT actor, action, details FROM audit_log WHERE action = \'version.halt\'', [], a.databaseUrl)
  t.equal(audit.length, 1, 'two instances, one halt, one audit entry')
  t.match(audit[0], { actor: 'release-control', details: { automatic: true, reason: /32 of 156/ } })

  const offers = await pollAll(b.app, inside.slice(0, 2000), '2.0')
  t.ok(offers.every((o) => o.ok === '2.5'), 'halted: the PCs of the cohort are offered the previous version')
  t.equal((await a.app.inject({ url: link.pathname + link.search, headers: { range: 'bytes=4-' } })).statusCode, 206, 'a link handed out before the halt still resumes')

  await adminApi(a.app, 'POST', `${v('3.0')}/resume`)
  await sleep(SEVERAL_RUNS)
  t.match((await adminApi(b.app, 'GET', `${v('3.0')}/rollout`)).json, { state: 'rolling', downloads: { started: 0 } }, 'resumed: the failures before it no longer count')
  t.equal((await poll(b.app, inside[2], '2.0')).ok, '3.0')
})

t.test('a rollout schedule: due steps apply at once, and the job writes each step once across instances', async (t) => {
  const env = { ROLLOUT_JOB_INTERVAL_MS: String(JOB), CATALOG_REFRESH_MS: '200' }
  const a = await buildReleaseWorld(t, env)
  const b = await buildReleaseWorld(t, env, { databaseUrl: a.databaseUrl, root: a.root })
  const pcids = await insertPcids(a.databaseUrl, 2_000)
  const schedule = [{ at: new Date(Date.now() + 3600_000).toISOString(), rollout: 100 }, { at: new Date(Date.now() - 60_000).toISOString(), rollout: 20 }]
  const set = await adminApi(a.app, 'PATCH', v('3.0'), { rollout: 0, rolloutSchedule: schedule })
  t.equal(set.status, 200)
  t.same(set.json.rolloutSchedule.map((s: { rollout: number }) => s.rollout), [20, 100], 'kept in time order')
  t.equal(set.json.state, 'rolling')
  const offers = await pollAll(a.app, pcids, '2.0')
  t.ok(offers.every((o, i) => o.ok === (cohortPlace(PROGRAM, pcids[i]) < 20 ? '3.0' : '2.5')), 'the due step (20%) is in force')

  const [row] = await adminQuery<{ rollout: number, rollout_schedule: unknown }>('SELECT rollout, rollout_schedule FROM program_version WHERE version = \'3.0\'', [], a.databaseUrl)
  t.same(row, { rollout: 20, rollout_schedule: [{ at: schedule[0].at, rollout: 100 }] }, 'the job wrote the step, which left the schedule')
  const steps = await adminQuery('SELECT actor, details FROM audit_log WHERE action = \'version.rollout.step\'', [], a.databaseUrl)
  t.same(steps, [{ actor: 'release-control', details: { rollout: 20, steps: [schedule[1]] } }], 'two instances running the job: one step, one audit entry')

  const soon = new Date(Date.now() + 1500).toISOString()
  await adminApi(a.app, 'PATCH', v('3.0'), { rolloutSchedule: [{ at: soon, rollout: 100 }] })
  t.equal((await poll(a.app, pcids.find((p) => cohortPlace(PROGRAM, p) >= 20) ?? '', '2.0')).ok, '2.5', 'not yet')
  await until(async () => (await adminApi(b.app, 'GET', `${v('3.0')}/rollout`)).json.settings.rollout === 100, 15_000)
  t.match((await adminApi(b.app, 'GET', `${v('3.0')}/rollout`)).json, { settings: { rollout: 100, rolloutSchedule: [] }, state: 'complete', effectiveRollout: 100 })
  t.ok((await pollAll(b.app, pcids.slice(0, 1000), '2.0')).every((o) => o.ok === '3.0'), 'the step taken by the server offers it to every PC')
  await sleep(SEVERAL_RUNS)
  t.equal((await adminQuery('SELECT 1 FROM audit_log WHERE action = \'version.rollout.step\'', [], a.databaseUrl)).length, 2)
})

t.test('bad settings are refused whole, with problem details, and change nothing', async (t) => {
  const world = await buildReleaseWorld(t)
  for (const body of [{ rollout: 101 }, { rollout: -1 }, { rolloutSchedule: [{ at: 'tomorrow', rollout: 5 }] }, { channel: 'nightly' }, { autoHalt: { maxFailureRate: 1.5, minDownloads: 10 } }, { autoHalt: { maxFailureRate: 0.1 } }, { requiredStep: 'yes' }, { rollout: 50, minFromVersion: '1.x' }]) {
    const res = await adminApi(world.app, 'PATCH', v('3.0'), body)
    t.equal(res.status, 400, JSON.stringify(body))
    t.equal(res.json.status, 400)
  }
  t.equal((await adminApi(world.app, 'GET', v('3.0'))).json.rollout, 100, 'nothing was written')
  t.equal((await adminApi(world.app, 'POST', `${v('9.9')}/halt`, {})).status, 404)
  t.equal((await adminApi(world.app, 'GET', `${v('9.9')}/rollout`)).status, 404)
})

t.test('f=newveravail with pcid names the version that PC is offered', async (t) => {
  const world = await buildReleaseWorld(t)
  const pcids = await insertPcids(world.databaseUrl, 400)
  await adminApi(world.app, 'PATCH', v('3.0'), { rollout: 50 })
  const inside = pcids.find((p) => cohortPlace(PROGRAM, p) < 50) ?? ''
  const outside = pcids.find((p) => cohortPlace(PROGRAM, p) >= 50) ?? ''
  const page = async (extra: string): Promise<string> => (await world.app.inject({ url: `/myweb/iupdate.php?f=newveravail&prog=${PROGRAM}&version=2.0${extra}` })).body
  t.match(await page(`&pcid=${inside}`), '<strong>app 3.0</strong>')
  t.match(await page(`&pcid=${outside}`), '<strong>app 2.5</strong>')
  t.match(await page(''), '<strong>app 2.5</strong>', 'without a pcid: the version every PC is offered')
  t.match(await page('&pcid=nonsense'), '<strong>app 2.5</strong>')
  const key = await world.license()
  await adminApi(world.app, 'PATCH', `/api/v1/licenses/${key}`, { pin: '2.0' })
  await poll(world.app, inside, '2.0', key)
  t.match(await page(`&pcid=${inside}`), '<strong>app 2.0</strong>', 'the pin of the license holding its seat')
})
