import Fastify from 'fastify'
import fp from 'fastify-plugin'
import pino from 'pino'
import app, { serverOptions } from './app.js'
import { ConfigError, loadConfig, type Config } from './config.js'
import { startEmbeddedPostgres, type EmbeddedDatabase } from './db/embedded.js'
import { migrate } from './db/migrate.js'

/** The only file that listens. Starts the embedded Postgres when DATABASE_URL is not set. */
async function main (): Promise<void> {
  let config: Config
  try {
    config = loadConfig()
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`)
      process.exit(1)
    }
    throw err
  }
  const log = pino({ level: config.LOG_LEVEL })

  let embedded: EmbeddedDatabase | undefined
  let databaseUrl = config.DATABASE_URL
  if (databaseUrl === undefined) {
    embedded = await startEmbeddedPostgres({ dataDir: config.DATA_DIR, port: config.EMBEDDED_PG_PORT, log })
    databaseUrl = embedded.url
  }
  if (config.MIGRATE_ON_START) {
    const result = await migrate(databaseUrl)
    log.info({ applied: result.applied, alreadyApplied: result.alreadyApplied.length }, 'migrations up to date')
    if (result.modified.length > 0) log.warn({ modified: result.modified }, 'applied migrations were edited since')
  }

  const server = Fastify(serverOptions(config))
  await server.register(fp(app), { config: { ...config, DATABASE_URL: databaseUrl } })

  let stopping = false
  async function shutdown (signal: string): Promise<void> {
    if (stopping) return
    stopping = true
    log.info({ signal }, 'shutting down')
    await server.close().catch((err: unknown) => log.error({ err }, 'closing the server failed'))
    await embedded?.stop().catch((err: unknown) => log.error({ err }, 'stopping embedded postgres failed'))
    process.exit(0)
  }
  process.once('SIGINT', () => { shutdown('SIGINT').catch(() => process.exit(1)) })
  process.once('SIGTERM', () => { shutdown('SIGTERM').catch(() => process.exit(1)) })

  try {
    // A long accept queue (Node's default is 511): at 9:00 thousands of PCs connect within
    // seconds, and connections the kernel cannot queue are dropped (the system's
    // net.core.somaxconn caps it).
    await server.listen({ port: config.PORT, host: config.HOST, backlog: 4096 })
  } catch (err) {
    log.fatal({ err }, 'could not listen')
    await embedded?.stop()
    process.exit(1)
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`iupdate-server failed to start: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
