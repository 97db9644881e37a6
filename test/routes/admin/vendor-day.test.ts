import { createHash } from 'node:crypto'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import iconv from 'iconv-lite'
import t from 'tap'
import { buildTestApp, listen } from '../../helpers/app.js'
import { multipart } from '../../helpers/multipart.js'
import { makeTree } from '../../helpers/tree.js'

const ADMIN = 'bootstrap-admin-token-0123456789abcdef'
const sha = (b: string | Buffer): string => createHash('sha256').update(b).digest('hex')

t.test('a vendor\'s day, through the API only', async (t) => {
  const root = await makeTree(t, {})
  const { app } = await buildTestApp(t, { FTP_ROOT: root, ADMIN_TOKEN: ADMIN })
  const base = await listen(app)
  const api = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number, json: any }> => {
    const init: RequestInit = { method, headers: { authorization: `Bearer ${ADMIN}`, ...headers } }
    if (body instanceof Buffer || typeof body === 'string') init.body = body
    else if (body !== undefined) { init.body = JSON.stringify(body); (init.headers as Record<string, string>)['content-type'] = 'application/json' }
    const res = await fetch(`${base}${path}`, init)
    const text = await res.text()
    return { status: res.status, json: text === '' ? undefined : JSON.parse(text) }
  }

  // A program, and a first version published by upload.
  t.equal((await api('POST', '/api/v1/programs', { name: 'ishop', displayNameEn: 'iShop', displayNameEl: 'iShop Λιανική', purchaseUrl: 'https://shop.example.com/ishop' })).status, 201)
  t.equal((await api('POST', '/api/v1/programs', { name: 'ishop' })).status, 409, 'a duplicate is a conflict')
  const v1 = multipart({ version: '1.0.0', notesEn: 'First', releasedAt: '2026-01-10' }, { 'setup.exe': 'installer 1.0' })
  t.equal((await api('POST', '/api/v1/programs/ishop/versions', v1.body, { 'content-type': v1.contentType })).status, 201)

  // A license for a customer whose plan ends in June.
  const license = await api('POST', '/api/v1/licenses', { program: 'ishop', customerName: 'Κατάστημα Α.Ε.', customerEmail: 'shop@example.com', maintenanceEnd: '2026-06-30', seatLimit: 1 })
  t.equal(license.status, 201)
  const key = license.json.key as string
  t.match(key, /^1[0-9A-Z]{4}(-[0-9A-Z]{5}){4}$/)
  t.equal(license.json.maintenanceEnd, '2026-06-30T23:59:59.999Z', 'a date means through that day')

  // Version 2.0.0, released in September, with a Greek @rename.txt and @install.txt.
  const v2 = multipart(
    { version: '2.0.0', notesEn: 'Faster', notesEl: 'Ταχύτερο', releasedAt: '2026-09-01T00:00:00Z', rename: 'Έγγραφα=C:\\Έγγραφα\\iShop', install: '%TEMP\\setup.exe /S' },
    { 'setup.exe': 'installer 2.0', '@win32/x.dll': 'dll', 'Έγγραφα/οδηγίες.txt': 'οδηγίες' }
  )
  const published = await api('POST', '/api/v1/programs/ishop/versions', v2.body, { 'content-type': v2.contentType })
  t.equal(published.status, 201)
  t.same(published.json.files.map((f: { file: string, dest: string }) => `${f.dest} ${f.file}`).sort(), ['%TEMP setup.exe', '%WIN32 x.dll', 'C:\\Έγγραφα\\iShop οδηγίες.txt'].sort())
  t.equal(published.json.files.find((f: { file: string }) => f.file === 'setup.exe').sha256, sha('installer 2.0'), 'SHA-256 computed while streaming')
  t.equal(iconv.decode(Buffer.from(await (await import('node:fs/promises')).readFile(join(root, 'ishop/2.0.0/@rename.txt'))), 'win1253'), 'Έγγραφα=C:\\Έγγραφα\\iShop', '@rename.txt stored in windows-1253')
  t.equal((await api('POST', '/api/v1/programs/ishop/versions', v2.body, { 'content-type': v2.contentType })).status, 409, 'an existing version is a conflict')
  const listed = await api('GET', '/api/v1/programs/ishop/versions')
  t.same(listed.json.items.map((v: { version: string }) => v.version), ['2.0.0', '1.0.0'])
  t.equal(listed.json.items[0].releasedAt, '2026-09-01T00:00:00.000Z')

  // The client: maintenance ended before 2.0.0, so it is shown the page; extend the plan and it gets it.
  const pcid = (await (await fetch(`${base}/myweb/iupdate.php?f=getpcid`)).text()).trim().slice(5)
  const poll = async (who = pcid): Promise<Map<string, string>> => {
    const text = await (await fetch(`${base}/myweb/iupdate.php?f=qrymaxver&cs=utf8&v=1&prog[]=ishop&version[]=1.0.0&serial[]=${key}&pcid=${who}`)).text()
    return new Map(text.split('\r\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]))
  }
  t.equal((await poll()).get('REASON[0]'), 'MAINTENANCE_EXPIRED')
  t.equal((await api('PATCH', `/api/v1/licenses/${key}`, { maintenanceEnd: '2027-06-30' })).status, 200)
  const offered = await poll()
  t.equal(offered.get('OK[0]'), '2.0.0')
  t.ok(offered.get('LICENSE[0]'), 'entitled at once after the extension')
  t.equal(offered.get('RUN[0][0]'), '%TEMP\\setup.exe /S')
  const setupUrl = [...offered].find(([k, v]) => k.startsWith('URL') && v.includes('/setup.exe'))?.[1] ?? ''
  const download = await fetch(setupUrl)
  t.equal(await download.text(), 'installer 2.0', 'downloaded')

  // Seats: a second PC is refused until the vendor frees the first seat.
  const other = (await (await fetch(`${base}/myweb/iupdate.php?f=getpcid`)).text()).trim().slice(5)
  t.equal((await poll(other)).get('REASON[0]'), 'SEAT_LIMIT')
  const seats = await api('GET', `/api/v1/licenses/${key}/seats`)
  t.same(seats.json.items.map((s: { pcid: string }) => s.pcid), [pcid])
  t.equal((await api('DELETE', `/api/v1/licenses/${key}/seats/${pcid}`)).status, 204)
  const moved = await poll(other)
  t.ok(moved.get('LICENSE[0]'), 'the freed seat is taken by the other PC')
  const otherUrl = [...moved].find(([k, v]) => k.startsWith('URL') && v.includes('/setup.exe'))?.[1] ?? ''

  // Yank 2.0.0: it leaves qrymaxver at once and its unspent links die.
  t.equal((await api('POST', '/api/v1/programs/ishop/versions/2.0.0/yank')).status, 200)
  t.equal((await poll(other)).get('OK[0]'), '1.0.0')
  t.equal((await fetch(otherUrl)).status, 410)
  t.equal((await api('POST', '/api/v1/programs/ishop/versions/2.0.0/unyank')).status, 200)
  t.equal((await poll(other)).get('OK[0]'), '2.0.0')

  // Updates: a part and a serial folder; listed, then removed.
  const patch = multipart({ install: '%PROG\\patch.exe' }, { 'patch.exe': 'patch', 'Forms/a.frm': 'form' })
  const uploaded = await api('POST', '/api/v1/programs/ishop/updates/2.0', patch.body, { 'content-type': patch.contentType })
  t.equal(uploaded.status, 201)
  t.same(uploaded.json.install, ['%PROG\\patch.exe'])
  const mine = multipart({}, { 'custom.rpt': 'custom' })
  t.equal((await api('POST', `/api/v1/programs/ishop/updates/@${key}`, mine.body, { 'content-type': mine.contentType })).status, 201)
  const updates = await api('GET', '/api/v1/programs/ishop/updates')
  t.same(updates.json.parts.map((p: { part: string }) => p.part), ['2.0'])
  t.same(updates.json.serials.map((p: { part: string }) => p.part), [`@${key}`])
  t.equal((await api('DELETE', '/api/v1/programs/ishop/updates/2.0')).status, 204)
  t.same((await api('GET', '/api/v1/programs/ishop/updates')).json.parts, [])

  // PCIDs, downloads, audit.
  const seen = await api('GET', `/api/v1/pcids/${pcid}`)
  t.match(seen.json, { pcid, programs: [{ program: 'ishop', version: '1.0.0', serial: key }] })
  t.ok((await api('GET', '/api/v1/pcids?program=ishop')).json.total >= 2)
  const downloads = await api('GET', '/api/v1/downloads?program=ishop')
  t.equal(downloads.json.total, 1)
  t.match(downloads.json.items[0], { pcid, program: 'ishop', folder: '2.0.0', path: 'ishop/2.0.0/setup.exe', size: 13 })
  const stats = await api('GET', '/api/v1/downloads/stats?program=ishop')
  t.match(stats.json.items, [{ program: 'ishop', folder: '2.0.0', started: 1, completed: 1, failed: 0 }])
  const auditLog = await api('GET', '/api/v1/audit?limit=100')
  t.same(auditLog.json.items.map((e: { action: string }) => e.action).reverse(), [
    'program.create', 'version.publish', 'license.create', 'version.publish', 'license.update', 'license.seat.free',
    'version.yank', 'version.unyank', 'update.upload', 'update.upload', 'update.remove'
  ])
  t.ok(auditLog.json.items.every((e: { actor: string }) => e.actor === 'bootstrap'))

  // A program with licenses cannot be deleted; an empty one can.
  t.equal((await api('DELETE', '/api/v1/programs/ishop')).status, 409)
  t.equal((await api('POST', '/api/v1/programs', { name: 'empty' })).status, 201)
  t.equal((await api('DELETE', '/api/v1/programs/empty')).status, 204)
  t.same(await readdir(join(root, '.staging')).catch(() => []), [], 'no upload left anything in staging')
})
