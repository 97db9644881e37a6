import type { PrismaClient } from '../generated/prisma/client.js'
import type { AuditLog } from '../admin/audit-log.js'
import { notFound } from '../errors.js'
import type { Repository } from '../storage/repository.js'
import { type Catalog, filesReleasedAt } from './catalog.js'
import { effectiveRollout, rolloutState, type ReleaseControl, type RolloutState } from './release-control.js'
import type { Owner } from './versions.js'

/** Who the audit log names for what the server does by itself. */
export const SYSTEM_ACTOR = 'release-control'

export interface DownloadCounts {
  started: number
  delivered: number
  /** Failed (f=dlconfirm&ok=0) or started and neither delivered nor confirmed within the stall window. */
  failed: number
}

export interface RolloutView {
  state: RolloutState
  haltReason: string | null
  haltedAt: Date | null
  /** The rollout in force now (the schedule's last due step, else the version's rollout). */
  effectiveRollout: number
  /** PCs whose last answer offered this version (OK[i]). */
  offered: number
  downloads: DownloadCounts
  countedFrom: Date | null
}

type LogFn = (obj: object, msg: string) => void

/**
 * Halts, resumes and the periodic job of release control (docs/protocol.md §3): rollout
 * steps taken on schedule and automatic halts on the failure rate of a version's downloads.
 * Every statement that changes a version is conditional on the state it was decided from, so
 * instances running the job together change it once and audit it once.
 */
export class Rollouts {
  private timer: NodeJS.Timeout | undefined
  private running: Promise<void> | undefined

  constructor (private readonly prisma: PrismaClient, private readonly deps: {
    repository: Repository
    catalog: Catalog
    audit: AuditLog
    /** A download started this long ago and neither delivered nor confirmed counts as failed. */
    stallMs: number
    intervalMs: number
    flushContacts: () => Promise<void>
    log: { warn: LogFn, info: LogFn }
  }) {}

  start (): void {
    this.timer = setInterval(() => { this.tick().catch(() => {}) }, this.deps.intervalMs)
    this.timer.unref()
  }

  async stop (): Promise<void> {
    clearInterval(this.timer)
    await this.running
  }

  /** One run of the job; a run still going is waited for, not doubled. */
  async tick (now = new Date()): Promise<void> {
    if (this.running !== undefined) return await this.running
    this.running = (async () => {
      try {
        const changed = (await this.takeDueSteps(now)) + (await this.haltFailing(now))
        if (changed > 0) await this.deps.catalog.refresh()
      } catch (err) {
        this.deps.log.warn({ err }, 'release control job failed; will retry')
      } finally {
        this.running = undefined
      }
    })()
    await this.running
  }

  /** Halts a version (idempotent: a halted version keeps its first halt). */
  async halt (owner: Owner, version: string, reason: string | null, actor: string): Promise<void> {
    const id = await this.versionId(owner, version)
    const count = await this.prisma.programVersion.updateMany({ where: { id, haltedAt: null }, data: { haltedAt: new Date(), haltReason: reason ?? `halted by ${actor}` } })
    await this.deps.catalog.refresh()
    if (count.count > 0) await this.deps.audit.record(actor, 'version.halt', `${owner.name}/${version}`, { reason })
  }

  /** Resumes a halted version; downloads count for the automatic halt from now on. */
  async resume (owner: Owner, version: string, actor: string): Promise<void> {
    const id = await this.versionId(owner, version)
    const count = await this.prisma.programVersion.updateMany({ where: { id, haltedAt: { not: null } }, data: { haltedAt: null, haltReason: null, rolloutStartedAt: new Date() } })
    await this.deps.catalog.refresh()
    if (count.count > 0) await this.deps.audit.record(actor, 'version.resume', `${owner.name}/${version}`)
  }

  /** GET …/rollout: the state and counts of a version's rollout. */
  async view (owner: Owner, version: string, now = new Date()): Promise<RolloutView> {
    if (this.deps.repository.version(owner.name, version) === undefined && this.deps.catalog.version(owner.name, version) === undefined) throw notFound(`Version ${version} of ${owner.name}`)
    const control = this.deps.catalog.version(owner.name, version)?.control
    await this.deps.flushContacts()
    const offered = await this.prisma.pcidProgram.count({ where: { program: owner.name, offered: version } })
    const countedFrom = control?.countedFrom ?? this.deps.catalog.version(owner.name, version)?.releasedAt ?? null
    return {
      state: rolloutState(control, now),
      haltReason: control?.haltReason ?? null,
      haltedAt: control?.haltedAt ?? null,
      effectiveRollout: control === undefined ? 100 : effectiveRollout(control, now),
      offered,
      downloads: await this.downloads(owner.name, version, countedFrom ?? new Date(0), now),
      countedFrom
    }
  }

