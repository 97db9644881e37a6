import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

function findPackageRoot (start: string): string {
  let dir = start
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir)
    if (parent === dir) throw new Error('package.json not found above ' + start)
    dir = parent
  }
  return dir
}

/** The project folder, whether running from src/ (tests) or dist/src/ (npm start). */
export const PACKAGE_ROOT = findPackageRoot(dirname(fileURLToPath(import.meta.url)))
export const MIGRATIONS_DIR = join(PACKAGE_ROOT, 'prisma', 'migrations')
