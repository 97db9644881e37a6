import type { PrismaClient } from '../db/prisma.js'
import type { Folder } from '../storage/scan.js'
import type { Repository } from '../storage/repository.js'
import { compareVersions, parseVersion } from '../storage/version.js'
import { isNeutral, mayTake, cohortPlace, seesChannel, type Channel, type ReleaseControl, type RolloutStep, type Seeker } from './release-control.js'

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
  /** Release control settings (release-control.ts); undefined when the version has none. */
  control: ReleaseControl | undefined
}

type LogFn = (obj: object, msg: string) => void

/** An audited change that other instances act on at their next refresh (see Catalog.onChange). */
export interface AuditedChange { action: string, target: string }

/**
 * Audit actions after which every instance reads the license or PCID again (their release
 * channel and pin, docs/protocol.md §3): the audit log is the feed, read with each refresh.
 */
const FOLLOWED_ACTIONS = ['license.update', 'license.seat.free', 'pcid.update']

export class Catalog {
  private programs = new Map<string, ProgramInfo>()
  private versions = new Map<string, VersionInfo>()
  /** Programs with a version whose settings change what a PC is offered. */
  private controlled = new Set<string>()
  /** Programs with a beta version: their polls need the PC's channel. */
  private beta = new Set<string>()
  private timer: NodeJS.Timeout | undefined
  private loaded = false
  /** The last audit entry seen; undefined until the first refresh. */
  private lastAuditId: bigint | undefined
  private readonly listeners: Array<(change: AuditedChange) => void> = []

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

  /** Called for each followed change (FOLLOWED_ACTIONS) audited by any instance since the last refresh. */
  onChange (listener: (change: AuditedChange) => void): void {
    this.listeners.push(listener)
  }

  async refresh (): Promise<void> {
    await this.followChanges()
    const rows = await this.prisma.program.findMany({ include: { versions: true } })
    const programs = new Map<string, ProgramInfo>()
    const versions = new Map<string, VersionInfo>()
    const controlled = new Set<string>()
    const beta = new Set<string>()
    for (const row of rows) {
      programs.set(row.name, { id: row.id, name: row.name, displayNameEl: row.displayNameEl, displayNameEn: row.displayNameEn, purchaseUrl: row.purchaseUrl })
      for (const v of row.versions) {
        const control = releaseControl(v)
        if (control !== undefined && !isNeutral(control)) controlled.add(row.name)
        if (control?.channel === 'beta') beta.add(row.name)
        versions.set(`${row.name}\u0000${v.version}`, { releasedAt: v.releasedAt, notesEn: v.notesEn, notesEl: v.notesEl, yanked: v.yankedAt !== null, control })
      }
    }
    this.programs = programs
    this.versions = versions
    this.controlled = controlled
    this.beta = beta
    this.loaded = true
  }

