import t from 'tap'
import { createPool, createPrismaClient } from '../../src/db/prisma.js'
import { LicenseCache } from '../../src/license/cache.js'
import { createLicense } from '../../src/license/licenses.js'
import { newPcid } from '../../src/license/pcid.js'
import { createTestDatabase } from '../helpers/db.js'

t.test('a daily poll naming one serial reuses its plan: Postgres does not plan the statement on every poll', async (t) => {
  const url = await createTestDatabase(t)
  // One connection, so the statement's plan statistics below are those of the polls' connection.
  const pool = createPool(url, 1)
  const prisma = createPrismaClient(url, 1, pool)
  t.teardown(async () => { await prisma.$disconnect(); await pool.end() })
  const program = await prisma.program.create({ data: { name: 'ishop' } })
  const pcids = Array.from({ length: 12 }, () => newPcid())
  await prisma.pcid.createMany({ data: pcids.map((id) => ({ id, address: '127.0.0.1' })) })
  const keys: string[] = []
  for (let i = 0; i < pcids.length; i++) keys.push((await createLicense(prisma, { programId: program.id, programName: 'ishop', customerName: `C${i}`, seatLimit: 1 })).key)
  const cache = new LicenseCache(pool, prisma, 60_000)
  // Every PC a different one, as in a day of polls: each reads the database.
  for (let i = 0; i < pcids.length; i++) {
    const facts = await cache.facts(pcids[i], [keys[i]], false)
    t.equal(facts.known, true)
    t.equal(facts.licenses.get(keys[i])?.program, 'ishop')
  }
  // The poll's statement, whatever its name: the one reading seats with the licenses.
  const { rows } = await pool.query<{ name: string, generic_plans: string, custom_plans: string }>(
    "SELECT name, generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE '%LEFT JOIN seat s%'")
  t.equal(rows.length, 1, 'one statement served these polls')
  const statement = rows[0]
  t.ok(Number(statement?.generic_plans) >= pcids.length - 5, `planned once and reused: ${JSON.stringify(statement)}`)

  // Several serials in one poll: the statement with a list of keys, same facts.
  const both = await cache.facts(newPcid(), [keys[0], keys[1]], false)
  t.equal(both.known, false)
  t.same([...both.licenses.keys()].sort(), [keys[0], keys[1]].sort())
})
