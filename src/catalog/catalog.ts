import type { PrismaClient } from '../db/prisma.js'
import type { Folder } from '../storage/scan.js'
import type { Repository } from '../storage/repository.js'

/**
 * What the vendor recorded about programs and versions (names, purchase link, release
 * dates, notes, yanked), held in memory for the hot paths and reloaded from the database
 * every `refreshMs`. A change made through this instance calls refresh() at once; other
 * instances see it within refreshMs.
 */
export interface ProgramInfo {
  id: number
  name: string
  displayNameEl: string | null
  displayNameEn: string | null
  purchaseUrl: string | null
}

export interface VersionInfo {
  releasedAt: Date
  notesEn: string | null
  notesEl: string | null
  yanked: boolean
}

type LogFn = (obj: object, msg: string) => void

export class Catalog {
  private programs = new Map<string, ProgramInfo>()
  private versions = new Map<string, VersionInfo>()
  private timer: NodeJS.Timeout | undefined
  private loaded = false

  constructor (private readonly prisma: PrismaClient, private readonly options: { refreshMs: number, log: { warn: LogFn } }) {}

  async start (): Promise<void> {
    await this.refresh().catch((err: unknown) => this.options.log.warn({ err }, 'catalog not loaded; will retry'))
    this.timer = setInterval(() => { this.refresh().catch((err: unknown) => this.options.log.warn({ err }, 'catalog refresh failed; keeping the previous one')) }, this.options.refreshMs)
    this.timer.unref()
  }

  stop (): void {
    clearInterval(this.timer)
  }

  get isLoaded (): boolean {
    return this.loaded
  }

  async refresh (): Promise<void> {
    const rows = await this.prisma.program.findMany({ include: { versions: true } })
    const programs = new Map<string, ProgramInfo>()
    const versions = new Map<string, VersionInfo>()
    for (const row of rows) {
      programs.set(row.name, { id: row.id, name: row.name, displayNameEl: row.displayNameEl, displayNameEn: row.displayNameEn, purchaseUrl: row.purchaseUrl })
      for (const v of row.versions) {
        versions.set(`${row.name}\u0000${v.version}`, { releasedAt: v.releasedAt, notesEn: v.notesEn, notesEl: v.notesEl, yanked: v.yankedAt !== null })
      }
    }
    this.programs = programs
    this.versions = versions
    this.loaded = true
  }

  program (name: string): ProgramInfo | undefined {
    return this.programs.get(name)
  }

  version (program: string, version: string): VersionInfo | undefined {
    return this.versions.get(`${program}\u0000${version}`)
  }

  isYanked (program: string, version: string): boolean {
    return this.versions.get(`${program}\u0000${version}`)?.yanked === true
  }
}

export interface Release {
  folder: Folder
  releasedAt: Date
  notesEn: string | null
  notesEl: string | null
}

/**
 * The version a program offers: its highest version folder that is not yanked and has a file
 * to download (a folder placed by hand with none is skipped: docs/protocol.md §5). Its release
 * date is the one recorded for it, else the time of the newest file in the folder.
 */
export function latestRelease (repository: Repository, catalog: Catalog, program: string): Release | undefined {
  const versions = repository.program(program)?.versions ?? []
  for (let i = versions.length - 1; i >= 0; i--) {
    const folder = versions[i]
    const info = catalog.version(program, folder.name)
    if (info?.yanked === true || folder.files.length === 0) continue
    return {
      folder,
      releasedAt: info?.releasedAt ?? filesReleasedAt(folder),
      notesEn: info?.notesEn ?? null,
      notesEl: info?.notesEl ?? null
    }
  }
  return undefined
}

/** The release date of a folder without a record: the time of its newest file, to the second. */
export function filesReleasedAt (folder: Folder): Date {
  const newest = folder.files.reduce((max, file) => Math.max(max, file.mtimeMs), 0)
  return new Date(Math.floor(newest / 1000) * 1000)
}

/** Whether a program exists: it has a folder in ftp/ or a record. */
export function programExists (repository: Repository, catalog: Catalog, program: string): boolean {
  return repository.program(program) !== undefined || catalog.program(program) !== undefined
}
