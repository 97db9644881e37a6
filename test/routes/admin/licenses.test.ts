import t from 'tap'
import { ADMIN, adminApi as api } from '../../helpers/admin.js'
import { buildTestApp } from '../../helpers/app.js'

t.test('CSV import: header optional, , or ;, quoted fields, any line ending, blank lines and a BOM ignored', async (t) => {
  const { app } = await buildTestApp(t, { ADMIN_TOKEN: ADMIN })
  await api(app, 'POST', '/api/v1/programs', { name: 'ishop' })
  const names = async (csv: string): Promise<unknown> => {
    const before = new Set((await app.prisma.license.findMany({ select: { id: true } })).map((l) => l.id))
    const res = await api(app, 'POST', '/api/v1/licenses/import', csv, 'text/csv')
    t.equal(res.status, 200, csv)
    const added = (await app.prisma.license.findMany({ orderBy: { customerName: 'asc' } })).filter((l) => !before.has(l.id))
    t.same(res.json, { imported: added.length })
    return added.map((l) => l.customerName).sort()
  }
  t.same(await names('\uFEFFProgram;customerName;customerEmail\r\nishop;"Α; Β";a@example.com\r\n\r\n ishop ; Γ \r\n'), ['Α; Β', 'Γ'].sort())
  t.same(await names('ishop,"line one\nline two"\rishop,say "hi",,,3\n,,\nishop,"a ""quoted"" name",,2027-01-01,2,"notes, with a comma"'), ['line one\nline two', 'say "hi"', 'a "quoted" name'].sort())
  t.same(await names('ishop,A,a@example.com,,,,an extra column\n'), ['A'])
  const listed = await api(app, 'GET', '/api/v1/licenses?customer=quoted')
  t.match(listed.json.items, [{ seatLimit: 2, maintenanceEnd: '2027-01-01T23:59:59.999Z', notes: 'notes, with a comma' }])

  const unclosed = await api(app, 'POST', '/api/v1/licenses/import', 'ishop,A\nishop,"B\n', 'text/csv')
  t.equal(unclosed.status, 422, 'a quote never closed')
  t.match(unclosed.json.errors, [{ line: 2, field: 'line' }])
  const empty = await api(app, 'POST', '/api/v1/licenses/import', 'program,customerName\n\n', 'text/csv')
  t.equal(empty.status, 400)
  t.equal(empty.json.detail, 'The CSV has no lines.')
  const json = await api(app, 'POST', '/api/v1/licenses/import', { program: 'ishop' })
  t.equal(json.status, 400)
  t.equal(json.json.detail, 'Send the CSV as text/csv.')
  t.equal((await api(app, 'GET', '/api/v1/licenses')).json.total, 6, 'the refused imports issued nothing')
})
