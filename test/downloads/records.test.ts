import t, { type Test } from 'tap'
import { createPrismaClient } from '../../src/db/prisma.js'
import { DownloadRecords, type DownloadStart } from '../../src/downloads/records.js'
import { adminQuery, createTestDatabase } from '../helpers/db.js'
import { CuttableProxy, throughProxy } from '../helpers/proxy.js'

const quiet = { warn () {}, error () {} }
const range = (start: number, end: number, bytes = end - start + 1): { range: { start: number, end: number }, bytes: number } => ({ range: { start, end }, bytes })

async function setup (t: Test): Promise<{ url: string, records: DownloadRecords }> {
  const url = await createTestDatabase(t)
  const prisma = createPrismaClient(url, 4)
  t.teardown(async () => { await prisma.$disconnect() })
  return { url, records: new DownloadRecords(prisma, quiet) }
}

const start = (key: string, expiresAt = new Date(Date.now() + 3_600_000)): DownloadStart =>
  ({ tokenKey: key, pcid: 'P', licenseId: null, program: 'ishop', folder: '2.7.0.0', path: 'ishop/2.7.0.0/a.exe', size: 1000, expiresAt })

t.test('coverage: finished responses count; a broken one counts once the client continues after it', async (t) => {
  const { url, records } = await setup(t)
  const id = await records.begin(start('h1'), 1000) ?? ''
  t.equal(await records.begin(start('h1'), 10), id, 'the same record on a second first use')
  await records.record(id, { sent: [range(0, 999, 400)], finished: false })
  t.equal((await records.find('h1'))?.spent, false, 'a broken transfer covers nothing yet')
  await records.record(id, { sent: [range(400, 999)], finished: true })
  t.equal((await records.find('h1'))?.spent, true, 'resumed at 400 and finished: the whole file is covered')

  const second = { id: await records.begin(start('h2'), 500) ?? '' }
  await records.record(second.id, { sent: [range(0, 499)], finished: true })
  await records.record(second.id, { sent: [range(600, 999)], finished: true })
  t.equal((await records.find('h2'))?.spent, false, 'a gap: not spent')
  await records.record(second.id, { sent: [range(500, 599), range(0, 9)], finished: true })
  t.equal((await records.find('h2'))?.spent, true, 'multi-range filling the gap')
  const [row] = await adminQuery<{ n: number }>('SELECT bytes_served::int AS n FROM download WHERE token_hash = \'h2\'', [], url)
  t.equal(row.n, 1010, 'every byte sent is counted')
})

t.test('the responses begun on one link may ask for at most twice its file', async (t) => {
  const { records } = await setup(t)
  const id = await records.begin(start('g'), 999)
  t.ok(id)
  t.equal(await records.begin(start('g'), 999), id, 'a second response for almost all of it')
  t.equal(await records.begin(start('g'), 10), undefined, 'a third is refused: 2008 bytes asked for a file of 1000')
  t.equal(await records.begin(start('g2'), 1000), await records.begin(start('g2'), 1000))
  await records.record((await records.find('g2'))?.id ?? '', { sent: [range(0, 999)], finished: true })
  t.equal(await records.begin(start('g2'), 1), undefined, 'spent')
})

t.test('expired links are cleaned up once, safely from several instances; the records stay', async (t) => {
  const { url, records } = await setup(t)
  const other = createPrismaClient(url, 2)
  t.teardown(async () => { await other.$disconnect() })
  await records.begin(start('old1', new Date(Date.now() - 1000)), 1)
  await records.begin(start('old2', new Date(Date.now() - 1000)), 1)
  await records.begin(start('live'), 1)
  const counts = await Promise.all([records.cleanupExpired(), new DownloadRecords(other, quiet).cleanupExpired()])
  t.equal(counts[0] + counts[1], 2, 'each expired link cleaned once')
  const rows = await adminQuery('SELECT token_hash, covered IS NULL AS cleared FROM download ORDER BY token_hash NULLS FIRST', [], url)
  t.same(rows, [{ token_hash: null, cleared: true }, { token_hash: null, cleared: true }, { token_hash: 'live', cleared: false }])
})

t.test('deliveries recorded while the database is away are written when it is back', async (t) => {
  const direct = await createTestDatabase(t)
  const target = new URL(direct)
  const proxy = new CuttableProxy(target.hostname, Number(target.port || 5432))
  const port = await proxy.start()
  t.teardown(async () => { await proxy.cut() })
  const prisma = createPrismaClient(throughProxy(direct, port), 2)
  t.teardown(async () => { await prisma.$disconnect() })
  const recorder = new DownloadRecords(prisma, quiet, { retryMs: 50 })
  const id = await recorder.begin(start('h'), 1000) ?? ''
  await proxy.cut()
  await recorder.record(id, { sent: [range(0, 999)], finished: true })
  t.equal((await adminQuery('SELECT completed_at FROM download', [], direct))[0].completed_at, null, 'not yet')
  await proxy.start(port)
  for (let i = 0; i < 100; i++) {
    const [row] = await adminQuery('SELECT completed_at FROM download', [], direct)
    if (row.completed_at !== null) break
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  t.not((await adminQuery('SELECT completed_at FROM download', [], direct))[0].completed_at, null, 'recorded after the outage')
  await recorder.stop()
})