  /** Reads the followed audit entries after the last one seen (by the primary key: a range of a few rows). */
  private async followChanges (): Promise<void> {
    if (this.lastAuditId === undefined) {
      const [row] = await this.prisma.$queryRaw<Array<{ id: bigint }>>`SELECT coalesce(max(id), 0)::int8 AS id FROM audit_log`
      this.lastAuditId = row.id
      return
    }
    const rows = await this.prisma.$queryRaw<Array<{ id: bigint, action: string, target: string }>>`
      SELECT id, action, target FROM audit_log WHERE id > ${this.lastAuditId} ORDER BY id`
    for (const row of rows) {
      this.lastAuditId = row.id
      if (!FOLLOWED_ACTIONS.includes(row.action)) continue
      for (const listener of this.listeners) listener({ action: row.action, target: row.target })
    }
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

  /** Whether some version of the program has release control settings that change an answer. */
  isControlled (program: string): boolean {
    return this.controlled.has(program)
  }

  /** The versions that have release control settings, for the periodic job (rollouts.ts). */
  controlledVersions (): Array<{ program: string, version: string, control: ReleaseControl }> {
    const found: Array<{ program: string, version: string, control: ReleaseControl }> = []
    for (const [key, info] of this.versions) {
      if (info.control === undefined) continue
      const [program, version] = key.split('\u0000')
      found.push({ program, version, control: info.control })
    }
    return found
  }

  /** Whether the program has a beta version, so that the PC's channel matters. */
  hasBeta (program: string): boolean {
    return this.beta.has(program)
  }
}

/** The columns of a version row that release control reads. */
interface ControlColumns {
  releasedAt: Date
  rollout: number
  rolloutSchedule: unknown
  channel: Channel
  requiredStep: boolean
  minFromVersion: string | null
  autoHaltMaxFailureRate: number | null
  autoHaltMinDownloads: number | null
  haltedAt: Date | null
  haltReason: string | null
  rolloutStartedAt: Date | null
}

/** A version row's release control settings; undefined when it has none (every column at its default). */
export function releaseControl (row: ControlColumns): ReleaseControl | undefined {
  const schedule = parseSchedule(row.rolloutSchedule)
  const minFrom = row.minFromVersion === null ? null : parseVersion(row.minFromVersion)
  const autoHalt = row.autoHaltMaxFailureRate === null || row.autoHaltMinDownloads === null ? null : { maxFailureRate: row.autoHaltMaxFailureRate, minDownloads: row.autoHaltMinDownloads }
  if (row.rollout >= 100 && schedule.length === 0 && row.channel === 'stable' && !row.requiredStep && minFrom === null && autoHalt === null && row.haltedAt === null) return undefined
  return {
    rollout: row.rollout,
    schedule,
    channel: row.channel,
    requiredStep: row.requiredStep,
    minFromVersion: minFrom === null || row.minFromVersion === null ? null : { text: row.minFromVersion, version: minFrom },
    autoHalt,
    haltedAt: row.haltedAt,
    haltReason: row.haltReason,
    countedFrom: row.rolloutStartedAt ?? row.releasedAt
  }
}

/** The stored schedule, `[{ at, rollout }]` as the admin API wrote it, in time order. */
export function parseSchedule (value: unknown): RolloutStep[] {
  if (!Array.isArray(value)) return []
  const steps: RolloutStep[] = []
  for (const step of value as Array<{ at?: unknown, rollout?: unknown }>) {
    const at = typeof step?.at === 'string' ? new Date(step.at) : undefined
    if (at === undefined || Number.isNaN(at.getTime()) || typeof step.rollout !== 'number') continue
    steps.push({ at, rollout: step.rollout })
  }
  return steps.sort((a, b) => a.at.getTime() - b.at.getTime())
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
    if (!offerable(folder, info)) continue
    return toRelease(folder, info)
  }
  return undefined
}

/**
 * The version offered to one PC under release control (docs/protocol.md §3): the newest it
 * may take. A version it already runs (or older) is never held back; a newer one must be at
 * or below the lowest stepping stone above the PC's version and pass mayTake. A program
 * without settings, for a PC without a pin, is latestRelease exactly.
 */
export function offeredRelease (repository: Repository, catalog: Catalog, program: string, seeker: Seeker, now: Date): Release | undefined {
  if (seeker.pin === null && !catalog.isControlled(program)) return latestRelease(repository, catalog, program)
  const versions = repository.program(program)?.versions ?? []
  const { current } = seeker
  let ceiling: Folder | undefined
  if (current !== null) {
    for (const folder of versions) {
      if (compareVersions(folder.version, current) <= 0) continue
      const info = catalog.version(program, folder.name)
      if (offerable(folder, info) && info?.control?.requiredStep === true && seesChannel(seeker.channel, info.control.channel)) {
        ceiling = folder
        break
      }
    }
  }
  let place: number | undefined
  const cohort = (): number => (place ??= cohortPlace(program, seeker.pcid ?? ''))
  for (let i = versions.length - 1; i >= 0; i--) {
    const folder = versions[i]
    const info = catalog.version(program, folder.name)
    if (!offerable(folder, info)) continue
    if (current !== null && compareVersions(folder.version, current) <= 0) return toRelease(folder, info)
    if (ceiling !== undefined && compareVersions(folder.version, ceiling.version) > 0) continue
    if (mayTake(folder.version, info?.control, seeker, now, cohort)) return toRelease(folder, info)
  }
  return undefined
}

/** A version folder that may be offered at all: not yanked, and with something to download. */
function offerable (folder: Folder, info: VersionInfo | undefined): boolean {
  return info?.yanked !== true && folder.files.length > 0
}

function toRelease (folder: Folder, info: VersionInfo | undefined): Release {
  return {
    folder,
    releasedAt: info?.releasedAt ?? filesReleasedAt(folder),
    notesEn: info?.notesEn ?? null,
    notesEl: info?.notesEl ?? null
  }
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
