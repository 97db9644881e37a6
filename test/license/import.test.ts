import iconv from 'iconv-lite'
import t from 'tap'
import { ADMIN, adminApi as api } from '../helpers/admin.js'
import { buildTestApp } from '../helpers/app.js'
import { writeTree } from '../helpers/tree.js'
import { buildWorld } from '../helpers/world.js'

const enc = encodeURIComponent
/** A serial of the old system: mixed case, dashes, Greek letters (docs/protocol.md, "Legacy serials and PCIDs"). */
const OLD_SERIAL = 'isp-0042-Ωλ'
const OLD_PCID = '{7F3A-11C2-9B}'

async function importCsv (app: Parameters<typeof api>[0], kind: string, csv: string | Buffer, query = ''): Promise<{ status: number, json: any }> {
  return await api(app, 'POST', `/api/v1/${kind}/import${query}`, csv, 'text/csv')
}

t.test('an installed client of the old system: its serial, PCID and seat imported, it polls as before', async (t) => {
  const world = await buildWorld(t, { ADMIN_TOKEN: ADMIN })
  const { app } = world
  await writeTree(world.root, { [`ishop/updates/@${OLD_SERIAL}/old-customer.rpt`]: 'for the old customer' })
  await app.repository.rescan('ishop')

  t.same((await importCsv(app, 'licenses', `key,program,customerName,maintenanceEnd,seatLimit\n${OLD_SERIAL},ishop,Παλιός πελάτης,2027-01-01,1\n`)).json, { imported: 1 })
  t.same((await importCsv(app, 'pcids', `pcid,program,version,serial,firstSeen,lastSeen\n${OLD_PCID},ishop,2.6.5.1,${OLD_SERIAL},2020-01-01,2026-11-30\nOTHER-PC,ishop,2.6.5.1,${OLD_SERIAL},2021-01-01,2026-11-30\n`)).json, { imported: 2 })
  t.same((await importCsv(app, 'seats', `serial,pcid,boundAt\n${OLD_SERIAL},${OLD_PCID},2020-01-02T10:00:00Z\n`)).json, { imported: 1 })

  // Never asked getpcid here: the imported PCID is known at once.
  const poll = await world.query(`prog[]=ishop&version[]=2.6.5.1&serial[]=${enc(` ${OLD_SERIAL} `)}&pcid=${enc(OLD_PCID)}&v=1`)
  t.equal(poll.status, 200, poll.lines.join('\n'))
  t.equal(poll.map.get('PCID'), OLD_PCID)
  t.equal(poll.map.get('OK[0]'), '2.7.0.0')
  t.equal(poll.map.get('KIND[0]'), 'version')
  t.ok(poll.map.get('LICENSE[0]'), 'a LICENSE string for the new version')
  t.equal(poll.map.get('FILE[0][2]'), 'setup.exe')
  const plain = await world.query(`prog[]=ishop&version[]=2.6.5.1&serial[]=${enc(OLD_SERIAL)}&pcid=${enc(OLD_PCID)}`)
  t.ok(plain.map.get('LICENSE[0]'), 'without v=1 too')
  t.equal(plain.map.get('FILE[0][2]'), 'setup.exe')

  const update = await world.query(`prog[]=ishop&version[]=2.7.0.0&serial[]=${enc(OLD_SERIAL)}&pcid=${enc(OLD_PCID)}&v=1`)
  t.same([update.map.get('FILE[0][0]'), update.map.get('FILE[0][1]')], ['fix.dll', 'old-customer.rpt'], 'its own @<serial> folder')
  const updatePlain = await world.query(`prog[]=ishop&version[]=2.7.0.0&serial[]=${enc(OLD_SERIAL)}&pcid=${enc(OLD_PCID)}`)
  t.same([updatePlain.map.get('FILE[0][0]'), updatePlain.map.get('FILE[0][1]')], ['fix.dll', 'old-customer.rpt'], 'without v=1 too')

  const typo = await world.query(`prog[]=ishop&version[]=2.6.5.1&serial[]=${enc('isp-0043-Ωλ')}&pcid=${enc(OLD_PCID)}&v=1`)
  t.equal(typo.map.get('REASON[0]'), 'KEY_INVALID', 'a mistyped legacy serial is neither ours nor known')
  const otherCase = await world.query(`prog[]=ishop&version[]=2.6.5.1&serial[]=${enc(OLD_SERIAL.toUpperCase())}&pcid=${enc(OLD_PCID)}&v=1`)
  t.equal(otherCase.map.get('REASON[0]'), 'KEY_INVALID', 'case matters')

  // The one seat is held by the imported PC: another PC of the customer is beyond the limit.
  const second = await world.query(`prog[]=ishop&version[]=2.6.5.1&serial[]=${enc(OLD_SERIAL)}&pcid=OTHER-PC&v=1`)
  t.equal(second.map.get('REASON[0]'), 'SEAT_LIMIT')
  const unknown = await world.query('prog[]=ishop&version[]=2.6.5.1&pcid=NEVER-IMPORTED&v=1')
  t.equal(unknown.map.get('ERROR'), 'UNKNOWN_PCID')

  const found = await api(app, 'GET', `/api/v1/licenses/${enc(OLD_SERIAL)}`)
  t.match(found.json, { key: OLD_SERIAL, customerName: 'Παλιός πελάτης', seatsUsed: 1 })
})

