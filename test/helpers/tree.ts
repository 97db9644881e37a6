import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import type { Test } from 'tap'

/** Writes a file tree (path → content) in a fresh temporary folder and returns its real path. */
export async function makeTree (t: Test, files: Record<string, string | Buffer>): Promise<string> {
  const root = await realpath(await mkdtemp(join(tmpdir(), 'iupdate-tree-')))
  t.teardown(async () => { await rm(root, { recursive: true, force: true }) })
  await writeTree(root, files)
  return root
}

export async function writeTree (root: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true })
    await writeFile(join(root, path), content)
  }
}

/** Polls `check` until it is true, for at most `ms`; returns how long it took. */
export async function eventually (check: () => boolean, ms: number): Promise<number> {
  const started = Date.now()
  while (!check()) {
    if (Date.now() - started > ms) throw new Error(`not true within ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  return Date.now() - started
}
