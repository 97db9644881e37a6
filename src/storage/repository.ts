import { watch, type FSWatcher } from 'node:fs'
import { mkdir, readdir, realpath } from 'node:fs/promises'
import { isProgramName } from '../catalog/program-name.js'
import { resolveInside } from './paths.js'
import { HashLimiter, normalizeSerial, scanProgram, type Folder, type ProgramIndex, type RepoFile, type ScanProblem } from './scan.js'
import { bestMatchingPart, type Version } from './version.js'

type LogFn = (obj: object, msg: string) => void
/** The part of a pino logger the repository uses. */
export interface RepositoryLog { debug: LogFn, info: LogFn, warn: LogFn, error: LogFn }

export interface RepositoryOptions {
  root: string
  log: RepositoryLog
  /** A file must be unchanged this long before it is listed. */
  settleMs?: number
  /** Quiet time after a change event before the program is rescanned. */
  debounceMs?: number
  /** Full rescan interval, catching changes that file system events miss (e.g. on NFS); 0 = never. */
  rescanMs?: number
  /** Use file system events (inotify); without them only the periodic rescan sees changes. */
  watch?: boolean
}

export interface UpdateListing {
  part: Folder | undefined
  serial: Folder | undefined
  install: readonly string[]
}

/**
 * The ftp/ repository, indexed in memory. Lookups never touch the disk. Each program is
 * scanned on its own: a change event in a program's folders (or the periodic rescan)
 * rescans that program alone, reusing the hashes of unchanged files.
 */
export class Repository {
  readonly root: string
  private realRoot = ''
  private readonly log: RepositoryLog
  private readonly settleMs: number
  private readonly debounceMs: number
  private readonly rescanMs: number
  private readonly useWatch: boolean
  private readonly programs = new Map<string, ProgramIndex>()
  private readonly hashes = new HashLimiter()
  private readonly watchers = new Map<string, { program: string, watcher: FSWatcher }>()
  private readonly timers = new Map<string, NodeJS.Timeout>()
  private readonly scanning = new Map<string, Promise<void>>()
  private readonly again = new Set<string>()
  private readonly settledPrefixes = new Map<string, number>()
  private rootWatcher: FSWatcher | undefined
  private rescanTimer: NodeJS.Timeout | undefined
  private stopped = false
  private watchFailed = false
  /** Completed scans, for tests and the benchmark to wait on. */
  generation = 0

  constructor (options: RepositoryOptions) {
    this.root = options.root
    this.log = options.log
    this.settleMs = options.settleMs ?? 2_000
    this.debounceMs = options.debounceMs ?? 250
    this.rescanMs = options.rescanMs ?? 300_000
    this.useWatch = options.watch ?? true
  }

  async start (): Promise<void> {
    await mkdir(this.root, { recursive: true })
    this.realRoot = await realpath(this.root)
    if (this.useWatch) this.rootWatcher = this.watchDirectory(this.realRoot, null)
    await this.rescanAll()
    if (this.rescanMs > 0) {
      this.rescanTimer = setInterval(() => { this.rescanAll().catch((err: unknown) => this.log.error({ err }, 'repository rescan failed')) }, this.rescanMs)
      this.rescanTimer.unref()
    }
  }

  async stop (): Promise<void> {
    this.stopped = true
    clearInterval(this.rescanTimer)
    for (const timer of this.timers.values()) clearTimeout(timer)
    this.timers.clear()
    this.rootWatcher?.close()
    for (const { watcher } of this.watchers.values()) watcher.close()
    this.watchers.clear()
    await Promise.allSettled(this.scanning.values())
  }

  programNames (): string[] {
    return [...this.programs.keys()].sort()
  }

  program (name: string): ProgramIndex | undefined {
    return this.programs.get(name)
  }

  /** The highest published version folder of a program. */
  latest (program: string): Folder | undefined {
    const versions = this.programs.get(program)?.versions
    return versions?.[versions.length - 1]
  }

  version (program: string, name: string): Folder | undefined {
    return this.programs.get(program)?.versions.find((folder) => folder.name === name)
  }

  /** The update part that matches `version` (longest prefix) and the serial's own folder. */
  updates (program: string, version: Version, serial?: string): UpdateListing {
    const index = this.programs.get(program)
    if (index === undefined) return { part: undefined, serial: undefined, install: [] }
    return {
      part: bestMatchingPart(index.updates.parts, version),
      serial: serial === undefined || serial === '' || index.updates.serials.size === 0 ? undefined : index.updates.serials.get(normalizeSerial(serial)),
      install: index.updates.install
    }
  }

  /** A listed file by its path below the root (`ishop/2.7.0.0/setup.exe`), from the index alone. */
  file (path: string): RepoFile | undefined {
    const slash = path.indexOf('/')
    if (slash <= 0) return undefined
    const program = path.slice(0, slash)
    return this.programs.get(program)?.files.get(path)
  }

  /**
   * The real path to open for a listed file, checked again now (the tree may have changed
   * since the scan). Null when it is gone or no longer inside the root.
   */
  async open (file: RepoFile): Promise<string | null> {
    return await resolveInside(this.realRoot, file.path.split('/'))
  }

