import t from 'tap'
import { AuditLog } from '../../src/admin/audit-log.js'
import { createPrismaClient } from '../../src/db/prisma.js'
import { generateKey } from '../../src/license/key.js'
import { LicenseRegistry } from '../../src/license/registry.js'
import { createTestDatabase } from '../helpers/db.js'

async function * lines (...names: string[]): AsyncGenerator<{ line: number, cells: string[] }> {
  for (const [i, name] of names.entries()) yield { line: i + 1, cells: ['ishop', name] }
}

t.test('a new key that is taken already is drawn again, for one license and for an import', async (t) => {
  const prisma = createPrismaClient(await createTestDatabase(t), 2)
  t.teardown(async () => { await prisma.$disconnect() })
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
  const imported = await registry.import(lines('C', 'D', 'E', 'F', 'G'), 'test')
  t.same(imported.map((i) => i.customerName), ['C', 'D', 'E', 'F', 'G'], 'in the order of the lines')
  const keys = new Set([first.key, second.key, ...imported.map((i) => i.key)])
  t.equal(keys.size, 7, 'every license has a key of its own')
  t.equal(await prisma.license.count(), 7)
  for (const item of imported) t.equal((await registry.find(item.key)).customerName, item.customerName, `${item.key} is ${item.customerName}`)
  t.same(forced, [], 'every forced key was offered')
  t.same((await prisma.auditEntry.findMany({ orderBy: { id: 'asc' } })).map((e) => e.action), ['license.create', 'license.create', 'license.import'])
  t.same(evicted, [], 'new licenses were in no cache')
})
