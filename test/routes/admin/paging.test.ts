import t from 'tap'
import { ADMIN } from '../../helpers/admin.js'
import { buildTestApp } from '../../helpers/app.js'

t.test('every paged list, paged through, gives each row once, even when rows share their time', async (t) => {
  const { app } = await buildTestApp(t, { ADMIN_TOKEN: ADMIN })
  // As one import (one transaction) makes them: one created_at for all.
  const at = new Date('2026-11-01T09:00:00Z')
  await app.prisma.$executeRaw`INSERT INTO program (name, updated_at) VALUES ('ishop', now())`
  await app.prisma.$executeRaw`
    INSERT INTO license (id, key, program_id, customer_name, created_at, updated_at)
    SELECT gen_random_uuid(), 'KEY-' || i, (SELECT id FROM program), 'C', ${at}, ${at} FROM generate_series(1, 20000) AS i`
  await app.prisma.$executeRaw`INSERT INTO pcid (id, created_at, address, program) SELECT 'PC' || i, ${at}, '127.0.0.1', 'ishop' FROM generate_series(1, 2000) AS i`
  await app.prisma.$executeRaw`
    INSERT INTO download (id, pcid, program, folder, path, size, started_at, expires_at)
    SELECT gen_random_uuid(), 'PC' || i, 'ishop', '1.0', 'ishop/1.0/setup.exe', 1, ${at}, ${at} FROM generate_series(1, 2000) AS i`
  await app.prisma.$executeRaw`
    INSERT INTO client_message (id, pcid, program, user_id, subject, text, charset, received_at)
    SELECT gen_random_uuid(), 'PC' || i, 'ishop', 'u', 's', 't', 'utf8', ${at} FROM generate_series(1, 2000) AS i`
  await app.prisma.$executeRaw`INSERT INTO audit_log (at, actor, action, target) SELECT ${at}, 'a', 'license.create', 'K' || i FROM generate_series(1, 2000) AS i`
  await app.prisma.$executeRaw`INSERT INTO question (subject, text, created_by, created_at) SELECT 's' || i, 't', 'a', ${at} FROM generate_series(1, 2000) AS i`

  const lists: Array<[string, number, (item: any) => string]> = [
    ['/api/v1/licenses', 20_000, (i) => i.key],
    ['/api/v1/pcids', 2000, (i) => i.pcid],
    ['/api/v1/downloads', 2000, (i) => i.id],
    ['/api/v1/messages/inbox', 2000, (i) => i.id],
    ['/api/v1/audit', 2000, (i) => String(i.id)],
    ['/api/v1/messages/questions', 2000, (i) => String(i.id)]
  ]
  for (const [url, count, id] of lists) {
    const seen = new Set<string>()
    for (let offset = 0; offset < count; offset += 500) {
      const res = await app.inject({ url: `${url}?limit=500&offset=${offset}`, headers: { authorization: `Bearer ${ADMIN}` } })
      const page = res.json()
      t.equal(page.total, count)
      for (const item of page.items) seen.add(id(item))
    }
    t.equal(seen.size, count, `${url}: ${count} distinct rows in ${count / 500} pages`)
  }
})