t.test('one bad line in 10,000: nothing is imported and the line is named', async (t) => {
  const { app } = await buildTestApp(t, { ADMIN_TOKEN: ADMIN })
  await app.prisma.program.create({ data: { name: 'ishop' } })
  const lines = Array.from({ length: 10_000 }, (_, i) => i === 7_340 ? `ishop,Customer ${i},not-an-email` : `ishop,Customer ${i},c${i}@example.com`)
  const refused = await importCsv(app, 'licenses', `program,customerName,customerEmail\n${lines.join('\n')}\n`)
  t.equal(refused.status, 422)
  t.match(refused.json.errors, [{ line: 7_341, field: 'customerEmail' }])
  t.equal(refused.json.errors.length, 1)
  t.equal(await app.prisma.license.count(), 0, 'nothing imported')

  const dup = await importCsv(app, 'licenses', 'key,program,customerName\nOLD-1,ishop,A\nOLD-2,ishop,B\nOLD-1,ishop,C\n')
  t.equal(dup.status, 422)
  t.same(dup.json.errors, [{ line: 3, field: 'key', message: 'the same key or serial is on an earlier line' }])
  const seats = await importCsv(app, 'seats', 'serial,pcid\nNOSUCH,NOPC\n')
  t.same(seats.json.errors.map((e: { field: string }) => e.field), ['serial', 'pcid'])
  t.equal(await app.prisma.license.count(), 0)

  t.same((await importCsv(app, 'licenses', `${lines.map((l, i) => i === 7_340 ? 'ishop,Fixed' : l).join('\n')}\n`)).json, { imported: 10_000 })
})

