import { execFileSync, spawnSync } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { parse } from 'yaml'
import { PACKAGE_ROOT } from '../src/paths.js'

const COMPOSE = join(PACKAGE_ROOT, 'docker-compose.yml')

t.test('docker-compose.yml: Postgres 17, the app from the Dockerfile, health checks, volumes', async (t) => {
  const compose = parse(await readFile(COMPOSE, 'utf8'))
  const { db, app } = compose.services
  t.match(db.image, /^postgres:17/)
  t.ok(db.healthcheck?.test, 'the database has a health check')
  t.match(db.volumes, [/^db-data:\/var\/lib\/postgresql\/data$/], 'database files on a named volume')
  t.equal(app.build, '.', 'the app is built from the Dockerfile')
  t.same(app.depends_on, { db: { condition: 'service_healthy' } }, 'the app waits for a healthy database')
  t.match(app.healthcheck.test.join(' '), /\/readyz/)
  t.match(app.environment.DATABASE_URL, /@db:5432\//)
  const volumes = (app.volumes as string[]).map((v) => v.split(':')[0])
  t.same(volumes.sort(), ['app-data', 'ftp'])
  t.same(Object.keys(compose.volumes).sort(), ['app-data', 'db-data', 'ftp'])
  t.equal(app.environment.FTP_ROOT, '/srv/ftp')
  t.equal(app.environment.DATA_DIR, '/srv/data')
})

t.test('the Dockerfile runs migrations with the real Prisma CLI of the version in package.json', async (t) => {
  const dockerfile = await readFile(join(PACKAGE_ROOT, 'Dockerfile'), 'utf8')
  const entrypoint = await readFile(join(PACKAGE_ROOT, 'docker-entrypoint.sh'), 'utf8')
  const lock = JSON.parse(await readFile(join(PACKAGE_ROOT, 'package-lock.json'), 'utf8'))
  const prismaVersion = lock.packages['node_modules/prisma'].version
  t.match(dockerfile, `npm install -g prisma@${prismaVersion}`)
  t.match(entrypoint, /prisma migrate deploy/)
  t.match(dockerfile, /MIGRATE_ON_START=false/, 'the server does not migrate a second time')
})

const hasCompose = spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0
t.test('docker-compose config accepts the file', { skip: hasCompose ? false : 'docker-compose is not installed (.ci/run installs it)' }, async (t) => {
  const out = execFileSync('docker-compose', ['-f', COMPOSE, 'config'], { encoding: 'utf8', env: { ...process.env, POSTGRES_PASSWORD: 'secret' } })
  t.match(out, /DATABASE_URL: postgresql:\/\/iupdate:secret@db:5432\/iupdate/)
})
