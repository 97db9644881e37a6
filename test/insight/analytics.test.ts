import pg from 'pg'
import t from 'tap'
import { ADMIN, adminApi } from '../helpers/admin.js'
import { adminQuery, createTestDatabase } from '../helpers/db.js'
import { buildReleaseWorld, insertPcids, poll, pollAll } from '../helpers/release.js'

const today = (): string => new Date().toISOString().slice(0, 10)

t.test('a day of polls from known PCs, on two instances and across a restart, counts each PC once, by version', async (t) => {
  const a = await buildReleaseWorld(t)
  const b = await buildReleaseWorld(t, {}, { databaseUrl: a.databaseUrl, root: a.root })
  const on1 = await insertPcids(a.databaseUrl, 10)
  const on2 = await insertPcids(a.databaseUrl, 7)
  const on3 = await insertPcids(a.databaseUrl, 4)
  await pollAll(a.app, on1, '1.0')
  await pollAll(a.app, on2, '2.0')
  await a.app.contacts.flush()
  // The same PCs again on the other instance; five of those on 1.0 have updated meanwhile.
  await pollAll(b.app, on1.slice(0, 5), '3.0')
  await pollAll(b.app, [...on1.slice(5), ...on2], '2.0')
  await pollAll(b.app, on3, '3.0')
  await b.app.contacts.flush()
  // A restarted instance (nothing in memory) sees them all again.
  const c = await buildReleaseWorld(t, {}, { databaseUrl: a.databaseUrl, root: a.root })
  await pollAll(c.app, [...on1, ...on2, ...on3], '3.0')
  await c.app.contacts.flush()

  const { status, json } = await adminApi(a.app, 'GET', `/api/v1/analytics/active?program=app&from=${today()}&to=${today()}`)
  t.equal(status, 200)
  t.same(json, { program: 'app', days: [{ day: today(), total: 21, byVersion: { '1.0': 10, '2.0': 7, '3.0': 4 }, byChannel: { stable: 21 } }] }, 'each PC under the version of its first poll of the day')
  const versions = await adminApi(a.app, 'GET', '/api/v1/analytics/versions?program=app')
  t.same(versions.json, { program: 'app', asOf: today(), versions: [{ version: '1.0', installations: 10 }, { version: '2.0', installations: 7 }, { version: '3.0', installations: 4 }] })

  // The next day counts everyone afresh: history is per day.
  const tomorrow = new Date(Date.now() + 86_400_000)
  a.app.contacts.record({ pcid: on1[0], program: 'app', version: '3.0', serial: null })
  await a.app.contacts.flush()
  await adminQuery('UPDATE pcid_program SET active_day = active_day - 1 WHERE pcid = $1', [on1[1]], a.databaseUrl)
  await poll(a.app, on1[1], '3.0')
  await a.app.contacts.flush()
  const days = await adminApi(a.app, 'GET', `/api/v1/analytics/active?program=app&from=${today()}&to=${tomorrow.toISOString().slice(0, 10)}`)
  t.equal(days.json.days.length, 2, 'a day without polls is listed with 0')
  t.same(days.json.days[0].byVersion, { '1.0': 10, '2.0': 7, '3.0': 5 }, 'a PC whose day was yesterday is counted again today, once')
  t.equal(days.json.days[1].total, 0)
})

