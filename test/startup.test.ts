import { createServer } from 'node:net'
import t from 'tap'
import { ConfigError } from '../src/config.js'
import { migrate, MigrationError } from '../src/db/migrate.js'
import { databaseFailure, portFailure, startupFailureLine, StartupError } from '../src/startup.js'
import { databaseUrl } from './helpers/db.js'
import { freePort, occupyPort } from './helpers/process.js'

t.test('the line printed for a failed start is never empty or "undefined"', async (t) => {
  t.equal(startupFailureLine(new StartupError('port 8080 is in use: set PORT')), 'port 8080 is in use: set PORT')
  t.equal(startupFailureLine(new ConfigError('Invalid configuration: PORT must be a number')), 'Invalid configuration: PORT must be a number')
  t.equal(startupFailureLine(new MigrationError('migration x failed earlier')), 'migration failed: migration x failed earlier')
  t.equal(startupFailureLine(undefined), 'a failure without a message (unexpected: LOG_LEVEL=debug shows where it came from)')
  t.equal(startupFailureLine(Object.assign(new Error(''), { code: 'ECONNREFUSED' })), 'ECONNREFUSED (unexpected: LOG_LEVEL=debug shows where it came from)')
})

t.test('a port this server cannot listen on: which setting to change, and who holds it', async (t) => {
  const port = await freePort()
  await occupyPort(t, port)
  const inUse = await new Promise<unknown>((resolve) => { createServer().once('error', resolve).listen(port, '127.0.0.1') })
  t.match((await portFailure(inUse, port, '127.0.0.1', 'PORT'))?.message, new RegExp(`^port ${port} is in use( by node \\(pid ${process.pid}\\))?: stop that program, or set PORT to a free port$`))
  t.equal((await portFailure({ code: 'EACCES' }, 80, '0.0.0.0', 'PORT'))?.message, 'port 80 needs more privileges than this user has: set PORT above 1023')
  t.equal((await portFailure({ code: 'EADDRNOTAVAIL' }, 8080, '10.9.9.9', 'PORT'))?.message, '10.9.9.9 is not an address of this machine: set HOST to one of its addresses, or 0.0.0.0')
  t.equal(await portFailure(new Error('other'), 8080, '0.0.0.0', 'PORT'), undefined)
})

t.test('a database start-up cannot use', async (t) => {
  const closed = await freePort()
  const refused = await migrate(`postgresql://nobody@127.0.0.1:${closed}/x`).catch((err: unknown) => err)
  t.equal(databaseFailure(refused)?.message, 'cannot reach the database named by DATABASE_URL (ECONNREFUSED): start it, or correct DATABASE_URL')
  const missing = await migrate(databaseUrl('iupdate_no_such_database')).catch((err: unknown) => err)
  t.equal(databaseFailure(missing)?.message, 'the database named in DATABASE_URL does not exist: create it (createdb), or correct DATABASE_URL')
  t.equal(databaseFailure({ code: '28P01' })?.message, 'the database refuses the user or password in DATABASE_URL: correct DATABASE_URL')
  t.equal(databaseFailure(new Error('a bug')), undefined)
})
