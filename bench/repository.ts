/**
 * Repository benchmark: builds PROGRAMS × VERSIONS × FILES small files (default
 * 100 × 50 × 100 = 500,000) in a temporary folder, then reports
 *  - the first scan (with hashing) against a bare walk of the same tree (readdir + stat),
 *  - memory of the index,
 *  - lookups per second against a bare Map.get loop over the same keys,
 *  - how long a change in one program takes to show up, and that no other program is rescanned.
 * Run: npm run bench:repository   (BENCH_PROGRAMS=10 etc. for a smaller tree)
 */
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Repository, type RepositoryLog } from '../src/storage/repository.js'
import { parseVersion } from '../src/storage/version.js'

const PROGRAMS = Number(process.env.BENCH_PROGRAMS ?? 100)
const VERSIONS = Number(process.env.BENCH_VERSIONS ?? 50)
const FILES = Number(process.env.BENCH_FILES ?? 100)

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`

async function build (root: string): Promise<void> {
  const content = Buffer.alloc(256, 7)
  for (let p = 0; p < PROGRAMS; p++) {
    for (let v = 0; v < VERSIONS; v++) {
      const dir = join(root, `prog${p}`, `1.${v}.0`)
      await mkdir(join(dir, 'sub'), { recursive: true })
      const writes: Array<Promise<void>> = []
      for (let f = 0; f < FILES; f++) writes.push(writeFile(join(dir, f % 10 === 0 ? 'sub' : '', `file${f}.dll`), content))
      await Promise.all(writes)
    }
  }
}

async function bareWalk (dir: string): Promise<number> {
  let count = 0
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) count += await bareWalk(path)
    else { await stat(path); count++ }
  }
  return count
}

const quiet: RepositoryLog = { debug () {}, info () {}, warn () {}, error () {} }
const scanned: Record<string, number> = {}
const counting: RepositoryLog = {
  ...quiet,
  debug (obj, msg) { if (msg === 'program scanned') { const p = (obj as { program: string }).program; scanned[p] = (scanned[p] ?? 0) + 1 } }
}

const root = await mkdtemp(join(tmpdir(), 'iupdate-bench-repo-'))
try {
  const total = PROGRAMS * VERSIONS * FILES
  console.log(`building ${PROGRAMS} programs × ${VERSIONS} versions × ${FILES} files = ${total.toLocaleString()} files`)
  let started = performance.now()
  await build(root)
  console.log(`built in ${((performance.now() - started) / 1000).toFixed(1)} s`)

  started = performance.now()
  const walked = await bareWalk(root)
  const walkMs = performance.now() - started

  global.gc?.()
  const heapBefore = process.memoryUsage().heapUsed
  const repository = new Repository({ root, log: counting, settleMs: 0, debounceMs: 100, rescanMs: 0 })
  started = performance.now()
  await repository.start()
  const scanMs = performance.now() - started
  global.gc?.()
  const heapAfter = process.memoryUsage().heapUsed
  const listed = repository.programNames().reduce((sum, name) => sum + (repository.program(name)?.files.size ?? 0), 0)

  // Rescan of an unchanged tree: hashes come from the cache.
  started = performance.now()
  await repository.rescanAll()
  const rescanMs = performance.now() - started

  // Lookups: latest version, update match, file by path; reference: Map.get over the same paths.
  const paths = Array.from({ length: 10_000 }, (_, i) => `prog${i % PROGRAMS}/1.${i % VERSIONS}.0/file${(i % FILES) || 1}.dll`)
  const requested = parseVersion('1.7.0.3')!
  const LOOKUPS = 1_000_000
  started = performance.now()
  let hits = 0
  for (let i = 0; i < LOOKUPS; i++) {
    const program = `prog${i % PROGRAMS}`
    if (repository.latest(program) !== undefined) hits++
    repository.updates(program, requested, 'SERIAL')
    if (repository.file(paths[i % paths.length]) !== undefined) hits++
  }
  const lookupMs = performance.now() - started
  const reference = new Map(paths.map((p) => [p, p]))
  started = performance.now()
  let refHits = 0
  for (let i = 0; i < LOOKUPS; i++) {
    if (reference.get(`prog${i % PROGRAMS}/x`) === undefined) refHits++
    if (reference.get(paths[i % paths.length]) !== undefined) refHits++
  }
  const refMs = performance.now() - started

  // A change in one program.
  const before = { ...scanned }
  started = performance.now()
  await mkdir(join(root, 'prog0', '9.0.0'))
  await writeFile(join(root, 'prog0', '9.0.0', 'new.exe'), 'new')
  while (repository.latest('prog0')?.name !== '9.0.0') await new Promise((resolve) => setTimeout(resolve, 10))
  const changeMs = performance.now() - started
  const others = Object.keys(scanned).filter((p) => p !== 'prog0' && scanned[p] !== before[p])

  await repository.stop()
  console.log('\nresults')
  console.log(`  files listed          ${listed.toLocaleString()} (walk saw ${walked.toLocaleString()})`)
  console.log(`  first scan (hashing)  ${(scanMs / 1000).toFixed(2)} s   bare walk ${(walkMs / 1000).toFixed(2)} s   ratio ${(scanMs / walkMs).toFixed(1)}×`)
  console.log(`  rescan, unchanged     ${(rescanMs / 1000).toFixed(2)} s   ratio to bare walk ${(rescanMs / walkMs).toFixed(1)}×`)
  console.log(`  index memory (heap)   ${mb(heapAfter - heapBefore)}   ${((heapAfter - heapBefore) / listed).toFixed(0)} bytes per file   rss ${mb(process.memoryUsage().rss)}`)
  console.log(`  lookups               ${(LOOKUPS / lookupMs * 1000).toFixed(0)} requests/s (latest + update match + file, ${hits} hits)   reference Map.get ${(LOOKUPS / refMs * 1000).toFixed(0)}/s (${refHits})   ratio ${(refMs / lookupMs).toFixed(2)}`)
  console.log(`  change shows after    ${changeMs.toFixed(0)} ms (target 10,000 ms)   other programs rescanned: ${others.length}`)
} finally {
  await rm(root, { recursive: true, force: true })
}
