import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { UnsafePathError, assertSafeSegments, resolveInside, segmentProblem } from '../../src/storage/paths.js'

t.test('unsafe segments are refused before the disk is touched', async (t) => {
  for (const bad of ['', '.', '..', 'a/b', 'a\\b', 'nul\u0000byte', 'bell\u0007', 'del\u007f', 'c1\u0085', '/etc', 'C:evil', 'x'.repeat(256)]) {
    t.not(segmentProblem(bad), null, JSON.stringify(bad))
  }
  for (const good of ['setup.exe', 'Έγγραφα', '@win32', '2.7.0.0', 'a b', '..hidden', 'x..y']) {
    t.equal(segmentProblem(good), null, good)
  }
  t.throws(() => assertSafeSegments(['ishop', '..', 'etc']), UnsafePathError)
})

t.test('resolveInside follows symlinks only while they stay inside the root', async (t) => {
  const base = await realpath(await mkdtemp(join(tmpdir(), 'iupdate-paths-')))
  t.teardown(async () => { await rm(base, { recursive: true, force: true }) })
  const root = join(base, 'ftp')
  await mkdir(join(root, 'prog', '1.0'), { recursive: true })
  await writeFile(join(root, 'prog', '1.0', 'a.exe'), 'a')
  await writeFile(join(base, 'secret.txt'), 'secret')
  await symlink(join(base, 'secret.txt'), join(root, 'prog', '1.0', 'escape.txt'))
  await symlink(join(root, 'prog', '1.0', 'a.exe'), join(root, 'prog', '1.0', 'inside.exe'))
  await symlink(base, join(root, 'prog', 'up'))
  t.equal(await resolveInside(root, ['prog', '1.0', 'a.exe']), join(root, 'prog', '1.0', 'a.exe'))
  t.equal(await resolveInside(root, ['prog', '1.0', 'inside.exe']), join(root, 'prog', '1.0', 'a.exe'))
  t.equal(await resolveInside(root, ['prog', '1.0', 'escape.txt']), null)
  t.equal(await resolveInside(root, ['prog', 'up', 'secret.txt']), null)
  t.equal(await resolveInside(root, ['prog', 'missing']), null)
  await t.rejects(resolveInside(root, ['prog', '..', '..', 'secret.txt']), UnsafePathError)
})