t.test('a windows-1253 file is read as such; exports are safe in a spreadsheet and import back as they were', async (t) => {
  const { app } = await buildTestApp(t, { ADMIN_TOKEN: ADMIN })
  await app.prisma.program.create({ data: { name: 'ishop' } })
  const greek = iconv.encode('key,program,customerName,notes\nΣΕΙΡΙΑΚΟ-1,ishop,Κατάστημα Αθηνών,=HYPERLINK("http://evil")\n-OLD-2,ishop,@sum,+1\n', 'windows-1253')
  t.same((await importCsv(app, 'licenses', greek, '?encoding=windows-1253')).json, { imported: 2 })
  t.equal((await app.prisma.license.findUniqueOrThrow({ where: { key: 'ΣΕΙΡΙΑΚΟ-1' } })).customerName, 'Κατάστημα Αθηνών')
  t.equal((await importCsv(app, 'licenses', 'ishop,x', '?encoding=latin9')).status, 400, 'an unknown encoding')
  await app.prisma.license.update({ where: { key: '-OLD-2' }, data: { status: 'suspended', channel: 'beta', pin: '2.6' } })

  t.same((await importCsv(app, 'pcids', `${OLD_PCID},ishop,2.6.5.1,ΣΕΙΡΙΑΚΟ-1,2020-01-01T00:00:00Z,2026-01-01T00:00:00Z\n${OLD_PCID},ibook,1.0,,2020-01-01T00:00:00Z,2026-01-01T00:00:00Z\nLONELY-PC\n`)).json, { imported: 3 })
  t.same((await importCsv(app, 'seats', `ΣΕΙΡΙΑΚΟ-1,${OLD_PCID},2020-01-02T00:00:00Z\n-OLD-2,${OLD_PCID}\n`)).json, { imported: 2 })

  const exported = async (kind: string): Promise<string> => {
    const res = await app.inject({ url: `/api/v1/${kind}/export`, headers: { authorization: `Bearer ${ADMIN}` } })
    t.equal(res.statusCode, 200)
    t.match(res.headers['content-type'], /^text\/csv; charset=utf-8/)
    t.match(res.headers['content-disposition'], `attachment; filename="${kind}.csv"`)
    return res.body
  }
  const licenses = await exported('licenses')
  t.match(licenses, /^\uFEFFkey,program,customerName,/)
  t.match(licenses, /\r\n'-OLD-2,ishop,'@sum,,suspended,,1,'\+1,beta,2\.6,/, 'cells a spreadsheet would run start with an apostrophe')
  t.match(licenses, `ΣΕΙΡΙΑΚΟ-1,ishop,Κατάστημα Αθηνών,,active,,1,"'=HYPERLINK(""http://evil"")",stable,,${OLD_PCID}`)
  const seats = await exported('seats')
  const pcids = await exported('pcids')
  t.match(pcids, `${OLD_PCID},ibook,1.0,,2020-01-01T00:00:00.000Z,2026-01-01T00:00:00.000Z`)
  t.match(pcids, 'LONELY-PC,,,,')

  // Into an empty database: the same licenses, seats and PCIDs.
  const empty = await buildTestApp(t, { ADMIN_TOKEN: ADMIN })
  await empty.app.prisma.program.createMany({ data: [{ name: 'ishop' }] })
  t.same((await importCsv(empty.app, 'pcids', pcids)).json, { imported: 3 })
  t.same((await importCsv(empty.app, 'licenses', licenses)).json, { imported: 2 })
  t.same((await importCsv(empty.app, 'seats', seats)).json, { imported: 2 })
  const state = async (a: typeof app): Promise<unknown> => ({
    licenses: await a.prisma.license.findMany({ orderBy: { key: 'asc' }, select: { key: true, customerName: true, customerEmail: true, status: true, maintenanceEnd: true, seatLimit: true, notes: true, channel: true, pin: true, program: { select: { name: true } } } }),
    seats: (await a.prisma.seat.findMany({ include: { license: { select: { key: true } } } })).map((s) => [s.license.key, s.pcidId, s.boundAt.toISOString()]).sort(),
    pcids: await a.prisma.pcidProgram.findMany({ orderBy: [{ pcidId: 'asc' }, { program: 'asc' }], select: { pcidId: true, program: true, version: true, serial: true, firstSeenAt: true, lastSeenAt: true } }),
    pcidIds: (await a.prisma.pcid.findMany({ orderBy: { id: 'asc' } })).map((p) => p.id)
  })
  t.same(await state(empty.app), await state(app))
  t.equal(await exported('licenses'), licenses, 'and the same export')
})

t.test('an imported lower-case PCID is found as it was imported: admin API, channel, questions, newveravail', async (t) => {
  const world = await buildWorld(t, { ADMIN_TOKEN: ADMIN })
  const { app } = world
  const pcid = 'old-pc-7f3a'
  t.same((await importCsv(app, 'pcids', `pcid,program,version,serial,firstSeen,lastSeen\n${pcid},ishop,2.6.5.1,,2020-01-01,2026-11-30\n`)).json, { imported: 1 })

  t.match((await api(app, 'GET', `/api/v1/pcids/${pcid}`)).json, { pcid, programs: [{ program: 'ishop', version: '2.6.5.1' }] })
  t.equal((await api(app, 'GET', `/api/v1/pcids/${pcid.toUpperCase()}`)).status, 404, 'matched exactly: the upper-case spelling is another PCID')
  t.match((await api(app, 'GET', '/api/v1/pcids?q=old-pc')).json, { items: [{ pcid }] }, 'found by the start of its PCID')
  t.match((await api(app, 'POST', '/api/v1/messages/questions', { pcid, subject: 'Έρευνα', text: 'Όλα καλά;' })).json, { recipients: 1 })
  const sent = await fetch(`${world.base}/myweb/iupdate.php?f=sendmsg&pcid=${enc(pcid)}&prog=ishop&cs=utf8&subject=${enc('Γεια')}&message=x`)
  t.equal(sent.status, 200)
  t.match((await api(app, 'GET', `/api/v1/messages/inbox?pcid=${pcid}`)).json, { items: [{ subject: 'Γεια' }] }, 'its messages, by its PCID as imported')

  // 2.7.0.0 on the beta channel: the page offers it to this PC alone once the PC is on beta.
  t.equal((await api(app, 'PATCH', '/api/v1/programs/ishop/versions/2.7.0.0', { channel: 'beta' })).status, 200)
  t.match((await api(app, 'PATCH', `/api/v1/pcids/${pcid}`, { channel: 'beta' })).json, { pcid, channel: 'beta' })
  const page = async (who: string): Promise<string> => await (await fetch(`${world.base}/myweb/iupdate.php?f=newveravail&prog=ishop&version=2.6.5.1&pcid=${enc(who)}`)).text()
  t.match(await page(pcid), /2\.7\.0\.0/, 'the beta PC is offered the beta version')
  t.notMatch(await page('another-pc'), /2\.7\.0\.0/, 'any other PC is not')
})
