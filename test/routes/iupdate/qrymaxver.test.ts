import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose'
import { request } from 'node:http'
import t from 'tap'
import { TOKEN_LENGTH } from '../../../src/downloads/link-tokens.js'
import { adminQuery } from '../../helpers/db.js'
import { buildWorld, RELEASED, SETUP_SIZE } from '../../helpers/world.js'

const enc = encodeURIComponent

t.test('a new version for an entitled license: LICENSE, files, v=1 extras in order', async (t) => {
  const world = await buildWorld(t)
  const pcid = await world.pcid()
  const { status, lines, map } = await world.query(`prog[]=ishop&version[]=2.6.5.1&serial[]=${enc(world.keys.entitled)}&pcid=${pcid}&v=1`)
  t.equal(status, 200)
  t.same(lines.map((l) => l.slice(0, l.indexOf('='))), [
    'PCID', 'PROG[0]', 'OK[0]', 'LICENSE[0]',
    'URL[0][0]', 'FILE[0][0]', 'DEST[0][0]', 'DATE[0][0]', 'SIZE[0][0]', 'SHA256[0][0]',
    'URL[0][1]', 'FILE[0][1]', 'DEST[0][1]', 'DATE[0][1]', 'SIZE[0][1]', 'SHA256[0][1]',
    'URL[0][2]', 'FILE[0][2]', 'DEST[0][2]', 'DATE[0][2]', 'SIZE[0][2]', 'SHA256[0][2]',
    'RUN[0][0]', 'KIND[0]'
  ])
  t.equal(map.get('PCID'), pcid)
  t.equal(map.get('OK[0]'), '2.7.0.0')
  t.equal(map.get('KIND[0]'), 'version')
  t.equal(map.get('RUN[0][0]'), '%TEMP\\setup.exe /S')
  t.same([map.get('FILE[0][0]'), map.get('DEST[0][0]')], ['ishopx.dll', '%WIN32'])
  t.same([map.get('FILE[0][1]'), map.get('DEST[0][1]')], ['readme.txt', '%TEMP\\docs'])
  t.same([map.get('FILE[0][2]'), map.get('DEST[0][2]'), map.get('SIZE[0][2]')], ['setup.exe', '%TEMP', String(SETUP_SIZE)])
  t.match(map.get('URL[0][2]'), new RegExp(`^${world.base}/ftp/ishop/2\\.7\\.0\\.0/setup\\.exe\\?t=[A-Za-z0-9_-]{${TOKEN_LENGTH}}$`))
  t.match(map.get('DATE[0][2]'), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)

  const jwks = await (await fetch(`${world.base}/.well-known/jwks.json`)).json() as JSONWebKeySet
  const { payload } = await jwtVerify(map.get('LICENSE[0]') ?? '', createLocalJWKSet(jwks), { algorithms: ['EdDSA'] })
  t.match(payload, { prog: 'ishop', sub: world.keys.entitled, pcid, ver: '2.7.0.0', mnt: '2027-01-01T00:00:00.000Z' })

  const seats = await adminQuery('SELECT s.pcid FROM seat s JOIN license l ON l.id = s.license_id WHERE l.key = $1', [world.keys.entitled], world.databaseUrl)
  t.same(seats, [{ pcid }], 'the PCID took a seat')
  t.equal((await adminQuery('SELECT count(*)::int AS n FROM download', [], world.databaseUrl))[0].n, 0, 'listing wrote no download rows')
})

t.test('maintenance ended before the release: empty LICENSE, the reason, no files', async (t) => {
  const world = await buildWorld(t)
  const pcid = await world.pcid()
  const { lines, map } = await world.query(`prog[0]=ishop&version[0]=2.6.5.1&serial[0]=${enc(world.keys.expired)}&pcid=${pcid}&v=1`)
  t.same(lines, [`PCID=${pcid}`, 'PROG[0]=ishop', 'OK[0]=2.7.0.0', 'LICENSE[0]=', 'KIND[0]=version', 'REASON[0]=MAINTENANCE_EXPIRED'])
  const plain = await world.query(`prog[]=ishop&version[]=2.6.5.1&serial[]=${enc(world.keys.expired)}&pcid=${pcid}`)
  t.same(plain.lines, [`PCID=${pcid}`, 'PROG[0]=ishop', 'OK[0]=2.7.0.0', 'LICENSE[0]='], 'without v=1: the seed\'s lines only')
  t.equal(map.get('LICENSE[0]'), '')
})