t.test('adoption counts installations by days since release; bad input is a 400, an unknown version a 404', async (t) => {
  const w = await buildReleaseWorld(t)
  const released = new Date(Date.now() - 3 * 86_400_000)
  await w.app.prisma.programVersion.create({ data: { programId: w.programId, version: '3.0', releasedAt: released } })
  await w.app.catalog.refresh()
  const day = (n: number): string => new Date(released.getTime() + n * 86_400_000).toISOString().slice(0, 10)
  await adminQuery(`INSERT INTO install_day (program, day, version, channel, count) VALUES
    ('app', $1, '3.0', 'stable', 5), ('app', $1, '3.0', 'beta', 1), ('app', $2, '3.0', 'stable', 40), ('app', $2, '2.0', 'stable', 99), ('app', $3, '3.0', 'stable', 7)`,
  [day(0), day(2), day(-1)], w.databaseUrl)
  const { status, json } = await adminApi(w.app, 'GET', '/api/v1/analytics/adoption?program=app&version=3.0')
  t.equal(status, 200)
  t.same(json, { program: 'app', version: '3.0', releasedAt: released.toISOString(), days: [{ daysSinceRelease: 0, installations: 6 }, { daysSinceRelease: 2, installations: 40 }] })
  t.equal((await adminApi(w.app, 'GET', '/api/v1/analytics/adoption?program=app&version=9.9')).status, 404)
  t.equal((await adminApi(w.app, 'GET', '/api/v1/analytics/active?program=app&from=2026-13-01&to=2026-12-01')).status, 400)
  t.equal((await adminApi(w.app, 'GET', '/api/v1/analytics/active?program=app&from=2026-12-02&to=2026-12-01')).status, 400)
  t.equal((await adminApi(w.app, 'GET', '/api/v1/analytics/active?program=app&from=2000-01-01&to=2026-12-01')).status, 400, 'too many days')
  const anonymous = await w.app.inject({ url: '/api/v1/analytics/versions?program=app' })
  t.equal(anonymous.statusCode, 401)
  t.ok(ADMIN)
})

t.test('the funnel of a version matches the polls, links and downloads made', async (t) => {
  const w = await buildReleaseWorld(t)
  const key = await w.license()
  const licensed = await insertPcids(w.databaseUrl, 6)
  const unlicensed = await insertPcids(w.databaseUrl, 3)
  const offers = await Promise.all(licensed.map(async (pcid) => await poll(w.app, pcid, '2.0', key)))
  await pollAll(w.app, unlicensed, '2.0')
  t.ok(offers.every((o) => o.ok === '3.0' && o.files.length === 1), 'licensed PCs got links to 3.0')
  const links = offers.map((o) => o.body.match(/URL\[0\]\[0\]=(\S+)/)?.[1] ?? '')
  // Four start downloading; three get it whole; two confirm; one reports a failure.
  for (const link of links.slice(0, 3)) t.equal((await w.app.inject({ url: new URL(link).pathname + new URL(link).search })).statusCode, 200)
  const partial = new URL(links[3])
  t.equal((await w.app.inject({ url: partial.pathname + partial.search, headers: { range: 'bytes=0-3' } })).statusCode, 206)
  for (const link of links.slice(0, 2)) await w.app.inject({ method: 'POST', url: `/myweb/iupdate.php?f=dlconfirm&t=${new URL(link).searchParams.get('t') ?? ''}` })
  await w.app.inject({ method: 'POST', url: `/myweb/iupdate.php?f=dlconfirm&ok=0&err=disk%20full&t=${partial.searchParams.get('t') ?? ''}` })
  // Two PCs report running it.
  await poll(w.app, licensed[0], '3.0', key)
  await poll(w.app, licensed[1], '3.0', key)
  await w.app.contacts.flush()

  const { status, json } = await adminApi(w.app, 'GET', '/api/v1/analytics/funnel?program=app&version=3.0')
  t.equal(status, 200)
  t.same(json, { program: 'app', version: '3.0', offered: 9, linksIssued: 6, downloadsStarted: 4, delivered: 3, confirmed: 2, failed: 1, topErrors: [{ message: 'disk full', count: 1 }], running: 2 })

  const downloads = await adminApi(w.app, 'GET', '/api/v1/analytics/downloads?program=app')
  t.equal(downloads.json.days.length, 1)
  t.match(downloads.json.days[0], { day: today(), started: 4, delivered: 3, failed: 1 })
  t.ok(downloads.json.days[0].bytes >= 3 * 'installer 3.0'.length + 4, 'bytes sent')

  const license = await adminApi(w.app, 'GET', `/api/v1/analytics/licenses/${key.toLowerCase()}`)
  t.equal(license.status, 200)
  t.match(license.json, { key, seatLimit: 100_000, seatsUsed: 6 })
  t.same(license.json.pcs.map((p: { pcid: string, version: string }) => [p.pcid, p.version]).sort(), licensed.map((pcid, i) => [pcid, i < 2 ? '3.0' : '2.0']).sort())
  t.equal((await adminApi(w.app, 'GET', '/api/v1/analytics/licenses/NOSUCH')).status, 404)
})

