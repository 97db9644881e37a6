import t, { type Test } from 'tap'
import { ADMIN, adminApi as api, type AdminAnswer } from '../../helpers/admin.js'
import { buildWorld } from '../../helpers/world.js'
import { multipart } from '../../helpers/multipart.js'

/** Whether the answer is a 400 whose errors name `field`. */
function refuses (t: Test, res: AdminAnswer, field: string, what: string): void {
  t.equal(res.status, 400, what)
  t.ok(res.json?.errors?.some((e: { field: string }) => e.field === field), `${what}: ${field} named in ${JSON.stringify(res.json)}`)
}

/** An import refused for a line's field: 422, the line and field named. */
function refusesLine (t: Test, res: AdminAnswer, lineField: string, what: string): void {
  const [, line, field] = /^line (\d+): (.*)$/.exec(lineField) ?? []
  t.equal(res.status, 422, what)
  t.ok(res.json?.errors?.some((e: { line: number, field: string }) => e.line === Number(line) && e.field === field), `${what}: ${lineField} named in ${JSON.stringify(res.json)}`)
}

t.test('dates: calendar dates of years 2000 to 9999, else a 400 naming the field', async (t) => {
  const w = await buildWorld(t, { ADMIN_TOKEN: ADMIN })
  const { app } = w
  const badDates = ['2027-13-01', '0000-01-01', '2027-02-31', '2026-02-29', '1', '10000-01-01', '+010000-01-01', '1999-12-31', '2027-1-1', 'soon', '']
  const badInstants = ['2027-13-01T00:00:00Z', '2027-02-31T00:00:00Z', '2027-01-01T24:00:00Z', '1', '+010000-01-01T00:00:00Z', '9999-12-31T23:00:00-05:00', '1999-12-31T23:59:59Z', 'Mon, 01 Mar 2027 00:00:00 GMT']
  for (const value of [...badDates, ...badInstants]) {
    refuses(t, await api(app, 'POST', '/api/v1/licenses', { program: 'ishop', customerName: 'C', maintenanceEnd: value }), 'body.maintenanceEnd', `create with ${value}`)
    refuses(t, await api(app, 'PATCH', `/api/v1/licenses/${w.keys.entitled}`, { maintenanceEnd: value }), 'body.maintenanceEnd', `change to ${value}`)
    // An empty cell is no date (lifetime updates).
    if (value !== '') refusesLine(t, await api(app, 'POST', '/api/v1/licenses/import', `ishop,C,,${value}\n`, 'text/csv'), 'line 1: maintenanceEnd', `import with ${value}`)
  }
  for (const value of [...badDates, ...badInstants]) {
    refuses(t, await api(app, 'PATCH', '/api/v1/programs/ishop/versions/2.7.0.0', { releasedAt: value }), 'body.releasedAt', `releasedAt ${value}`)
    refuses(t, await api(app, 'GET', `/api/v1/downloads/stats?from=${encodeURIComponent(value)}`), 'querystring.from', `stats from ${value}`)
  }
  const upload = multipart({ version: '3.0', releasedAt: '2027-02-31' }, { 'setup.exe': 'x' })
  refuses(t, await api(app, 'POST', '/api/v1/programs/ishop/versions', upload.body, upload.contentType), 'releasedAt', 'publish with 2027-02-31')
  t.equal((await api(app, 'GET', '/api/v1/licenses')).json.total, 6, 'no license was made with a bad date')

  // The edges are accepted, and a license that ends in 9999 still answers polls.
  const leap = await api(app, 'POST', '/api/v1/licenses', { program: 'ishop', customerName: 'C', maintenanceEnd: '2028-02-29' })
  t.equal(leap.json.maintenanceEnd, '2028-02-29T23:59:59.999Z')
  const last = await api(app, 'PATCH', `/api/v1/licenses/${w.keys.entitled}`, { maintenanceEnd: '9999-12-31' })
  t.equal(last.json.maintenanceEnd, '9999-12-31T23:59:59.999Z')
  const pcid = await w.pcid()
  const poll = await w.query(`prog[]=ishop&version[]=2.6.5.1&serial[]=${w.keys.entitled}&pcid=${pcid}`)
  t.equal(poll.status, 200)
  t.equal(poll.map.get('OK[0]'), '2.7.0.0')
  t.equal((await api(app, 'PATCH', `/api/v1/licenses/${w.keys.entitled}`, { maintenanceEnd: '2000-01-01T00:00:00+00:00' })).json.maintenanceEnd, '2000-01-01T00:00:00.000Z')
  for (const value of ['2027-03-01', '2027-03-01T10:00:00Z', '2027-03-01T12:00:00.250+02:00', '9999-12-31T23:59:59.999Z']) {
    const res = await api(app, 'PATCH', '/api/v1/programs/ishop/versions/2.7.0.0', { releasedAt: value })
    t.equal(res.status, 200, `releasedAt ${value}`)
    t.equal(res.json.releasedAt, new Date(value).toISOString())
  }
})