  /** Rescans every program now, and drops programs whose folder is gone. */
  async rescanAll (): Promise<void> {
    let names: string[] = []
    try {
      names = (await readdir(this.realRoot, { withFileTypes: true }))
        .filter((entry) => (entry.isDirectory() || entry.isSymbolicLink()) && isProgramName(entry.name))
        .map((entry) => entry.name)
    } catch (err) {
      this.log.error({ err, root: this.root }, 'repository root unreadable')
    }
    for (const gone of [...this.programs.keys()].filter((name) => !names.includes(name))) await this.rescan(gone)
    for (const name of names) await this.rescan(name)
  }

  /**
   * After a publish that renamed complete files into place under `prefix` (a path below the
   * root): rescan the program now, listing them without waiting for them to settle.
   */
  async published (program: string, prefix: string): Promise<void> {
    this.settledPrefixes.set(prefix, Date.now() + 60_000)
    // A scan running now may have read the program's folder before the rename: wait for it to
    // end, so that the scan below starts after the rename (rescan would only schedule another).
    await this.scanning.get(program)
    await this.rescan(program)
    await Promise.allSettled(this.scanning.values())
  }

  /** Rescans one program (once more after the running scan, if one is running). */
  async rescan (program: string): Promise<void> {
    const running = this.scanning.get(program)
    if (running !== undefined) {
      this.again.add(program)
      return await running
    }
    const task = this.scanOnce(program).finally(() => {
      this.scanning.delete(program)
      if (this.again.delete(program) && !this.stopped) this.schedule(program, 0)
    })
    this.scanning.set(program, task)
    await task
  }

  private async scanOnce (program: string): Promise<void> {
    const started = Date.now()
    const dirs = new Set<string>()
    try {
      const result = await scanProgram({
        realRoot: this.realRoot,
        settleMs: this.settleMs,
        hashes: this.hashes,
        previous: this.programs.get(program),
        settledPrefixes: this.currentSettledPrefixes(),
        now: Date.now,
        onDirectory: (dir) => dirs.add(dir),
        onProblem: (problem: ScanProblem) => this.log.warn(problem, 'repository entry skipped')
      }, program)
      reportProblems(this.log, this.programs.get(program), result.index)
      this.programs.set(program, result.index)
      if (result.unsettled > 0) this.schedule(program, this.settleMs)
      this.log.debug({ program, files: result.index.files.size, unsettled: result.unsettled, ms: Date.now() - started }, 'program scanned')
    } catch (err) {
      // The folder is gone (or unreadable): the program leaves the index.
      if (this.programs.delete(program)) this.log.info({ program }, 'program removed from the repository')
      else this.log.debug({ program, err }, 'program folder not scanned')
    }
    if (this.useWatch) this.syncWatchers(program, dirs)
    this.generation++
  }

  private currentSettledPrefixes (): string[] {
    const now = Date.now()
    for (const [prefix, until] of this.settledPrefixes) if (until < now) this.settledPrefixes.delete(prefix)
    return [...this.settledPrefixes.keys()]
  }

  private schedule (program: string, delay: number): void {
    if (this.stopped) return
    clearTimeout(this.timers.get(program))
    const timer = setTimeout(() => {
      this.timers.delete(program)
      this.rescan(program).catch((err: unknown) => this.log.error({ err, program }, 'program rescan failed'))
    }, delay)
    timer.unref()
    this.timers.set(program, timer)
  }

  private syncWatchers (program: string, dirs: Set<string>): void {
    for (const [dir, entry] of this.watchers) {
      if (entry.program === program && !dirs.has(dir)) {
        entry.watcher.close()
        this.watchers.delete(dir)
      }
    }
    for (const dir of dirs) {
      if (this.watchers.has(dir)) continue
      const watcher = this.watchDirectory(dir, program)
      if (watcher !== undefined) this.watchers.set(dir, { program, watcher })
    }
  }

  /** Watches one directory: any event in it rescans its program (the root's events: the named program). */
  private watchDirectory (dir: string, program: string | null): FSWatcher | undefined {
    if (this.watchFailed) return undefined
    try {
      const watcher = watch(dir, { persistent: false }, (_event, name) => {
        const target = program ?? (typeof name === 'string' && isProgramName(name) ? name : null)
        if (target !== null) this.schedule(target, this.debounceMs)
      })
      watcher.on('error', () => { watcher.close() })
      return watcher
    } catch (err) {
      // Out of inotify watches, or a file system without events: the periodic rescan remains.
      this.watchFailed = true
      this.log.warn({ err, dir }, 'cannot watch the repository; changes show at the next periodic rescan (REPO_RESCAN_SECONDS)')
      return undefined
    }
  }
}

/**
 * Logs the problems of the folders of a scanned program (folderProblems: nothing to download,
 * names that clash on Windows), once: only a folder whose problems changed since the last scan.
 */
function reportProblems (log: { warn: (obj: object, msg: string) => void }, before: ProgramIndex | undefined, after: ProgramIndex): void {
  const known = new Map<string, readonly string[]>()
  for (const folder of before === undefined ? [] : foldersOf(before)) known.set(folder.name, folder.problems)
  for (const folder of foldersOf(after)) {
    if (folder.problems.length === 0 || known.get(folder.name)?.join('\n') === folder.problems.join('\n')) continue
    log.warn({ program: after.name, folder: folder.name, problems: folder.problems }, 'repository folder has problems')
  }
}

function foldersOf (index: ProgramIndex): Folder[] {
  return [...index.versions, ...index.updates.parts.map((f) => ({ ...f, name: `updates/${f.name}` })), ...[...index.updates.serials.values()].map((f) => ({ ...f, name: `updates/${f.name}` }))]
}