t.test('the rollups the funnel and downloads per day read agree with the download records, written concurrently by several connections', async (t) => {
  const url = await createTestDatabase(t)
  const clients = await Promise.all(Array.from({ length: 4 }, async () => { const c = new pg.Client({ connectionString: url }); await c.connect(); return c }))
  t.teardown(async () => { await Promise.all(clients.map(async (c) => await c.end())) })
  // Each connection writes its share of 40 PCs' downloads of three folders, one statement at a time as the server does:
  // created, bytes recorded, received whole, confirmed, failed and then received after all, offered and linked.
  await Promise.all(clients.map(async (c, k) => {
    for (let i = k; i < 240; i += clients.length) {
      const pcid = `PC${i % 40}`
      const folder = `1.${i % 3}`
      const { rows: [{ id }] } = await c.query<{ id: string }>(`INSERT INTO download (id, token_hash, pcid, program, folder, path, size, expires_at, started_at)
        VALUES (gen_random_uuid(), $1, $2, 'app', $3, 'f', 100, now() + interval '1 day', now() - ($4 || ' days')::interval)
        ON CONFLICT (token_hash) DO UPDATE SET bytes_granted = download.bytes_granted + 1 RETURNING id`, [`t${i % 200}`, pcid, folder, String(i % 3)])
      await c.query('UPDATE download SET bytes_served = bytes_served + 40 WHERE id = $1', [id])
      if (i % 4 === 0) await c.query('UPDATE download SET completed_at = coalesce(completed_at, now()) WHERE id = $1', [id])
      if (i % 6 === 0) await c.query('UPDATE download SET confirmed_at = coalesce(confirmed_at, now()) WHERE id = $1', [id])
      if (i % 5 === 0) await c.query('UPDATE download SET failed_at = now(), error = $2 WHERE id = $1', [id, i % 10 === 0 ? 'disk full' : 'timeout'])
      if (i % 15 === 0) await c.query('UPDATE download SET completed_at = coalesce(completed_at, now()) WHERE id = $1', [id])
      await c.query(`INSERT INTO version_offer (program, version, pcid, linked_at) VALUES ('app', $1, $2, CASE WHEN $3 THEN now() END)
        ON CONFLICT (program, version, pcid) DO UPDATE SET linked_at = EXCLUDED.linked_at WHERE version_offer.linked_at IS NULL AND EXCLUDED.linked_at IS NOT NULL`, [folder, pcid, i % 7 < 3])
    }
  }))
  await clients[0].query("DELETE FROM download WHERE token_hash IN ('t7', 't8')")
  const query = async (sql: string): Promise<unknown> => (await clients[0].query(sql)).rows
  t.same(await query('SELECT day, started::int, delivered::int, failed::int, bytes::int FROM download_day ORDER BY day'),
    await query(`SELECT (started_at AT TIME ZONE 'UTC')::date AS day, count(*)::int AS started,
                        count(*) FILTER (WHERE completed_at IS NOT NULL OR confirmed_at IS NOT NULL)::int AS delivered,
                        count(*) FILTER (WHERE failed_at IS NOT NULL AND completed_at IS NULL AND confirmed_at IS NULL)::int AS failed,
                        sum(bytes_served)::int AS bytes
                   FROM download GROUP BY 1 ORDER BY 1`), 'downloads per day')
  t.same(await query('SELECT version, started::int, delivered::int, confirmed::int, failed::int FROM version_funnel ORDER BY version'),
    await query(`SELECT folder AS version, count(DISTINCT pcid)::int AS started, count(DISTINCT pcid) FILTER (WHERE completed_at IS NOT NULL)::int AS delivered,
                        count(DISTINCT pcid) FILTER (WHERE confirmed_at IS NOT NULL)::int AS confirmed,
                        count(DISTINCT pcid) FILTER (WHERE failed_at IS NOT NULL AND completed_at IS NULL AND confirmed_at IS NULL)::int AS failed
                   FROM download GROUP BY 1 ORDER BY 1`), 'the funnel, in PCs')
  t.same(await query('SELECT version, offered::int, links_issued::int FROM version_funnel ORDER BY version'),
    await query('SELECT version, count(*)::int AS offered, count(linked_at)::int AS links_issued FROM version_offer GROUP BY 1 ORDER BY 1'), 'offers and links')
  t.same(await query('SELECT folder, error, count FROM download_error WHERE count > 0 ORDER BY folder, error'),
    await query('SELECT folder, error, count(*)::int AS count FROM download WHERE failed_at IS NOT NULL AND error IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2'), 'error texts')
  const [{ failedThenReceived }] = await clients[0].query<{ failedThenReceived: number }>('SELECT count(*)::int AS "failedThenReceived" FROM download WHERE failed_at IS NOT NULL AND completed_at IS NOT NULL').then((r) => r.rows)
  t.ok(failedThenReceived > 0, 'some downloads failed and were received after all')
})

