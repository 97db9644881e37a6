// Builds iupdate-client (client/) after `npm ci`, so that `npx iupdate-client` works on a fresh
// clone: its sources and the server modules it shares (src/protocol, src/license,
// src/storage/version.ts) compile into dist/ exactly as `npm run build` compiles them.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const tsc = `${root}node_modules/typescript/bin/tsc`
if (!existsSync(`${root}client/src/main.ts`) || !existsSync(tsc)) {
  // A production install (`--omit=dev`) or the Docker build's first layer: built later, or never.
  console.log('iupdate-client: sources or TypeScript not installed; skipping its build')
  process.exit(0)
}
const result = spawnSync(process.execPath, [tsc, '-p', `${root}client/tsconfig.json`], { stdio: 'inherit' })
process.exit(result.status ?? 1)