t.test('NUL characters in admin input: a 400 naming the field, never a 500', async (t) => {
  const w = await buildWorld(t, { ADMIN_TOKEN: ADMIN })
  const { app } = w
  const nul = 'a\u0000b'
  const q = encodeURIComponent(nul)
  const cases: Array<[string, string, unknown, string]> = [
    ['POST', '/api/v1/programs', { name: 'x', displayNameEn: nul }, 'body.displayNameEn'],
    ['POST', '/api/v1/programs', { name: 'x', purchaseUrl: `https://example.com/${nul}` }, 'body.purchaseUrl'],
    ['PATCH', '/api/v1/programs/ishop', { displayNameEl: nul }, 'body.displayNameEl'],
    ['PATCH', '/api/v1/programs/ishop/versions/2.7.0.0', { notesEn: nul }, 'body.notesEn'],
    ['POST', '/api/v1/licenses', { program: 'ishop', customerName: nul }, 'body.customerName'],
    ['POST', '/api/v1/licenses', { program: 'ishop', customerName: 'C', notes: nul }, 'body.notes'],
    ['POST', '/api/v1/licenses', { program: 'ishop', customerName: 'C', customerEmail: `a${nul}@example.com` }, 'body.customerEmail'],
    ['PATCH', `/api/v1/licenses/${w.keys.entitled}`, { customerName: nul }, 'body.customerName'],
    ['GET', `/api/v1/licenses?customer=${q}`, undefined, 'querystring.customer'],
    ['GET', `/api/v1/licenses/${q}`, undefined, 'params.key'],
    ['DELETE', `/api/v1/licenses/${w.keys.entitled}/seats/${q}`, undefined, 'params.pcid'],
    ['GET', `/api/v1/pcids?q=${q}`, undefined, 'querystring.q'],
    ['GET', `/api/v1/pcids?version=${q}`, undefined, 'querystring.version'],
    ['GET', `/api/v1/pcids/${q}`, undefined, 'params.pcid'],
    ['GET', `/api/v1/downloads?pcid=${q}`, undefined, 'querystring.pcid'],
    ['GET', `/api/v1/audit?actor=${q}`, undefined, 'querystring.actor'],
    ['GET', `/api/v1/audit?action=${q}`, undefined, 'querystring.action'],
    ['POST', '/api/v1/messages/questions', { subject: nul, text: 't', program: 'ishop' }, 'body.subject'],
    ['POST', '/api/v1/messages/questions', { subject: 's', text: nul, program: 'ishop' }, 'body.text'],
    ['POST', '/api/v1/messages/questions', { subject: 's', text: 't', pcid: nul }, 'body.pcid'],
    ['GET', `/api/v1/messages/inbox?pcid=${q}`, undefined, 'querystring.pcid'],
    ['GET', `/api/v1/messages/inbox/00000000-0000-0000-0000-000000000000/attachments/${q}`, undefined, 'params.name']
  ]
  for (const [method, url, body, field] of cases) refuses(t, await api(app, method, url, body), field, `${method} ${url} ${JSON.stringify(body) ?? ''}`)

  const upload = multipart({ version: '3.0', notesEl: nul }, { 'setup.exe': 'x' })
  refuses(t, await api(app, 'POST', '/api/v1/programs/ishop/versions', upload.body, upload.contentType), 'notesEl', 'publish with NUL in notes')
  t.equal((await api(app, 'GET', '/api/v1/programs/ishop/versions')).json.items.length, 2, 'nothing published')
  for (const [csv, field] of [[`ishop,${nul}\n`, 'line 1: customerName'], [`ishop,C,,,,${nul}\n`, 'line 1: notes'], [`ishop,C\nishop,"${nul}"\n`, 'line 2: customerName'], [`${nul},C\n`, 'line 1: program']]) {
    refusesLine(t, await api(app, 'POST', '/api/v1/licenses/import', csv, 'text/csv'), field, `CSV ${JSON.stringify(csv)}`)
  }
  t.equal((await api(app, 'GET', '/api/v1/licenses')).json.total, 6, 'nothing issued')
})