t.test('a license imported with a legacy serial has its analytics, found by the serial as imported', async (t) => {
  const w = await buildReleaseWorld(t)
  const imported = await adminApi(w.app, 'POST', '/api/v1/licenses/import', 'key,program,customerName,seatLimit\nOLD-7731-ΣΝ,app,Shop,3\n', 'text/csv')
  t.equal(imported.status, 200, JSON.stringify(imported.json))
  const [pcid] = await insertPcids(w.databaseUrl, 1)
  t.match((await poll(w.app, pcid, '2.0', 'OLD-7731-ΣΝ')).license, /^ey/, 'the serial is entitled')
  await w.app.contacts.flush()
  const license = await adminApi(w.app, 'GET', `/api/v1/analytics/licenses/${encodeURIComponent('OLD-7731-ΣΝ')}`)
  t.equal(license.status, 200)
  t.match(license.json, { key: 'OLD-7731-ΣΝ', seatLimit: 3, seatsUsed: 1, pcs: [{ pcid, version: '2.0' }] })
  t.equal((await adminApi(w.app, 'GET', `/api/v1/analytics/licenses/${encodeURIComponent('OLD-7731-ΣΧ')}`)).status, 404)
})

t.test('two contacts flushes at once, each linking one version and offering another, do not deadlock on the funnel counts', async (t) => {
  const url = await createTestDatabase(t)
  const clients = await Promise.all([0, 1, 2].map(async () => { const c = new pg.Client({ connectionString: url }); await c.connect(); return c }))
  t.teardown(async () => { await Promise.all(clients.map(async (c) => await c.end())) })
  const [setup, one, two] = clients
  await setup.query("INSERT INTO version_offer (program, version, pcid) VALUES ('app', 'A', 'PC11'), ('app', 'B', 'PC12')")
  // Each count written slowly, so that the two statements' trigger firings interleave.
  await setup.query(`CREATE FUNCTION slow_count() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.3); RETURN NEW; END $$;
                     CREATE TRIGGER slow_count BEFORE INSERT OR UPDATE ON version_funnel FOR EACH ROW EXECUTE FUNCTION slow_count()`)
  // As the contacts flush writes offers: one row takes the update path (links given), one the insert path (a new offer).
  const flush = async (c: pg.Client, linked: [string, string], offered: [string, string]): Promise<unknown> => await c.query(`
    INSERT INTO version_offer (program, version, pcid, linked_at)
    VALUES ('app', $1, $2, now()), ('app', $3, $4, NULL)
    ON CONFLICT (program, version, pcid) DO UPDATE SET linked_at = EXCLUDED.linked_at
     WHERE version_offer.linked_at IS NULL AND EXCLUDED.linked_at IS NOT NULL`, [...linked, ...offered])
  const results = await Promise.allSettled([flush(one, ['B', 'PC12'], ['A', 'PC13']), flush(two, ['A', 'PC11'], ['B', 'PC14'])])
  t.same(results.map((r) => r.status === 'rejected' ? String(r.reason) : 'ok'), ['ok', 'ok'])
  t.same((await setup.query('SELECT version, offered::int, links_issued::int FROM version_funnel ORDER BY version')).rows,
    [{ version: 'A', offered: 2, links_issued: 1 }, { version: 'B', offered: 2, links_issued: 1 }])
})