t.test('update files for the current version, without maintenance, and the serial folder', async (t) => {
  const world = await buildWorld(t)
  const pcid = await world.pcid()
  const expired = await world.query(`prog[]=ishop&version[]=2.7.0.0&serial[]=${enc(world.keys.expired)}&pcid=${pcid}&v=1`)
  t.equal(expired.map.get('KIND[0]'), 'update')
  t.equal(expired.map.get('FILE[0][0]'), 'fix.dll')
  t.equal(expired.map.get('DEST[0][0]'), '%PROG')
  t.equal(expired.map.get('RUN[0][0]'), '%PROG\\patch.exe')
  t.notOk(expired.map.has('URL[0][1]'), 'one file: no serial folder for this serial')
  t.notOk(expired.map.has('REASON[0]'))
  t.ok(expired.map.get('LICENSE[0]'), 'a LICENSE string for the version owned')

  const mine = await world.query(`prog[]=ishop&version[]=2.7.0.0&serial[]=${enc(world.keys.serialFolder.toLowerCase())}&pcid=${pcid}&v=1`)
  t.same([mine.map.get('FILE[0][0]'), mine.map.get('FILE[0][1]')], ['fix.dll', 'custom.rpt'], 'the part for 2.7 and the serial\'s own folder')
  t.equal(mine.map.get('DEST[0][1]'), '%PROG')
  const older = await world.query(`prog[]=ishop&version[]=2.6.9&serial[]=${enc(world.keys.serialFolder)}&pcid=${pcid}&v=1`)
  t.equal(older.map.get('KIND[0]'), 'version', '2.6.9 < 2.7.0.0: the new version is offered instead')
})

t.test('reasons per program; one failing program does not fail the others', async (t) => {
  const world = await buildWorld(t)
  const pcid = await world.pcid()
  const params = [
    ['ishop', '2.6.5.1', ''],
    ['ishop', '2.6.5.1', 'not-a-key'],
    ['ishop', '2.6.5.1', world.keys.suspended],
    ['nosuch', '1.0', ''],
    ['ishop', 'v2', world.keys.entitled],
    ['ishop', '2.7.0.0', world.keys.entitled],
    ['../etc', '1.0', '']
  ].map(([p, v, s], i) => `prog[${i}]=${enc(p)}&version[${i}]=${enc(v)}&serial[${i}]=${enc(s)}`).join('&')
  const { status, map } = await world.query(`${params}&pcid=${pcid}&v=1`)
  t.equal(status, 200)
  t.equal(map.get('REASON[0]'), 'NO_LICENSE')
  t.equal(map.get('REASON[1]'), 'KEY_INVALID')
  t.equal(map.get('REASON[2]'), 'LICENSE_SUSPENDED')
  t.equal(map.get('REASON[3]'), 'UNKNOWN_PROGRAM')
  t.equal(map.get('OK[3]'), '')
  t.equal(map.get('REASON[4]'), 'BAD_VERSION')
  t.equal(map.get('OK[4]'), '2.7.0.0')
  t.equal(map.get('KIND[5]'), 'update', 'the entitled one is still answered')
  t.ok(map.get('LICENSE[5]'))
  t.equal(map.get('REASON[6]'), 'UNKNOWN_PROGRAM')
})

t.test('seat limit: a second PC is refused, the first keeps its seat', async (t) => {
  const world = await buildWorld(t)
  const [a, b] = [await world.pcid(), await world.pcid()]
  const q = async (pcid: string): Promise<Map<string, string>> => (await world.query(`prog[]=ishop&version[]=2.6.5.1&serial[]=${enc(world.keys.single)}&pcid=${pcid}&v=1`)).map
  t.ok((await q(a)).get('LICENSE[0]'))
  t.equal((await q(b)).get('REASON[0]'), 'SEAT_LIMIT')
  t.ok((await q(a)).get('LICENSE[0]'), 'the bound PC still gets it')
})

