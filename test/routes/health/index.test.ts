import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify from 'fastify'
import fp from 'fastify-plugin'
import t from 'tap'
import app, { serverOptions } from '../../../src/app.js'
import { loadConfig } from '../../../src/config.js'
import { createTestDatabase } from '../../helpers/db.js'

t.test('/healthz fails once the server cannot recover by itself (src/server.ts tells it), so a supervisor restarts it', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'iupdate-health-'))
  t.teardown(async () => { await rm(dataDir, { recursive: true, force: true }) })
  const config = { ...loadConfig({ LOG_LEVEL: 'silent', DATA_DIR: dataDir, FTP_ROOT: join(dataDir, 'ftp') }), DATABASE_URL: await createTestDatabase(t) }
  const state: { failure?: string } = {}
  const instance = Fastify(serverOptions(config))
  instance.decorate('unrecoverable', () => state.failure)
  await instance.register(fp(app), { config })
  t.teardown(async () => { await instance.close() })

  t.same((await instance.inject({ url: '/healthz' })).json(), { status: 'ok' })
  state.failure = 'the embedded Postgres exited and 5 restarts failed'
  const failing = await instance.inject({ url: '/healthz' })
  t.equal(failing.statusCode, 503)
  t.same(failing.json(), { status: 'failing', reason: 'the embedded Postgres exited and 5 restarts failed' })
  t.equal((await instance.inject({ url: '/readyz' })).statusCode, 200, '/readyz keeps its meaning: this database is reachable')
})
