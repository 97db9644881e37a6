import { createHash } from 'node:crypto'
import type { Dirent, Stats } from 'node:fs'
import { open, readdir, readFile, realpath, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { isWithin, segmentProblem } from './paths.js'
import { decodeControlFile, parseInstall, parseRename } from './text-files.js'
import { parseVersion, compareVersions, type Version } from './version.js'

/** One downloadable file, as the index knows it. */
export interface RepoFile {
  /** Path below FTP_ROOT with forward slashes: `ishop/2.7.0.0/@win32/x.dll`. Also the URL path after `/ftp/`. */
  readonly path: string
  /** `FILE`: the path below the destination folder, with backslashes. */
  readonly file: string
  /** `DEST`: `%TEMP`, `%PROG`, `%WIN32`, `%TEMP\sub`, or a destination from @rename.txt as written. */
  readonly dest: string
  readonly size: number
  /** `DATE`: the modification time, UTC, ISO 8601 to the second (`2026-11-01T10:00:00Z`). */
  readonly date: string
  readonly mtimeMs: number
  readonly sha256: string
  /** What identifies this version of the file on disk, besides size and mtime. */
  readonly ctimeMs: number
  readonly ino: number
}

/** A version folder, an update part folder or a serial folder, with its files. */
export interface Folder {
  /** The folder's name as on disk: `2.7.0.0`, `5.6`, `@ABCD-…`. */
  readonly name: string
  readonly version: Version
  readonly files: readonly RepoFile[]
  /** What the vendor should fix (folderProblems): nothing listed, files that clash on Windows, files too deep. */
  readonly problems: readonly string[]
}

export interface ProgramIndex {
  readonly name: string
  /** Version folders, oldest first. */
  readonly versions: readonly Folder[]
  /** `ftp/<program>/@install.txt` */
  readonly install: readonly string[]
  readonly updates: {
    readonly parts: readonly Folder[]
    /** Serial folders by normalised serial (see normalizeSerial). */
    readonly serials: ReadonlyMap<string, Folder>
    /** `ftp/<program>/updates/@install.txt` */
    readonly install: readonly string[]
  }
  /** Every listed file by `path`, for the file server. */
  readonly files: ReadonlyMap<string, RepoFile>
}

export const DEST_TEMP = '%TEMP'
export const DEST_PROG = '%PROG'
export const DEST_WIN32 = '%WIN32'
const WIN32_FOLDER = '@win32'
const MAX_DEPTH = 16

/** Serial folder names and client serials compare without dashes, spaces or case. */
export function normalizeSerial (serial: string): string {
  return serial.replace(/[-\s]/g, '').toUpperCase()
}

export interface ScanProblem { path: string, problem: string }

/** What a scan of one program needs from its caller. */
export interface ScanContext {
  realRoot: string
  /** Files changed less than this long ago are still being written: left out, scan again later. */
  settleMs: number
  /** Paths below these prefixes were published whole (renamed into place): no need to wait for them to settle. */
  settledPrefixes?: readonly string[]
  /** The program's index from the previous scan: unchanged files keep their hash, unread. */
  previous?: ProgramIndex
  hashes: HashLimiter
  now: () => number
  /** Called for each directory seen (to watch it). */
  onDirectory?: (path: string) => void
  onProblem?: (problem: ScanProblem) => void
}

export interface ScanResult {
  index: ProgramIndex
  /** Files left out because they were still changing. */
  unsettled: number
}

interface ScanState { unsettled: number }

/** Scans ftp/<program>/. The program folder's real path must lie inside the root. */
export async function scanProgram (ctx: ScanContext, program: string): Promise<ScanResult> {
  const state: ScanState = { unsettled: 0 }
  const dir = await childPath(ctx, ctx.realRoot, program)
  if (dir === null) throw new Error(`program folder ${program} is not inside the repository`)
  ctx.onDirectory?.(dir)
  const versions: Folder[] = []
  let updates: ProgramIndex['updates'] = { parts: [], serials: new Map(), install: [] }
  for (const entry of await readdirSafe(dir)) {
    if (!entry.isDirectory() && !entry.isSymbolicLink()) continue
    if (entry.name === 'updates') {
      const updatesDir = await childDirectory(ctx, dir, entry)
      if (updatesDir !== null) updates = await scanUpdates(ctx, state, updatesDir, `${program}/updates`)
      continue
    }
    const version = parseVersion(entry.name)
    if (version === null) continue
    const versionDir = await childDirectory(ctx, dir, entry)
    if (versionDir === null) continue
    versions.push({ name: entry.name, version, ...await scanFolder(ctx, state, versionDir, `${program}/${entry.name}`, DEST_TEMP) })
  }
  versions.sort((a, b) => compareVersions(a.version, b.version))
  const files = new Map<string, RepoFile>()
  for (const folder of [...versions, ...updates.parts, ...updates.serials.values()]) {
    for (const file of folder.files) files.set(file.path, file)
  }
  return {
    index: { name: program, versions, install: await readInstall(join(dir, '@install.txt')), updates, files },
    unsettled: state.unsettled
  }
}

async function scanUpdates (ctx: ScanContext, state: ScanState, dir: string, prefix: string): Promise<ProgramIndex['updates']> {
  ctx.onDirectory?.(dir)
  const parts: Folder[] = []
  const serials = new Map<string, Folder>()
  for (const entry of await readdirSafe(dir)) {
    if (!entry.isDirectory() && !entry.isSymbolicLink()) continue
    if (entry.name.startsWith('@') && entry.name.length > 1) {
      const serialDir = await childDirectory(ctx, dir, entry)
      if (serialDir === null) continue
      serials.set(normalizeSerial(entry.name.slice(1)), { name: entry.name, version: [], ...await scanFolder(ctx, state, serialDir, `${prefix}/${entry.name}`, DEST_PROG) })
      continue
    }
    const version = parseVersion(entry.name)
    if (version === null) continue
    const partDir = await childDirectory(ctx, dir, entry)
    if (partDir === null) continue
    parts.push({ name: entry.name, version, ...await scanFolder(ctx, state, partDir, `${prefix}/${entry.name}`, DEST_PROG) })
  }
  parts.sort((a, b) => compareVersions(a.version, b.version))
  return { parts, serials, install: await readInstall(join(dir, '@install.txt')) }
}

/**
 * The files of one version, part or serial folder. Files directly in it go to `baseDest`;
 * `@win32/` to %WIN32; a subfolder named in @rename.txt to its destination as written;
 * any other subfolder to `baseDest\<subfolder>`. Deeper folders stay in FILE with backslashes.
 * Other `@` names (the control files) are never listed.
 */
async function scanFolder (outer: ScanContext, state: ScanState, dir: string, prefix: string, baseDest: string): Promise<{ files: RepoFile[], problems: string[] }> {
  const skipped: string[] = []
  // What is left out for being too deep is one of the folder's problems, besides being logged.
  const ctx: ScanContext = {
    ...outer,
    onProblem: (problem) => {
      if (problem.problem.startsWith('deeper than')) skipped.push(`${problem.path}: ${problem.problem}`)
      outer.onProblem?.(problem)
    }
  }
  ctx.onDirectory?.(dir)
  const rename = parseRename(await readControlFile(join(dir, '@rename.txt')))
  const files: RepoFile[] = []
  await Promise.all((await readdirSafe(dir)).map(async (entry) => {
    if (entry.name.startsWith('@')) {
      if (entry.name.toLowerCase() !== WIN32_FOLDER) return
      const sub = await childDirectory(ctx, dir, entry)
      if (sub !== null) await walk(ctx, state, sub, `${prefix}/${entry.name}`, DEST_WIN32, '', files, 1)
      return
    }
    const target = await childPath(ctx, dir, entry.name, entry)
    if (target === null) return
    const info = await statSafe(target)
    if (info === null) return
    if (info.isDirectory()) {
      const dest = rename.get(entry.name.toLowerCase()) ?? `${baseDest}\\${entry.name}`
      await walk(ctx, state, target, `${prefix}/${entry.name}`, dest, '', files, 1)
    } else if (info.isFile()) {
      const file = await describeFile(ctx, state, target, info, `${prefix}/${entry.name}`, entry.name, baseDest)
      if (file !== null) files.push(file)
    }
  }))
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  // A file still being written is left out for now, not a problem of the folder.
  return { files, problems: state.unsettled > 0 && files.length === 0 ? skipped : folderProblems(files, skipped) }
}

/**
 * What a vendor must fix in a folder (docs/protocol.md §5): nothing to download (no file is
 * listed: only control files, or all deeper than MAX_DEPTH folders), and files that would land
 * on one path on Windows, whose file names ignore case (`A.dll` and `a.dll`, or two
 * subfolders renamed to one destination). `skipped`: files left out, said already.
 */
export function folderProblems (files: ReadonlyArray<Pick<RepoFile, 'path' | 'file' | 'dest'>>, skipped: readonly string[] = []): string[] {
  const problems = [...skipped]
  if (files.length === 0) problems.push('nothing to download: no file of the folder is listed')
  const byTarget = new Map<string, string>()
  for (const file of files) {
    const target = `${file.dest}\\${file.file}`
    const other = byTarget.get(target.toLowerCase())
    if (other === undefined) byTarget.set(target.toLowerCase(), file.path)
    else problems.push(`${other} and ${file.path} land on one path on Windows: ${target}`)
  }
  return problems
}

/**
 * How the files of a version folder about to be published would be listed (the rules of
 * scanFolder and walk, on the paths alone): their FILE and DEST, and those too deep. For
 * refusing a folder whose problems (folderProblems) would only show once it is in place.
 */
export function plannedListing (paths: readonly string[], renameText: string, baseDest: string): { files: Array<Pick<RepoFile, 'path' | 'file' | 'dest'>>, skipped: string[] } {
  const rename = parseRename(renameText)
  const files: Array<Pick<RepoFile, 'path' | 'file' | 'dest'>> = []
  const skipped: string[] = []
  for (const path of paths) {
    const segments = path.split('/')
    const [first, ...rest] = segments
    if (first.startsWith('@') && (first.toLowerCase() !== WIN32_FOLDER || rest.length === 0)) continue
    if (segments.length - 1 > MAX_DEPTH) {
      skipped.push(`${path}: deeper than ${MAX_DEPTH} folders; not listed`)
      continue
    }
    if (rest.length === 0) files.push({ path, file: first, dest: baseDest })
    else if (first.toLowerCase() === WIN32_FOLDER) files.push({ path, file: rest.join('\\'), dest: DEST_WIN32 })
    else files.push({ path, file: rest.join('\\'), dest: rename.get(first.toLowerCase()) ?? `${baseDest}\\${first}` })
  }
  return { files, skipped }
}

async function walk (ctx: ScanContext, state: ScanState, dir: string, prefix: string, dest: string, below: string, out: RepoFile[], depth: number): Promise<void> {
  if (depth > MAX_DEPTH) {
    ctx.onProblem?.({ path: prefix, problem: `deeper than ${MAX_DEPTH} folders; not listed` })
    return
  }
  ctx.onDirectory?.(dir)
  await Promise.all((await readdirSafe(dir)).map(async (entry) => {
    const target = await childPath(ctx, dir, entry.name, entry)
    if (target === null) return
    const info = await statSafe(target)
    if (info === null) return
    const file = below === '' ? entry.name : `${below}\\${entry.name}`
    if (info.isDirectory()) {
      await walk(ctx, state, target, `${prefix}/${entry.name}`, dest, file, out, depth + 1)
    } else if (info.isFile()) {
      const described = await describeFile(ctx, state, target, info, `${prefix}/${entry.name}`, file, dest)
      if (described !== null) out.push(described)
    }
  }))
}

async function describeFile (ctx: ScanContext, state: ScanState, abs: string, info: Stats, path: string, file: string, dest: string): Promise<RepoFile | null> {
  if (!isSettled(ctx, info) && ctx.settledPrefixes?.some((prefix) => path.startsWith(prefix)) !== true) {
    state.unsettled++
    return null
  }
  const known = ctx.previous?.files.get(path)
  if (known !== undefined && known.size === info.size && known.mtimeMs === info.mtimeMs && known.ctimeMs === info.ctimeMs && known.ino === info.ino) {
    return known.file === file && known.dest === dest ? known : { ...known, file, dest }
  }
  const sha256 = await ctx.hashes.run(async () => await sha256File(abs, info.size))
  // Changed while we read it: still being written.
  const after = await statSafe(abs)
  if (after === null || !sameVersion(info, after)) {
    state.unsettled++
    return null
  }
  const date = new Date(Math.floor(info.mtimeMs / 1000) * 1000).toISOString().replace('.000Z', 'Z')
  return { path, file, dest, size: info.size, date, mtimeMs: info.mtimeMs, sha256, ctimeMs: info.ctimeMs, ino: info.ino }
}

function isSettled (ctx: ScanContext, info: Stats): boolean {
  // ctime too: a copy that restores an old mtime (cp -p, rsync -t) still moves ctime.
  // Whole milliseconds: file times carry fractions that Date.now() drops.
  return ctx.now() - Math.floor(Math.max(info.mtimeMs, info.ctimeMs)) >= ctx.settleMs
}

function sameVersion (a: Stats, b: Stats): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.ino === b.ino
}

