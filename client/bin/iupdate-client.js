#!/usr/bin/env node
// iupdate-client is compiled with the server's shared modules into the repository's dist/
// (docs/client.md): `npm ci` builds it (scripts/build-client.mjs), `npm run build` too.
import { existsSync } from 'node:fs'

const entry = new URL('../../dist/client/src/main.js', import.meta.url)
if (!existsSync(entry)) {
  process.stderr.write('iupdate-client is not built: run `npm ci` or `npm run build` in the repository.\n')
  process.exit(1)
}
await import(entry.href)