  /** The downloads of a version's files (its Version location) started since `since`. */
  async downloads (program: string, version: string, since: Date, now: Date): Promise<DownloadCounts> {
    const stalledBefore = new Date(now.getTime() - this.deps.stallMs)
    const [row] = await this.prisma.$queryRaw<DownloadCounts[]>`
      SELECT count(*)::int AS started,
             count(*) FILTER (WHERE completed_at IS NOT NULL OR confirmed_at IS NOT NULL)::int AS delivered,
             count(*) FILTER (WHERE completed_at IS NULL AND confirmed_at IS NULL
                                AND (failed_at IS NOT NULL OR started_at < ${stalledBefore}))::int AS failed
        FROM download
       WHERE program = ${program} AND folder = ${version} AND starts_with(path, ${`${program}/${version}/`})
         AND started_at >= ${since}`
    return row
  }

  /** Writes the steps of schedules that are due: the rollout becomes the last due step's, and taken steps leave the schedule. */
  private async takeDueSteps (now: Date): Promise<number> {
    let changed = 0
    for (const { program, version, control } of this.deps.catalog.controlledVersions()) {
      const due = control.schedule.filter((step) => step.at.getTime() <= now.getTime())
      if (due.length === 0) continue
      const rollout = due[due.length - 1].rollout
      const remaining = control.schedule.filter((step) => step.at.getTime() > now.getTime())
      const stored = JSON.stringify(scheduleJson(control.schedule))
      const next = remaining.length === 0 ? null : JSON.stringify(scheduleJson(remaining))
      // Conditional on the schedule this instance read: a second instance (or a PATCH meanwhile) changes nothing.
      const count = await this.prisma.$executeRaw`
        UPDATE program_version v SET rollout = ${rollout}, rollout_schedule = ${next}::jsonb, updated_at = now()
          FROM program p
         WHERE p.id = v.program_id AND p.name = ${program} AND v.version = ${version}
           AND v.rollout_schedule = ${stored}::jsonb`
      if (count === 0) continue
      changed++
      this.deps.log.info({ program, version, rollout }, 'rollout step taken')
      await this.deps.audit.record(SYSTEM_ACTOR, 'version.rollout.step', `${program}/${version}`, { rollout, steps: scheduleJson(due) })
    }
    return changed
  }

  /** Halts versions whose downloads fail at more than their autoHalt rate, over at least its minimum. */
  private async haltFailing (now: Date): Promise<number> {
    let changed = 0
    for (const { program, version, control } of this.deps.catalog.controlledVersions()) {
      const reason = await this.failureReason(program, version, control, now)
      if (reason === undefined) continue
      const count = await this.prisma.$executeRaw`
        UPDATE program_version v SET halted_at = ${now}, halt_reason = ${reason.text}, updated_at = now()
          FROM program p
         WHERE p.id = v.program_id AND p.name = ${program} AND v.version = ${version} AND v.halted_at IS NULL`
      if (count === 0) continue
      changed++
      this.deps.log.warn({ program, version, ...reason.counts }, 'rollout halted automatically')
      await this.deps.audit.record(SYSTEM_ACTOR, 'version.halt', `${program}/${version}`, { reason: reason.text, automatic: true, ...reason.counts })
    }
    return changed
  }

  private async failureReason (program: string, version: string, control: ReleaseControl, now: Date): Promise<{ text: string, counts: DownloadCounts & { rate: number } } | undefined> {
    if (control.autoHalt === null || control.haltedAt !== null) return undefined
    const counts = await this.downloads(program, version, control.countedFrom, now)
    const decided = counts.delivered + counts.failed
    if (decided === 0 || decided < control.autoHalt.minDownloads) return undefined
    const rate = counts.failed / decided
    if (rate <= control.autoHalt.maxFailureRate) return undefined
    return {
      text: `automatic halt: ${counts.failed} of ${decided} downloads failed (${(rate * 100).toFixed(1)}% > ${(control.autoHalt.maxFailureRate * 100).toFixed(1)}%)`,
      counts: { ...counts, rate }
    }
  }

  /** The version's row id, made from its folder when it has no record yet. */
  private async versionId (owner: Owner, version: string): Promise<number> {
    const folder = this.deps.repository.version(owner.name, version)
    const where = { programId_version: { programId: owner.id, version } }
    const row = await this.prisma.programVersion.findUnique({ where, select: { id: true } })
    if (row !== null) return row.id
    if (folder === undefined) throw notFound(`Version ${version} of ${owner.name}`)
    const created = await this.prisma.programVersion.upsert({ where, create: { programId: owner.id, version, releasedAt: filesReleasedAt(folder) }, update: {}, select: { id: true } })
    return created.id
  }
}

/** A schedule as stored and shown: `[{ at: ISO 8601, rollout }]`. */
export function scheduleJson (steps: ReadonlyArray<{ at: Date, rollout: number }>): Array<{ at: string, rollout: number }> {
  return steps.map((step) => ({ at: step.at.toISOString(), rollout: step.rollout }))
}