t.test('request errors: pcid, arrays, charsets', async (t) => {
  const world = await buildWorld(t)
  const pcid = await world.pcid()
  const unknown = await world.query('prog[]=ishop&version[]=1.0&pcid=7Q2M9K4XWJ3HN8RT5VCZ6DPA1E')
  t.equal(unknown.status, 404)
  t.equal(unknown.lines[0], 'ERROR=UNKNOWN_PCID')
  t.equal((await world.query('prog[]=ishop&version[]=1.0&pcid=..%2F..')).lines[0], 'ERROR=UNKNOWN_PCID')
  t.equal((await world.query('prog[]=ishop&version[]=1.0')).lines[0], 'ERROR=BAD_REQUEST')
  t.equal((await world.query(`pcid=${pcid}`)).lines[0], 'ERROR=BAD_REQUEST')
  const many = Array.from({ length: 33 }, () => 'prog[]=ishop&version[]=1.0').join('&')
  const tooMany = await world.query(`${many}&pcid=${pcid}`)
  t.equal(tooMany.status, 400)
  t.equal(tooMany.lines[0], 'ERROR=TOO_MANY_PROGRAMS')
  t.equal((await world.query(`prog[40]=ishop&pcid=${pcid}`)).lines[0], 'ERROR=TOO_MANY_PROGRAMS')
  const exactly = Array.from({ length: 32 }, () => 'prog[]=ishop&version[]=2.7.0.0').join('&')
  t.equal((await world.query(`${exactly}&pcid=${pcid}`)).map.get('PROG[31]'), 'ishop', '32 programs are fine')
  const post = await fetch(`${world.base}/myweb/iupdate.php`, { method: 'POST', body: `f=qrymaxver&prog[]=ishop&version[]=2.7.0.0&pcid=${pcid}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  t.match(await post.text(), /^PCID=\w+\r\nPROG\[0\]=ishop\r\nOK\[0\]=2\.7\.0\.0\r\nLICENSE\[0\]=\r\n$/, 'POST with a form body')
})

t.test('listing is cheap: polls write no download rows; contacts are batched', async (t) => {
  const world = await buildWorld(t, { CONTACTS_FLUSH_MS: '600000' })
  const pcid = await world.pcid()
  for (let i = 0; i < 5; i++) await world.query(`prog[]=ishop&version[]=2.6.5.1&serial[]=${enc(world.keys.entitled)}&pcid=${pcid}`)
  t.equal((await adminQuery('SELECT count(*)::int AS n FROM download', [], world.databaseUrl))[0].n, 0)
  t.equal((await adminQuery('SELECT count(*)::int AS n FROM pcid_program', [], world.databaseUrl))[0].n, 0, 'nothing written per poll')
  await world.app.contacts.flush()
  const [row] = await adminQuery('SELECT program, version, serial FROM pcid_program WHERE pcid = $1', [pcid], world.databaseUrl)
  t.same(row, { program: 'ishop', version: '2.6.5.1', serial: world.keys.entitled }, 'written in one batch')
})

t.test('a yanked version leaves qrymaxver at once', async (t) => {
  const world = await buildWorld(t)
  const pcid = await world.pcid()
  const before = await world.query(`prog[]=ishop&version[]=2.6.5.1&serial[]=${enc(world.keys.entitled)}&pcid=${pcid}`)
  t.equal(before.map.get('OK[0]'), '2.7.0.0')
  await world.app.prisma.programVersion.updateMany({ where: { version: '2.7.0.0' }, data: { yankedAt: new Date() } })
  await world.app.catalog.refresh()
  const after = await world.query(`prog[]=ishop&version[]=2.6.5.1&serial[]=${enc(world.keys.entitled)}&pcid=${pcid}&v=1`)
  t.equal(after.map.get('OK[0]'), '2.6.5.1')
  t.equal(after.map.get('KIND[0]'), 'update')
  const dead = await fetch(before.map.get('URL[0][2]') ?? '')
  t.equal(dead.status, 410, 'its links stop working')
  t.equal(RELEASED.toISOString(), '2026-06-01T00:00:00.000Z')
})

t.test('licenses are re-read after LICENSE_CACHE_MS; a new seat is always checked in the database', async (t) => {
  const world = await buildWorld(t, { LICENSE_CACHE_MS: '1500' })
  const [a, b] = [await world.pcid(), await world.pcid()]
  const ask = async (pcid: string): Promise<Map<string, string>> => (await world.query(`prog[]=ishop&version[]=2.6.5.1&serial[]=${enc(world.keys.single)}&pcid=${pcid}&v=1`)).map
  t.ok((await ask(a)).get('LICENSE[0]'))
  // Another instance suspends the license: this one sees it once its copy is older than 1.5 s.
  await world.app.prisma.license.update({ where: { key: world.keys.single }, data: { status: 'suspended' } })
  t.ok((await ask(a)).get('LICENSE[0]'), 'within LICENSE_CACHE_MS the copy read before is used')
  await new Promise((resolve) => setTimeout(resolve, 1600))
  t.equal((await ask(a)).get('REASON[0]'), 'LICENSE_SUSPENDED')
  await world.app.prisma.license.update({ where: { key: world.keys.single }, data: { status: 'active' } })
  await new Promise((resolve) => setTimeout(resolve, 1600))
  t.ok((await ask(a)).get('LICENSE[0]'))
  t.equal((await ask(b)).get('REASON[0]'), 'SEAT_LIMIT', 'the database decides a new seat')
  const again = await ask(a)
  const first = await ask(a)
  t.equal(again.get('LICENSE[0]'), first.get('LICENSE[0]'), 'the same LICENSE string is handed out again within the hour')
})

t.test('the Host header matters only where a link is built from it', async (t) => {
  const world = await buildWorld(t)
  const pcid = await world.pcid()
  const get = async (query: string): Promise<string> => await new Promise((resolve, reject) => {
    const url = new URL(`${world.base}/myweb/iupdate.php?f=qrymaxver&${query}`)
    request(url, { headers: { host: 'not_a_host!' } }, (res) => {
      let body = ''
      res.setEncoding('latin1')
      res.on('data', (d: string) => { body += d })
      res.on('end', () => resolve(body))
    }).on('error', reject).end()
  })
  const noLinks = await get(`prog[]=ishop&version[]=2.6.5.1&pcid=${pcid}`)
  t.match(noLinks, /^PCID=.*\r\nOK\[0\]=2\.7\.0\.0\r\nLICENSE\[0\]=\r\n/s, 'no links (no serial): answered')
  const withFiles = await get(`prog[]=ishop&version[]=2.6.5.1&serial[]=${enc(world.keys.entitled)}&pcid=${pcid}`)
  t.match(withFiles, /^ERROR=BAD_REQUEST\r\n/, 'links to build: the Host header is checked')
})

t.test('changes made on another instance reach every poll within LICENSE_CACHE_MS; a daily poll reuses the stored LICENSE string', async (t) => {
  const world = await buildWorld(t, { LICENSE_CACHE_MS: '300', CONTACTS_FLUSH_MS: '100000' })
  const prisma = world.app.prisma
  const wait = async (): Promise<unknown> => await new Promise((resolve) => setTimeout(resolve, 400))
  const pcid = await world.pcid()
  const ask = async (version = '2.7.0.0', who = pcid): Promise<Map<string, string>> => (await world.query(`prog[]=ishop&version[]=${version}&serial[]=${enc(world.keys.serialFolder)}&pcid=${who}&v=1`)).map
  const first = (await ask()).get('LICENSE[0]') ?? ''
  t.ok(first)
  await world.app.contacts.flush()
  const [seat] = await adminQuery('SELECT s.license_token FROM seat s JOIN license l ON l.id = s.license_id WHERE l.key = $1 AND s.pcid = $2', [world.keys.serialFolder, pcid], world.databaseUrl)
  t.equal(seat.license_token, first, 'the LICENSE string is stored with the seat')
  // More than a second later: a string signed now would carry another iat.
  await new Promise((resolve) => setTimeout(resolve, 1100))
  t.equal((await ask()).get('LICENSE[0]'), first, 'the caches expired: the stored string is handed out again, unsigned')

  const change = async (data: Record<string, unknown>): Promise<void> => { await prisma.license.update({ where: { key: world.keys.serialFolder }, data }) }
  for (const [status, reason] of [['suspended', 'LICENSE_SUSPENDED'], ['revoked', 'LICENSE_REVOKED']]) {
    await change({ status })
    await wait()
    t.equal((await ask()).get('REASON[0]'), reason, `${status} on another instance`)
    await change({ status: 'active' })
    await wait()
  }
  await change({ maintenanceEnd: new Date('2026-03-01T00:00:00Z') })
  await wait()
  t.equal((await ask('2.6.5.1')).get('REASON[0]'), 'MAINTENANCE_EXPIRED', 'a maintenance end moved before the release')
  const renewed = await ask()
  t.not(renewed.get('LICENSE[0]'), first, 'the LICENSE string names the new maintenance end: signed again')
  t.match(JSON.parse(Buffer.from((renewed.get('LICENSE[0]') ?? '').split('.')[1], 'base64url').toString()), { mnt: '2026-03-01T00:00:00.000Z' })

  await change({ seatLimit: 1 })
  const other = await world.pcid()
  await wait()
  t.equal((await ask('2.7.0.0', other)).get('REASON[0]'), 'SEAT_LIMIT')
  await prisma.seat.deleteMany({ where: { pcidId: pcid } })
  await wait()
  t.ok((await ask('2.7.0.0', other)).get('LICENSE[0]'), 'a seat freed on another instance is taken by the next PC')
  t.equal((await ask()).get('REASON[0]'), 'SEAT_LIMIT', 'and the PC that lost it is refused')
})
