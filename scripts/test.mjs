// `npm test`: builds the server, then runs tap. `npm run test:slow` (`--slow`) runs test/slow/
// (and `npm run test:browser` test/browser/) instead, without a coverage threshold (it covers a few paths, the rest is npm test's). Tests use DATABASE_URL (a server where
// they may create databases) when it is set; otherwise an embedded Postgres is started in a
// temporary folder for this run and removed afterwards. Each test file creates a database
// of its own on that server, so files run in parallel without seeing each other's rows.
import { spawn, spawnSync } from 'node:child_process'
import { chmod, mkdtemp, rm } from 'node:fs/promises'
import { readdirSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const build = spawnSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' })
if (build.status !== 0) process.exit(build.status ?? 1)

let embedded
let dir
const env = { ...process.env }
if (!env.DATABASE_URL) {
  // The server's own embedded Postgres (src/db/embedded.ts, just built): as root it runs
  // Postgres as the `postgres` user, from where that user can reach the programs.
  const { startEmbeddedPostgres } = await import('../dist/src/db/embedded.js')
  const { default: pino } = await import('pino')
  dir = await mkdtemp(join(tmpdir(), 'iupdate-test-pg-'))
  // The postgres user must pass through it (mkdtemp makes it 0700).
  await chmod(dir, 0o711)
  embedded = await startEmbeddedPostgres({
    dataDir: dir,
    port: await freePort(),
    // Its FATAL lines (connections ended by DROP DATABASE … WITH (FORCE)) are the tests' own doing.
    log: pino({ level: 'error' }),
    purpose: 'npm test',
    settings: ['-c', 'max_connections=300', '-c', 'fsync=off']
  })
  for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => { embedded.stop().finally(() => process.exit(1)) })
  env.DATABASE_URL = embedded.adminUrl
  process.stdout.write(`# tests use an embedded Postgres on port ${new URL(embedded.adminUrl).port}\n`)
} else {
  process.stdout.write('# tests use the Postgres server named by DATABASE_URL\n')
}

// One migrated database per run, which every test file's database is a copy of
// (test/helpers/db.ts): CREATE DATABASE … TEMPLATE instead of migrating each one.
const { migrate } = await import('../dist/src/db/migrate.js')
const { default: pg } = await import('pg')
const template = `iupdate_test_template_${process.pid}`
const adminQuery = async (sql) => {
  const client = new pg.Client({ connectionString: env.DATABASE_URL })
  await client.connect()
  try { await client.query(sql) } finally { await client.end() }
}
await adminQuery(`CREATE DATABASE "${template}"`)
const templateUrl = new URL(env.DATABASE_URL)
templateUrl.pathname = `/${template}`
await migrate(templateUrl.toString())
env.IUPDATE_TEST_TEMPLATE = template

// --slow runs test/slow/, --browser test/browser/ (the web console in headless Chromium) or the
// files named after it; --screenshots makes the browser tests write docs/console/*.png.
const args = process.argv.slice(2)
if (args.includes('--screenshots')) env.CONSOLE_SCREENSHOTS = 'docs/console'
const rest = args.slice(1).filter((arg) => arg !== '--screenshots')
const suite = { '--slow': 'test/slow', '--browser': 'test/browser' }[args[0]]
const tapArgs = suite === undefined ? args : ['--disable-coverage', ...(rest.some((arg) => arg.endsWith('.ts')) ? rest : [...glob(suite), ...rest])]
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
await adminQuery(`DROP DATABASE IF EXISTS "${template}" WITH (FORCE)`).catch(() => {})
if (embedded) {
  await embedded.stop()
  await rm(dir, { recursive: true, force: true })
}
process.exit(code)

function glob (folder) {
  return readdirSync(folder).filter((name) => name.endsWith('.test.ts')).map((name) => `${folder}/${name}`)
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