/**
 * The path of `name` inside `parentReal` (a real path inside the root), or null when the
 * name is unsafe or it is a symlink leading outside the root (or nowhere). This is the only
 * place the scanner makes a path.
 */
async function childPath (ctx: ScanContext, parentReal: string, name: string, entry?: Dirent): Promise<string | null> {
  const problem = segmentProblem(name)
  if (problem !== null) {
    ctx.onProblem?.({ path: join(parentReal, name), problem: `name is ${problem}; not listed` })
    return null
  }
  const path = join(parentReal, name)
  if (entry !== undefined && !entry.isSymbolicLink()) return path
  let real: string
  try {
    real = await realpath(path)
  } catch {
    return null
  }
  if (!isWithin(ctx.realRoot, real)) {
    ctx.onProblem?.({ path, problem: 'symlink leads outside FTP_ROOT; not listed' })
    return null
  }
  return real
}

async function childDirectory (ctx: ScanContext, parentReal: string, entry: Dirent): Promise<string | null> {
  const path = await childPath(ctx, parentReal, entry.name, entry)
  if (path === null) return null
  const info = await statSafe(path)
  return info?.isDirectory() === true ? path : null
}

async function readdirSafe (dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true })
  } catch {
    return []
  }
}

async function statSafe (path: string): Promise<Stats | null> {
  try {
    return await stat(path)
  } catch {
    return null
  }
}

