// Runs `prisma generate` offline. The Prisma CLI insists on a schema engine binary
// even though generate never executes it, and would try to download one; pointing
// it at any existing file keeps it from reaching for the network.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const env = {
  ...process.env,
  PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? process.execPath,
  CHECKPOINT_DISABLE: '1',
  PRISMA_HIDE_UPDATE_MESSAGE: '1'
}
const cli = fileURLToPath(new URL('../node_modules/prisma/build/index.js', import.meta.url))
if (!existsSync(cli)) {
  // `npm ci --omit=dev` (a production install): the client was generated at build time.
  console.log('prisma CLI not installed; skipping prisma generate')
  process.exit(0)
}
const result = spawnSync(process.execPath, [cli, 'generate'], { env, stdio: 'inherit' })
process.exit(result.status ?? 1)
