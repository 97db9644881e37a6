import t from 'tap'
import { ConfigError, loadConfig } from '../src/config.js'

t.test('defaults', async (t) => {
  const config = loadConfig({})
  t.equal(config.PORT, 8080)
  t.equal(config.FTP_ROOT, './ftp')
  t.equal(config.DATA_DIR, './data')
  t.equal(config.DATABASE_URL, undefined)
  t.equal(config.MIGRATE_ON_START, true)
  t.equal(config.LOG_LEVEL, 'info')
})

t.test('values from the environment, empty ones counting as unset', async (t) => {
  const config = loadConfig({ PORT: '9000', HOST: '', DATABASE_URL: 'postgresql://u@db:5432/x', PUBLIC_URL: 'https://updates.example.com/', MIGRATE_ON_START: 'false' })
  t.equal(config.PORT, 9000)
  t.equal(config.HOST, '0.0.0.0')
  t.equal(config.DATABASE_URL, 'postgresql://u@db:5432/x')
  t.equal(config.PUBLIC_URL, 'https://updates.example.com', 'trailing slash dropped')
  t.equal(config.MIGRATE_ON_START, false)
})

t.test('a bad value is one readable message naming the variable', async (t) => {
  t.throws(() => loadConfig({ PORT: 'eighty' }), new ConfigError('Invalid configuration: PORT must be a number (got "eighty")'))
  t.throws(() => loadConfig({ PORT: '70000' }), { message: /PORT must be between 0 and 65535/ })
  t.throws(() => loadConfig({ DATABASE_URL: 'mysql://x' }), { message: /DATABASE_URL must be a postgresql:\/\/ URL/ })
  t.throws(() => loadConfig({ LOG_LEVEL: 'loud' }), { message: /LOG_LEVEL must be one of/ })
  t.throws(() => loadConfig({ MIGRATE_ON_START: 'maybe' }), { message: /MIGRATE_ON_START must be true or false/ })
  const both = t.throws(() => loadConfig({ PORT: 'x', RATE_LIMIT_MAX: '0' })) as Error
  t.match(both.message, /PORT .*; RATE_LIMIT_MAX must be greater than 0/)
  t.notMatch(both.message, /\n/, 'one line')
})
