import t from 'tap'
import { createPrismaClient } from '../../src/db/prisma.js'
import { createLicense, findLicense } from '../../src/license/licenses.js'
import { bindSeat, freeSeats, seatState } from '../../src/license/seats.js'
import { newPcid } from '../../src/license/pcid.js'
import { buildTestApp } from '../helpers/app.js'

t.test('two app instances on one database race for the last seat: exactly one wins', async (t) => {
  const one = await buildTestApp(t)
  const two = await buildTestApp(t, {}, { databaseUrl: one.databaseUrl })
  const prisma = one.app.prisma
  const program = await prisma.program.create({ data: { name: 'ishop' } })
  const pcids = Array.from({ length: 40 }, () => newPcid())
  await prisma.pcid.createMany({ data: pcids.map((id) => ({ id, address: '127.0.0.1' })) })

  for (const limit of [1, 3]) {
    for (let round = 0; round < 5; round++) {
      const license = await createLicense(prisma, { programId: program.id, programName: 'ishop', customerName: 'Race', seatLimit: limit })
      const racers = pcids.slice(round * 8, round * 8 + 8)
      const results = await Promise.all(racers.map(async (pcid, i) => await bindSeat((i % 2 === 0 ? one : two).app.pg, license.id, pcid)))
      t.equal(results.filter((r) => r === 'bound').length, limit, `limit ${limit}, round ${round}: ${limit} bound`)
      t.equal(results.filter((r) => r === 'full').length, racers.length - limit)
      t.equal(await prisma.seat.count({ where: { licenseId: license.id } }), limit, 'never more seats than the limit')
    }
  }
})

t.test('binding is idempotent per PCID; seats can be freed', async (t) => {
  const { app } = await buildTestApp(t)
  const prisma = app.prisma
  const program = await prisma.program.create({ data: { name: 'ishop' } })
  const [a, b] = [newPcid(), newPcid()]
  await prisma.pcid.createMany({ data: [{ id: a, address: 'x' }, { id: b, address: 'x' }] })
  const license = await createLicense(prisma, { programId: program.id, programName: 'ishop', customerName: 'C', seatLimit: 1 })
  t.equal(await seatState(prisma, license.id, a, 1), 'free')
  t.equal(await bindSeat(app.pg, license.id, a), 'bound')
  t.equal(await seatState(prisma, license.id, a, 1), 'bound')
  t.equal(await seatState(prisma, license.id, b, 1), 'full')
  const [{ lastSeenAt: first }] = await prisma.seat.findMany()
  await new Promise((resolve) => setTimeout(resolve, 20))
  t.equal(await bindSeat(app.pg, license.id, a), 'already')
  const [{ lastSeenAt: second }] = await prisma.seat.findMany()
  t.ok(second > first, 'last seen is updated')
  t.equal(await bindSeat(app.pg, license.id, b), 'full')
  t.equal(await freeSeats(prisma, license.id, a), 1)
  t.equal(await bindSeat(app.pg, license.id, b), 'bound', 'a freed seat can be taken')
  t.equal(await freeSeats(prisma, license.id), 1)
  t.equal(await bindSeat(app.pg, '00000000-0000-0000-0000-000000000000', a), 'gone')
})

t.test('licenses are found by key exactly, however the key is typed', async (t) => {
  const { app, databaseUrl } = await buildTestApp(t)
  const prisma = app.prisma
  const program = await prisma.program.create({ data: { name: 'ishop' } })
  const end = new Date('2027-01-01T00:00:00Z')
  const { key, id } = await createLicense(prisma, { programId: program.id, programName: 'ishop', customerName: 'C', maintenanceEnd: end, seatLimit: 2 })
  t.same(await findLicense(prisma, key.toLowerCase().replace(/-/g, '')), { id, key, program: 'ishop', status: 'active', maintenanceEnd: end, seatLimit: 2 })
  t.equal(await findLicense(prisma, 'not a key'), undefined)
  const other = createPrismaClient(databaseUrl, 1)
  t.teardown(async () => { await other.$disconnect() })
  t.equal(await findLicense(other, key.replace(/^1/, '2')), undefined, 'a key with a bad check is not looked up')
})
