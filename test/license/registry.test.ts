import t from 'tap'
import { AuditLog } from '../../src/admin/audit-log.js'
import { createPool, createPrismaClient } from '../../src/db/prisma.js'
import { BulkImport } from '../../src/license/import.js'
import { generateKey } from '../../src/license/key.js'
import { LicenseRegistry } from '../../src/license/registry.js'
import { createTestDatabase } from '../helpers/db.js'

t.test('a new key that is taken already is drawn again, for one license and for an import', async (t) => {
  const pool = createPool(await createTestDatabase(t), 2)
  const prisma = createPrismaClient('', 2, pool)
  t.teardown(async () => {
    await prisma.$disconnect()
    await pool.end()
  })
  await prisma.program.create({ data: { name: 'ishop' } })
  // The keys handed out before drawing at random again: a clash of 90 random bits, on demand.
  const forced: string[] = []
  const evicted: string[] = []
  const registry = new LicenseRegistry(prisma, {
    audit: new AuditLog(prisma),
    changed: (key) => { evicted.push(key) },
    generateKey: (program) => forced.shift() ?? generateKey(program)
  })

  const first = await registry.issue('ishop', { customerName: 'A' }, 'test')
  forced.push(first.key)
  const second = await registry.issue('ishop', { customerName: 'B', seatLimit: 3 }, 'test')
  t.not(second.key, first.key, 'not a conflict: the taken key is drawn again')
  t.match(second, { customerName: 'B', seatLimit: 3, program: { name: 'ishop' }, _count: { seats: 0 } })

  // Taken keys, and one key drawn twice within the same import.
  const twin = generateKey('ishop')
  forced.push(second.key, first.key, twin, twin)
  const importer = new BulkImport(pool, { audit: new AuditLog(prisma), changed: () => {}, generateKey: (program) => forced.shift() ?? generateKey(program) })
  t.same(await importer.import('licenses', 'ishop,C\nishop,D\nishop,E\nishop,F\nishop,G\n', { encoding: 'utf-8', actor: 'test' }), { imported: 5 })
  const imported = await prisma.license.findMany({ where: { customerName: { in: ['C', 'D', 'E', 'F', 'G'] } }, orderBy: { customerName: 'asc' } })
  t.same(imported.map((i) => i.customerName), ['C', 'D', 'E', 'F', 'G'])
  const keys = new Set([first.key, second.key, ...imported.map((i) => i.key)])
  t.equal(keys.size, 7, 'every license has a key of its own')
  t.equal(await prisma.license.count(), 7)
  for (const item of imported) t.equal((await registry.find(item.key)).customerName, item.customerName, `${item.key} is ${item.customerName}`)
  t.same(forced, [], 'every forced key was offered')
  t.same((await prisma.auditEntry.findMany({ orderBy: { id: 'asc' } })).map((e) => e.action), ['license.create', 'license.create', 'license.import'])
  t.same(evicted, [], 'new licenses were in no cache')
})
