import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Test } from 'tap'
import app, { serverOptions } from '../../src/app.js'
import { loadConfig, type Config } from '../../src/config.js'
import { createTestDatabase } from './db.js'

export interface TestApp {
  app: FastifyInstance
  config: Config & { DATABASE_URL: string }
  databaseUrl: string
}

/**
 * The application on a database of its own, as a test sees it. `env` overrides
 * settings (as strings, exactly as the environment would give them).
 */
export interface TestAppOptions {
  databaseUrl?: string
  /** Extra routes or hooks registered beside the app (inside its error handling). */
  extend?: (fastify: FastifyInstance) => Promise<void>
}

export async function buildTestApp (t: Test, env: Record<string, string> = {}, options: TestAppOptions = {}): Promise<TestApp> {
  const databaseUrl = options.databaseUrl ?? await createTestDatabase(t)
  const dataDir = await mkdtemp(join(tmpdir(), 'iupdate-test-data-'))
  t.teardown(async () => { await rm(dataDir, { recursive: true, force: true }) })
  const config = { ...loadConfig({ LOG_LEVEL: 'silent', DATA_DIR: dataDir, FTP_ROOT: join(dataDir, 'ftp'), MESSAGE_MIN_FREE_DISK_BYTES: '0', ...env }), DATABASE_URL: databaseUrl }
  const instance = Fastify(serverOptions(config))
  await instance.register(fp(app), { config })
  if (options.extend !== undefined) await instance.register(fp(options.extend))
  await instance.ready()
  t.teardown(async () => { await instance.close() })
  return { app: instance, config, databaseUrl }
}

/** Starts the app on a real socket (127.0.0.1, a free port) and returns its base URL. */
export async function listen (instance: FastifyInstance): Promise<string> {
  return await instance.listen({ port: 0, host: '127.0.0.1' })
}
