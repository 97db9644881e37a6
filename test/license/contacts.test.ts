import t from 'tap'
import { createPrismaClient } from '../../src/db/prisma.js'
import { Contacts } from '../../src/license/contacts.js'
import { newPcid } from '../../src/license/pcid.js'
import { adminQuery, createTestDatabase } from '../helpers/db.js'

const quiet = { warn () {}, error () {} }

t.test('a row the database refuses is dropped alone: the rest of its batch is written', async (t) => {
  const url = await createTestDatabase(t)
  const prisma = createPrismaClient(url, 2)
  t.teardown(async () => { await prisma.$disconnect() })
  // A trigger refuses one program's rows, as Postgres refuses text it cannot store.
  await adminQuery(`CREATE FUNCTION refuse_poison() RETURNS trigger AS $$ BEGIN
    IF NEW.program = 'poison' THEN RAISE EXCEPTION 'refused' USING ERRCODE = '22021'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`, [], url)
  await adminQuery('CREATE TRIGGER refuse_poison BEFORE INSERT ON pcid_program FOR EACH ROW EXECUTE FUNCTION refuse_poison()', [], url)
  const contacts = new Contacts(prisma, { flushMs: 60_000, log: quiet })
  const pcids = Array.from({ length: 9 }, () => newPcid())
  for (const pcid of pcids) await contacts.register(pcid, { address: '127.0.0.1', userAgent: null, program: null })
  pcids.forEach((pcid, i) => contacts.record({ pcid, program: i === 4 ? 'poison' : 'ishop', version: '2.6.5.1', serial: null }))
  await contacts.flush()
  const rows = await adminQuery<{ n: number }>('SELECT count(*)::int AS n FROM pcid_program', [], url)
  t.equal(rows[0].n, 8, 'every row but the refused one')
  // The next flush has nothing left of the refused row to retry.
  contacts.record({ pcid: pcids[0], program: 'ishop', version: '2.7.0.0', serial: null })
  await contacts.flush()
  t.same(await adminQuery('SELECT version FROM pcid_program WHERE pcid = $1', [pcids[0]], url), [{ version: '2.7.0.0' }])
})

t.test('text Postgres cannot store never reaches a batch', async (t) => {
  const url = await createTestDatabase(t)
  const prisma = createPrismaClient(url, 2)
  t.teardown(async () => { await prisma.$disconnect() })
  const contacts = new Contacts(prisma, { flushMs: 60_000, log: quiet })
  const pcid = newPcid()
  await contacts.register(pcid, { address: '127.0.0.1', userAgent: null, program: null })
  contacts.record({ pcid, program: 'ishop', version: '2.6.5.1', serial: 'AB\u0000CD' })
  await contacts.flush()
  t.same(await adminQuery('SELECT serial FROM pcid_program WHERE pcid = $1', [pcid], url), [{ serial: 'ABCD' }])
})
