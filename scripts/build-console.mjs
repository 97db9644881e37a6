// Builds the web console (console/, docs/console.md) into dist/console with esbuild: one
// JavaScript bundle (Preact, htm, Chart.js), its stylesheet and index.html. Part of
// `npm run build`, so `npm start` serves it; it needs nothing but node_modules.
import { copyFile, mkdir } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const out = `${root}dist/console`
if (!existsSync(`${root}console/main.js`)) {
  console.log('console: sources not present; skipping its build')
  process.exit(0)
}
let esbuild
try {
  esbuild = await import('esbuild')
} catch {
  // A production install (--omit=dev) keeps the bundle built before, if any.
  console.log('console: esbuild not installed; skipping its build')
  process.exit(0)
}
await mkdir(out, { recursive: true })
await esbuild.build({
  entryPoints: [`${root}console/main.js`],
  bundle: true,
  format: 'esm',
  minify: true,
  sourcemap: false,
  target: 'es2022',
  legalComments: 'linked',
  outfile: `${out}/app.js`,
  logLevel: 'warning'
})
for (const file of ['index.html', 'style.css']) await copyFile(`${root}console/${file}`, `${out}/${file}`)
