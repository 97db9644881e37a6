import { createHash } from 'node:crypto'
import { appendFile, mkdir, rename, rm, stat, symlink, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import iconv from 'iconv-lite'
import t, { type Test } from 'tap'
import { Repository, type RepositoryLog } from '../../src/storage/repository.js'
import { HashLimiter, scanProgram, sha256File, type RepoFile } from '../../src/storage/scan.js'
import { parseVersion } from '../../src/storage/version.js'
import { eventually, makeTree, writeTree } from '../helpers/tree.js'

const sha = (content: string | Buffer): string => createHash('sha256').update(content).digest('hex')
const v = (text: string): number[] => [...(parseVersion(text) ?? [])]

function recordingLog (): RepositoryLog & { entries: Array<{ msg: string, obj: Record<string, unknown> }> } {
  const entries: Array<{ msg: string, obj: Record<string, unknown> }> = []
  const record = (obj: object, msg: string): void => { entries.push({ msg, obj: obj as Record<string, unknown> }) }
  return { entries, debug: record, info: record, warn: record, error: record }
}

async function openRepository (t: Test, root: string, options: Partial<ConstructorParameters<typeof Repository>[0]> = {}): Promise<Repository> {
  const repository = new Repository({ root, log: recordingLog(), settleMs: 0, debounceMs: 50, ...options })
  await repository.start()
  t.teardown(async () => { await repository.stop() })
  return repository
}

const lines = (files: readonly RepoFile[] | undefined): string[] => (files ?? []).map((f) => `${f.dest} | ${f.file} | ${f.path}`)

t.test('Version location: %TEMP, @win32, @rename.txt, other subfolders, nested paths', async (t) => {
  const root = await makeTree(t, {
    'prog/@install.txt': iconv.encode('%TEMP\\setup.exe\r\n', 'win1253'),
    'prog/1.0/setup.exe': 'old',
    'prog/2.0/setup.exe': 'new installer',
    'prog/2.0/@rename.txt': iconv.encode('Έγγραφα=C:\\Χρήστες\\Έγγραφα\r\nreports=D:\\Reports\r\n', 'win1253'),
    'prog/2.0/@install.txt': 'never listed',
    'prog/2.0/@win32/sys.dll': 'dll',
    'prog/2.0/@win32/drivers/x.sys': 'sys',
    'prog/2.0/Έγγραφα/Οδηγίες.txt': 'greek',
    'prog/2.0/Reports/sales/m.rpt': 'report',
    'prog/2.0/extras/a/b/c.txt': 'deep',
    'prog/2.0/@other/hidden.txt': 'reserved @ folder',
    'prog/notaversion/x.exe': 'ignored'
  })
  const repo = await openRepository(t, root)
  t.same(repo.programNames(), ['prog'])
  t.equal(repo.latest('prog')?.name, '2.0')
  t.same(repo.program('prog')?.install, ['%TEMP\\setup.exe'])
  t.same(lines(repo.latest('prog')?.files), [
    '%WIN32 | sys.dll | prog/2.0/@win32/sys.dll',
    '%WIN32 | drivers\\x.sys | prog/2.0/@win32/drivers/x.sys',
    'D:\\Reports | sales\\m.rpt | prog/2.0/Reports/sales/m.rpt',
    '%TEMP\\extras | a\\b\\c.txt | prog/2.0/extras/a/b/c.txt',
    '%TEMP | setup.exe | prog/2.0/setup.exe',
    'C:\\Χρήστες\\Έγγραφα | Οδηγίες.txt | prog/2.0/Έγγραφα/Οδηγίες.txt'
  ].sort((a, b) => (a.split(' | ')[2] < b.split(' | ')[2] ? -1 : 1)))
  const setup = repo.file('prog/2.0/setup.exe')
  const info = await stat(join(root, 'prog/2.0/setup.exe'))
  t.equal(setup?.size, 'new installer'.length)
  t.equal(setup?.sha256, sha('new installer'))
  t.equal(setup?.date, new Date(Math.floor(info.mtimeMs / 1000) * 1000).toISOString().replace('.000Z', 'Z'), 'DATE to the second')
  t.match(setup?.date, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
  t.equal(repo.file('prog/2.0/@rename.txt'), undefined, '@ files are never downloads')
  t.equal(repo.file('prog/2.0/@other/hidden.txt'), undefined)
  t.equal(repo.file('prog/notaversion/x.exe'), undefined)
})

t.test('Update location: %PROG, longest matching part, the serial folder', async (t) => {
  const root = await makeTree(t, {
    'prog/updates/@install.txt': '%PROG\\patch.exe',
    'prog/updates/5.6/a.exe': '5.6',
    'prog/updates/5.6.12/a.exe': '5.6.12',
    'prog/updates/5.6.12.1/a.exe': '5.6.12.1',
    'prog/updates/5.6.12/@win32/w.dll': 'w',
    'prog/updates/5.6.12/Forms/f.frm': 'f',
    'prog/updates/@ABCD-1234/custom.rpt': 'serial',
    'prog/updates/notapart/x': 'ignored'
  })
  const repo = await openRepository(t, root)
  const match = (version: string, serial?: string): ReturnType<Repository['updates']> => repo.updates('prog', v(version), serial)
  t.equal(match('5.6.12.1').part?.name, '5.6.12.1')
  t.equal(match('5.6.12.7').part?.name, '5.6.12')
  t.equal(match('5.6.1').part?.name, '5.6', '5.6.1 matches 5.6, never 5.6.12')
  t.equal(match('5.7').part, undefined)
  t.same(lines(match('5.6.12.3').part?.files), [
    '%WIN32 | w.dll | prog/updates/5.6.12/@win32/w.dll',
    '%PROG\\Forms | f.frm | prog/updates/5.6.12/Forms/f.frm',
    '%PROG | a.exe | prog/updates/5.6.12/a.exe'
  ])
  t.same(match('5.6.12').install, ['%PROG\\patch.exe'])
  t.same(lines(match('1.0', 'abcd-1234').serial?.files), ['%PROG | custom.rpt | prog/updates/@ABCD-1234/custom.rpt'], 'serials match without case or dashes')
  t.equal(match('1.0', 'OTHER').serial, undefined)
  t.equal(match('1.0').serial, undefined)
  t.same(repo.updates('nosuch', v('1.0')), { part: undefined, serial: undefined, install: [] })
})

t.test('nothing outside the root: symlinks out are skipped, unsafe names too', async (t) => {
  const outside = await makeTree(t, { 'secret.txt': 'secret', 'dir/secret2.txt': 'secret2' })
  const root = await makeTree(t, { 'prog/1.0/ok.exe': 'ok', 'shared/lib.dll': 'shared inside the root' })
  await symlink(join(outside, 'secret.txt'), join(root, 'prog/1.0/link-out.txt'))
  await symlink(join(outside, 'dir'), join(root, 'prog/1.0/dir-out'))
  await symlink(join(root, 'shared/lib.dll'), join(root, 'prog/1.0/lib.dll'))
  await symlink(join(root, 'prog/1.0/missing'), join(root, 'prog/1.0/dangling'))
  await symlink(join(root, 'prog'), join(root, 'prog/1.0/loop'))
  await writeFile(join(root, 'prog/1.0/bad\u0001name.exe'), 'x')
  await writeFile(join(root, 'prog/1.0/back\\slash.exe'), 'x')
  const log = recordingLog()
  const repo = await openRepository(t, root, { log })
  const paths = (repo.latest('prog')?.files ?? []).map((f) => f.path)
  t.ok(paths.includes('prog/1.0/ok.exe'))
  t.ok(paths.includes('prog/1.0/lib.dll'), 'a symlink inside the root is followed')
  t.notOk(paths.some((p) => /link-out|dir-out|dangling|bad|back/.test(p)), 'nothing outside, dangling or unsafe')
  t.ok(paths.length < 100, 'a symlink loop ends')
  t.ok(log.entries.some((e) => e.msg === 'repository entry skipped' && /outside FTP_ROOT/.test(String(e.obj.problem))))
  t.equal(repo.file('prog/1.0/../../etc/passwd'), undefined)
  t.equal(repo.file('nopath'), undefined)

  // The tree changes after the scan: open() checks again.
  const listed = repo.file('prog/1.0/ok.exe')!
  t.equal(await repo.open(listed), join(root, 'prog/1.0/ok.exe'))
  await unlink(join(root, 'prog/1.0/ok.exe'))
  await symlink(join(outside, 'secret.txt'), join(root, 'prog/1.0/ok.exe'))
  t.equal(await repo.open(listed), null, 'a file swapped for a link out is not opened')
})

t.test('changes appear within 10 seconds, program by program', async (t) => {
  const root = await makeTree(t, { 'a/1.0/a.exe': 'a1', 'b/1.0/b.exe': 'b1' })
  const log = recordingLog()
  const repo = await openRepository(t, root, { log })
  const scans = (program: string): number => log.entries.filter((e) => e.msg === 'program scanned' && e.obj.program === program).length
  const bScans = scans('b')

  await writeTree(root, { 'a/2.0/a.exe': 'a2' })
  const took = await eventually(() => repo.latest('a')?.name === '2.0', 10_000)
  t.ok(took < 10_000, `a new version shows in ${took} ms`)
  t.equal(scans('b'), bScans, 'program b was not rescanned')

  await writeFile(join(root, 'a/2.0/a.exe'), 'a2 fixed')
  await eventually(() => repo.file('a/2.0/a.exe')?.sha256 === sha('a2 fixed'), 10_000)
  t.pass('a rewritten file gets its new hash')

  await writeTree(root, { 'c/1.0/c.exe': 'c' })
  await eventually(() => repo.programNames().includes('c'), 10_000)
  t.pass('a new program appears')

  await rm(join(root, 'a/2.0'), { recursive: true })
  await eventually(() => repo.latest('a')?.name === '1.0', 10_000)
  t.equal(repo.file('a/2.0/a.exe'), undefined, 'a removed version is gone, with its files')

  await rm(join(root, 'b'), { recursive: true })
  await eventually(() => !repo.programNames().includes('b'), 10_000)
  t.pass('a removed program is gone')

  await mkdir(join(root, 'a/updates/1.0'), { recursive: true })
  await writeFile(join(root, 'a/updates/1.0/p.exe'), 'patch')
  await eventually(() => repo.updates('a', v('1.0')).part?.files.length === 1, 10_000)
  t.pass('an update placed later appears')
})

t.test('without file system events, the periodic rescan sees changes', async (t) => {
  const root = await makeTree(t, { 'a/1.0/a.exe': 'a1' })
  const repo = await openRepository(t, root, { watch: false, rescanMs: 200 })
  await writeTree(root, { 'a/1.1/a.exe': 'a11' })
  await eventually(() => repo.latest('a')?.name === '1.1', 10_000)
  t.pass('seen by polling')
})

t.test('a file still being written is not listed until it settles', async (t) => {
  const root = await makeTree(t, { 'p/1.0/done.exe': 'done' })
  // Generous, so that a busy machine's late timers do not let the growing file settle in between.
  const repo = await openRepository(t, root, { settleMs: 1500 })
  await new Promise((resolve) => setTimeout(resolve, 1600))
  await repo.rescan('p')
  t.ok(repo.file('p/1.0/done.exe'), 'a settled file is listed')

  await writeFile(join(root, 'p/1.0/growing.exe'), 'start')
  let content = 'start'
  for (let i = 0; i < 8; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    await appendFile(join(root, 'p/1.0/growing.exe'), 'more')
    content += 'more'
    await repo.rescan('p')
    t.equal(repo.file('p/1.0/growing.exe'), undefined, `not listed while growing (${i})`)
  }
  await eventually(() => repo.file('p/1.0/growing.exe') !== undefined, 10_000)
  t.equal(repo.file('p/1.0/growing.exe')?.size, content.length, 'listed with its final size')
  t.equal(repo.file('p/1.0/growing.exe')?.sha256, sha(content))

  // An upload renamed into place (rsync) with an old mtime still waits: ctime moved.
  await writeFile(join(root, 'p/tmp.part'), 'rsynced')
  await rename(join(root, 'p/tmp.part'), join(root, 'p/1.0/rsynced.exe'))
  await repo.rescan('p')
  t.equal(repo.file('p/1.0/rsynced.exe'), undefined)
  await eventually(() => repo.file('p/1.0/rsynced.exe') !== undefined, 10_000)
})

t.test('hashes are computed once per file version', async (t) => {
  const root = await makeTree(t, { 'p/1.0/a.bin': 'one', 'p/1.0/b.bin': 'two' })
  let reads = 0
  const hashes = new HashLimiter()
  const counting = { run: async <T>(task: () => Promise<T>): Promise<T> => { reads++; return await hashes.run(task) } } as unknown as HashLimiter
  const ctx = { realRoot: root, settleMs: 0, hashes: counting, now: Date.now }
  const first = await scanProgram(ctx, 'p')
  t.equal(reads, 2)
  const second = await scanProgram({ ...ctx, previous: first.index }, 'p')
  t.equal(reads, 2, 'a rescan of unchanged files reads nothing')
  t.equal(second.index.files.get('p/1.0/a.bin')?.sha256, sha('one'))
  await writeFile(join(root, 'p/1.0/a.bin'), 'ONE')
  const third = await scanProgram({ ...ctx, previous: second.index }, 'p')
  t.equal(reads, 3, 'only the changed file is read again')
  t.equal(third.index.files.get('p/1.0/a.bin')?.sha256, sha('ONE'))
  t.equal(await sha256File(join(root, 'p/1.0/b.bin'), Infinity), sha('two'), 'large files are streamed')
})

t.test('folder problems: nothing to download, Windows name clashes, too deep; logged when they change', async (t) => {
  const deep = `${Array.from({ length: 17 }, (_, i) => `d${i}`).join('/')}/deep.txt`
  const root = await makeTree(t, {
    'prog/1.0/setup.exe': 'fine',
    'prog/2.0/@rename.txt': 'x=C:\\x\r\n',
    'prog/2.1/A.dll': '1',
    'prog/2.1/a.DLL': '2',
    [`prog/2.2/${deep}`]: 'deep'
  })
  const log = recordingLog()
  const repo = await openRepository(t, root, { log })
  const problems = (name: string): readonly string[] | undefined => repo.program('prog')?.versions.find((f) => f.name === name)?.problems
  t.same(problems('1.0'), [])
  t.match(problems('2.0'), [/nothing to download/])
  t.match(problems('2.1'), [/prog\/2\.1\/A\.dll and prog\/2\.1\/a\.DLL land on one path on Windows: %TEMP\\a\.DLL/])
  t.match(problems('2.2'), [/deeper than 16 folders/, /nothing to download/])
  await repo.rescan('prog')
  const reported = (): unknown[] => log.entries.filter((e) => e.msg === 'repository folder has problems').map((e) => e.obj.folder)
  t.same(reported().sort(), ['2.0', '2.1', '2.2'], 'each logged once over two scans')
  await unlink(join(root, 'prog/2.1/a.DLL'))
  await writeFile(join(root, 'prog/2.0/setup.exe'), 'now something')
  await repo.rescan('prog')
  t.same(problems('2.0'), [])
  t.same(problems('2.1'), [])
  t.same(reported().sort(), ['2.0', '2.1', '2.2'], 'fixed folders are not logged again')
})

t.test('a publish during a scan that began before it lists the new version when published() returns', async (t) => {
  // A large file keeps the first scan hashing while the new version's folder appears.
  const root = await makeTree(t, { 'prog/1.0/big.bin': Buffer.alloc(64 * 1024 * 1024, 7) })
  const repo = await openRepository(t, root, { watch: false, rescanMs: 0 })
  await writeFile(join(root, 'prog/1.0/big2.bin'), Buffer.alloc(64 * 1024 * 1024, 8))
  const scanning = repo.rescan('prog')
  // The scan has read the program's folder and is hashing by now (the hashes take far longer).
  await new Promise((resolve) => setTimeout(resolve, 50))
  await mkdir(join(root, 'prog/2.0'))
  await writeFile(join(root, 'prog/2.0/setup.exe'), 'installer 2.0')
  await repo.published('prog', 'prog/2.0/')
  t.same(repo.version('prog', '2.0')?.files.map((f) => f.file), ['setup.exe'], 'listed at once')
  await scanning
})
