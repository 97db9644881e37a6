/**
 * `npm run admin -- <command>`: manage admin API tokens.
 *   token create --name <name>   prints a new token once (store it: only its hash is kept)
 *   token revoke <name|id>
 *   token list
 * Uses DATABASE_URL, or the embedded Postgres in DATA_DIR.
 */
import { parseArgs } from 'node:util'
import pino from 'pino'
import { createAdminToken, revokeAdminToken } from '../admin/bearer-tokens.js'
import { TOKEN_NAME } from '../admin/fields.js'
import { ConfigError, loadConfig } from '../config.js'
import { startEmbeddedPostgres } from '../db/embedded.js'
import { migrate } from '../db/migrate.js'
import { createPrismaClient } from '../db/prisma.js'

const USAGE = 'usage: npm run admin -- token create --name <name> | token revoke <name|id> | token list\n'

const { positionals, values } = parseArgs({ allowPositionals: true, options: { name: { type: 'string' } } })
const [noun, verb, arg] = positionals
if (noun !== 'token' || !['create', 'revoke', 'list'].includes(verb ?? '')) {
  process.stderr.write(USAGE)
  process.exit(2)
}

try {
  const config = loadConfig()
  const embedded = config.DATABASE_URL === undefined
    ? await startEmbeddedPostgres({ dataDir: config.DATA_DIR, port: config.EMBEDDED_PG_PORT, log: pino({ level: 'warn' }), purpose: 'npm run admin', whenInUse: 'share' })
    : undefined
  const url = config.DATABASE_URL ?? embedded!.url
  await migrate(url)
  const prisma = createPrismaClient(url, 1)
  try {
    if (verb === 'create') {
      const name = values.name ?? arg
      if (name === undefined || !TOKEN_NAME.test(name)) throw new Error('--name is required: letters, digits, . _ - @ (at most 64)')
      const existing = await prisma.adminToken.findUnique({ where: { name } })
      if (existing !== null) throw new Error(`a token named ${name} exists already`)
      const { id, token } = await createAdminToken(prisma, name)
      process.stdout.write(`Created token ${id} (${name}). It is shown only now:\n${token}\n`)
    } else if (verb === 'revoke') {
      if (arg === undefined) throw new Error('name or id of the token to revoke is required')
      if (!(await revokeAdminToken(prisma, arg))) throw new Error(`no active token ${arg}`)
      process.stdout.write(`Revoked ${arg}.\n`)
    } else {
      for (const t of await prisma.adminToken.findMany({ orderBy: { id: 'asc' } })) {
        process.stdout.write(`${t.id}\t${t.name}\tcreated ${t.createdAt.toISOString()}\t${t.revokedAt === null ? 'active' : `revoked ${t.revokedAt.toISOString()}`}\tlast used ${t.lastUsedAt?.toISOString() ?? 'never'}\n`)
      }
    }
  } finally {
    await prisma.$disconnect()
    await embedded?.stop()
  }
} catch (err) {
  process.stderr.write(`${err instanceof ConfigError ? '' : 'admin: '}${(err as Error).message}\n`)
  process.exit(1)
}
