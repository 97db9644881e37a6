/**
 * `npm run db:migrate`: applies pending migrations to DATABASE_URL, or to the embedded
 * Postgres in DATA_DIR when DATABASE_URL is not set, and exits.
 */
import pino from 'pino'
import { loadConfig } from '../config.js'
import { startEmbeddedPostgres } from '../db/embedded.js'
import { migrate } from '../db/migrate.js'
import { startupFailureLine } from '../startup.js'

try {
  const config = loadConfig()
  const log = pino({ level: config.LOG_LEVEL })
  const embedded = config.DATABASE_URL === undefined
    ? await startEmbeddedPostgres({ dataDir: config.DATA_DIR, port: config.EMBEDDED_PG_PORT, log, purpose: 'npm run db:migrate', whenInUse: 'share' })
    : undefined
  try {
    const result = await migrate(config.DATABASE_URL ?? embedded!.url)
    log.info({ applied: result.applied, alreadyApplied: result.alreadyApplied.length, modified: result.modified }, 'migrations up to date')
  } finally {
    await embedded?.stop()
  }
} catch (err) {
  process.stderr.write(`${startupFailureLine(err)}\n`)
  process.exit(1)
}
