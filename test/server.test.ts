import { existsSync } from 'node:fs'
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { adminQuery, createTestDatabase } from './helpers/db.js'
import { freePort, spawnServer, waitForOk } from './helpers/process.js'

t.test('a bad setting stops start-up with one readable line', async (t) => {
  const server = spawnServer({ PORT: 'eighty' })
  t.equal(await server.exited, 1)
  t.equal(server.output(), 'Invalid configuration: PORT must be a number (got "eighty")\n')
})

t.test('with DATABASE_URL: migrates, serves, stops on SIGTERM', async (t) => {
  const url = await createTestDatabase(t, { migrated: false })
  const port = await freePort()
  const server = spawnServer({ DATABASE_URL: url, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' })
  t.teardown(() => { server.child.kill('SIGKILL') })
  await waitForOk(`http://127.0.0.1:${port}/readyz`)
  const body = await (await fetch(`http://127.0.0.1:${port}/myweb/iupdate.php?f=getpcid`)).text()
  const [row] = await adminQuery('SELECT id FROM pcid', [], url)
  t.equal(body, `PCID=${row.id}\r\n`)
  server.child.kill('SIGTERM')
  t.equal(await server.exited, 0)
})

t.test('without DATABASE_URL: an embedded Postgres in DATA_DIR, data kept across restarts, no orphan', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'iupdate-server-test-'))
  // Run as root, embedded Postgres drops to a `postgres` user, who must be able to enter the folder.
  await chmod(dataDir, 0o755)
  t.teardown(async () => { await rm(dataDir, { recursive: true, force: true }) })
  const env = { DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(await freePort()), HOST: '127.0.0.1', LOG_LEVEL: 'warn' }
  const pidFile = join(dataDir, 'postgres', 'postmaster.pid')

  const port1 = await freePort()
  const first = spawnServer({ ...env, PORT: String(port1) })
  t.teardown(() => { first.child.kill('SIGKILL') })
  await waitForOk(`http://127.0.0.1:${port1}/readyz`, 120_000)
  const pcid = (await (await fetch(`http://127.0.0.1:${port1}/myweb/iupdate.php?f=getpcid&prog=ishop`)).text()).trim()
  t.match(pcid, /^PCID=\w{26}$/)
  const postgresPid = Number((await readFile(pidFile, 'utf8')).split('\n')[0])
  first.child.kill('SIGINT')
  t.equal(await first.exited, 0)
  t.notOk(existsSync(pidFile), 'Postgres shut down cleanly')
  t.throws(() => process.kill(postgresPid, 0), 'no Postgres process left behind')

  const port2 = await freePort()
  const second = spawnServer({ ...env, PORT: String(port2) })
  t.teardown(() => { second.child.kill('SIGKILL') })
  await waitForOk(`http://127.0.0.1:${port2}/readyz`, 120_000)
  const password = /^127\.0\.0\.1:\*:\*:iupdate:(\S+)$/m.exec(await readFile(join(dataDir, 'pgpass'), 'utf8'))?.[1] ?? ''
  const rows = await adminQuery('SELECT program FROM pcid WHERE id = $1', [pcid.slice(5)], `postgresql://iupdate:${password}@127.0.0.1:${env.EMBEDDED_PG_PORT}/iupdate`)
  t.same(rows, [{ program: 'ishop' }], 'the PCID issued before the restart is still there')
  second.child.kill('SIGTERM')
  t.equal(await second.exited, 0)
  t.notOk(existsSync(pidFile))
})