export async function readControlFile (path: string): Promise<string> {
  try {
    return decodeControlFile(await readFile(path))
  } catch {
    return ''
  }
}

async function readInstall (path: string): Promise<string[]> {
  return parseInstall(await readControlFile(path))
}

/** Bounds how many files are read for hashing at once. */
export class HashLimiter {
  private running = 0
  private readonly waiting: Array<() => void> = []

  constructor (private readonly concurrency = 16) {}

  async run<T> (task: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) await new Promise<void>((resolve) => this.waiting.push(resolve))
    this.running++
    try {
      return await task()
    } finally {
      this.running--
      this.waiting.shift()?.()
    }
  }
}

const SMALL_FILE = 1 << 20

/**
 * A file's SHA-256, read a megabyte at a time into one buffer. Not through a read stream: a
 * server whose stream code V8 first optimized on the scan's file streams (a repository with
 * big files) was, in some starts, a fifth slower on every request after, HTTP sockets being
 * streams too (docs/performance.md, "Slow starts"). Reading with the file handle also copies less.
 */
export async function sha256File (path: string, size = Infinity): Promise<string> {
  const hash = createHash('sha256')
  if (size <= SMALL_FILE) return hash.update(await readFile(path)).digest('hex')
  const handle = await open(path, 'r')
  try {
    const buffer = Buffer.allocUnsafe(SMALL_FILE)
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null)
      if (bytesRead === 0) break
      hash.update(buffer.subarray(0, bytesRead))
    }
  } finally {
    await handle.close()
  }
  return hash.digest('hex')
}
