import parsePrometheusTextFormat from 'parse-prometheus-text-format'
import t from 'tap'
import { buildReleaseWorld, insertPcids, poll, pollAll } from '../helpers/release.js'

const TOKEN = 'metrics-token-0123456789'

type Families = Map<string, Array<{ value?: string, labels?: Record<string, string>, count?: string }>>

t.test('/metrics parses as Prometheus text, needs METRICS_TOKEN, and moves when polls and downloads arrive', async (t) => {
  const w = await buildReleaseWorld(t, { METRICS_TOKEN: TOKEN })
  t.equal((await w.app.inject({ url: '/metrics' })).statusCode, 401)
  t.equal((await w.app.inject({ url: '/metrics', headers: { authorization: 'Bearer not-the-metrics-token' } })).statusCode, 401)
  let last = ''
  const scrape = async (): Promise<Families> => {
    const res = await w.app.inject({ url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } })
    t.equal(res.statusCode, 200)
    t.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/)
    last = res.body
    return new Map(parsePrometheusTextFormat(res.body).map((family) => [family.name, family.metrics]))
  }
  const value = (families: Families, name: string, labels: Record<string, string> = {}): number =>
    (families.get(name) ?? []).filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v)).reduce((sum, m) => sum + Number(m.value ?? m.count ?? 0), 0)

  const before = await scrape()
  for (const name of ['iupdate_process_cpu_seconds_total', 'iupdate_db_pool_connections', 'iupdate_db_pool_waiting', 'iupdate_repository_files', 'iupdate_repository_scans_total', 'iupdate_downloads_in_flight']) t.ok(before.has(name), name)
  t.equal(value(before, 'iupdate_repository_files'), 6, 'the files of the repository (@install.txt is not one)')

  const key = await w.license()
  const pcids = await insertPcids(w.databaseUrl, 5)
  await pollAll(w.app, pcids, '3.0')
  const offer = await poll(w.app, pcids[0], '2.0', key)
  await poll(w.app, pcids[1], 'x')
  const link = new URL(offer.body.match(/URL\[0\]\[0\]=(\S+)/)?.[1] ?? '')
  t.equal((await w.app.inject({ url: link.pathname + link.search })).statusCode, 200)
  await w.app.prisma.programVersion.create({ data: { programId: w.programId, version: '3.0', releasedAt: new Date(), rollout: 10, haltedAt: new Date() } })
  await w.app.catalog.refresh()

  const after = await scrape()
  t.equal(value(after, 'iupdate_polls_total', { kind: 'update', reason: 'NO_LICENSE' }), 5, 'unlicensed polls by kind and reason')
  t.equal(value(after, 'iupdate_polls_total', { kind: 'version', reason: '' }), 1, 'the licensed poll')
  t.equal(value(after, 'iupdate_polls_total', { reason: 'BAD_VERSION' }), 1)
  t.equal(value(after, 'iupdate_links_issued_total'), 1)
  t.equal(value(after, 'iupdate_download_bytes_total'), 'installer 3.0'.length, 'bytes served')
  t.equal(value(after, 'iupdate_downloads_in_flight'), 0)
  t.equal(value(after, 'iupdate_http_requests_total', { route: '/myweb/iupdate.php', status: '200' }) - value(before, 'iupdate_http_requests_total', { route: '/myweb/iupdate.php', status: '200' }), 7, 'requests by route and status')
  t.equal(value(after, 'iupdate_http_requests_total', { route: '/ftp/*', status: '200' }), 1, 'downloads are requests too')
  t.equal(value(after, 'iupdate_http_requests_total', { route: '/metrics', status: '401' }), 2)
  t.equal(value(after, 'iupdate_license_cache_lookups'), 7, 'each poll is a cache hit or miss')
  t.equal(value(after, 'iupdate_license_cache_lookups', { result: 'hit' }), 1, 'the PC polling again within LICENSE_CACHE_MS')
  // The parser keeps no labels of histograms: the text says it.
  t.match(last, /^iupdate_http_request_duration_seconds_count\{method="GET",route="\/myweb\/iupdate\.php"\} 7$/m, 'a latency histogram per route')
  t.equal(value(after, 'iupdate_rollout_percent', { program: 'app', version: '3.0' }), 10, 'rollout state per version')
  t.equal(value(after, 'iupdate_rollout_halted', { program: 'app', version: '3.0' }), 1)
  t.ok(value(after, 'iupdate_db_pool_connections', { state: 'total' }) >= 1, 'pool connections')
})
