import { rename } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { Prisma, type PrismaClient } from '../generated/prisma/client.js'
import type { AuditLog } from '../admin/audit-log.js'
import { badRequest, conflict, notFound } from '../errors.js'
import { type Staging, TargetExistsError, writeFileAtomic } from '../storage/publish.js'
import type { Repository } from '../storage/repository.js'
import { DEST_TEMP, folderProblems, plannedListing, readControlFile } from '../storage/scan.js'
import { encodeControlFile } from '../storage/text-files.js'
import { compareVersions, parseVersion } from '../storage/version.js'
import { type Catalog, filesReleasedAt } from './catalog.js'
import type { AutoHalt, Channel } from './release-control.js'
import { scheduleJson } from './rollouts.js'

export interface Owner { id: number, name: string }

export interface Release {
  notesEn?: string
  notesEl?: string
  releasedAt?: Date
  /** The text of the version's @rename.txt. */
  rename?: string
  /** The text of the program's @install.txt, replacing it. */
  install?: string
}

export interface VersionChanges extends ReleaseSettings {
  notesEn?: string | null
  notesEl?: string | null
  releasedAt?: Date
}

/** Release control settings as the admin API takes them (docs/admin-api.md). */
export interface ReleaseSettings {
  rollout?: number
  rolloutSchedule?: Array<{ at: Date, rollout: number }> | null
  channel?: Channel
  requiredStep?: boolean
  minFromVersion?: string | null
  autoHalt?: AutoHalt | null
}

/** The columns a version's changes write. */
function columns ({ rolloutSchedule, autoHalt, ...rest }: VersionChanges): Prisma.ProgramVersionUncheckedUpdateInput {
  const data: Prisma.ProgramVersionUncheckedUpdateInput = { ...rest }
  if (rolloutSchedule !== undefined) {
    const steps = [...(rolloutSchedule ?? [])].sort((a, b) => a.at.getTime() - b.at.getTime())
    data.rolloutSchedule = steps.length === 0 ? Prisma.DbNull : scheduleJson(steps)
  }
  if (autoHalt !== undefined) {
    data.autoHaltMaxFailureRate = autoHalt?.maxFailureRate ?? null
    data.autoHaltMinDownloads = autoHalt?.minDownloads ?? null
  }
  return data
}

/**
 * Versions: their folders in ftp/ and what the vendor recorded about them (release date,
 * notes, yanked). Every change is audited and reloads the catalog at once.
 */
export class VersionRecords {
  constructor (private readonly prisma: PrismaClient, private readonly deps: { repository: Repository, catalog: Catalog, audit: AuditLog, maxBytes: number }) {}

  /**
   * Publishes an uploaded version: the staged folder becomes ftp/<program>/<version>/ whole,
   * and its record is written; if the record fails the folder is taken back out, so nothing
   * half-published stays. The staging folder is gone afterwards, whatever happened.
   */
  async publish (owner: Owner, version: string, staging: Staging, release: Release, actor: string): Promise<void> {
    const { repository, maxBytes } = this.deps
    try {
      if (staging.files.length === 0) throw badRequest('No files: a version needs at least one file.')
      if (repository.version(owner.name, version) !== undefined) throw conflict(`Version ${version} of ${owner.name} exists already.`)
      if (release.rename !== undefined) await staging.write('@rename.txt', Readable.from([encodeControlFile(release.rename)]), maxBytes)
      const planned = plannedListing(staging.files.map((f) => f.path), await readControlFile(join(staging.dir, '@rename.txt')), DEST_TEMP)
      const problems = folderProblems(planned.files, planned.skipped)
      if (problems.length > 0) throw badRequest(`The version cannot be published: ${problems.join('; ')}.`, problems.map((message) => ({ field: 'files', message })))
      await staging.commitFolder([owner.name, version])
    } catch (err) {
      await staging.discard()
      if (err instanceof TargetExistsError) throw conflict(`Version ${version} of ${owner.name} exists already.`)
      throw err
    }
    const record = { releasedAt: release.releasedAt ?? new Date(), notesEn: release.notesEn ?? null, notesEl: release.notesEl ?? null }
    try {
      await this.prisma.programVersion.upsert({
        where: { programId_version: { programId: owner.id, version } },
        create: { programId: owner.id, version, ...record },
        update: { ...record, yankedAt: null }
      })
    } catch (err) {
      await rename(join(repository.root, owner.name, version), staging.dir).catch(() => {})
      await staging.discard()
      throw err
    }
    if (release.install !== undefined) await writeFileAtomic(repository.root, [owner.name, '@install.txt'], encodeControlFile(release.install))
    await repository.published(owner.name, `${owner.name}/${version}/`)
    await this.deps.catalog.refresh()
    await this.deps.audit.record(actor, 'version.publish', `${owner.name}/${version}`, { files: staging.files })
  }

  /** The versions with a folder or a record, newest first. */
  async names (owner: Owner): Promise<string[]> {
    const names = new Set((this.deps.repository.program(owner.name)?.versions ?? []).map((v) => v.name))
    for (const row of await this.prisma.programVersion.findMany({ where: { programId: owner.id }, select: { version: true } })) names.add(row.version)
    return [...names].sort((a, b) => compareVersions(parseVersion(b) ?? [], parseVersion(a) ?? []))
  }

  /** Changes the notes or the release date of a version folder; a folder without a record gets one. */
  async edit (owner: Owner, version: string, changes: VersionChanges, actor: string): Promise<void> {
    const folder = this.deps.repository.version(owner.name, version)
    if (folder === undefined) throw notFound(`Version ${version} of ${owner.name}`)
    const data = columns(changes)
    await this.prisma.programVersion.upsert({
      where: { programId_version: { programId: owner.id, version } },
      create: { ...data, programId: owner.id, version, releasedAt: changes.releasedAt ?? filesReleasedAt(folder), notesEn: changes.notesEn ?? null, notesEl: changes.notesEl ?? null } as Prisma.ProgramVersionUncheckedCreateInput,
      update: data
    })
    await this.changed(actor, 'version.update', `${owner.name}/${version}`, changes)
  }

  /** Withdraws a version (it leaves qrymaxver and its links stop working) or offers it again. */
  async setYanked (owner: Owner, version: string, yanked: boolean, actor: string): Promise<void> {
    const folder = this.deps.repository.version(owner.name, version)
    const where = { programId_version: { programId: owner.id, version } }
    if (folder === undefined && await this.prisma.programVersion.findUnique({ where }) === null) throw notFound(`Version ${version} of ${owner.name}`)
    const yankedAt = yanked ? new Date() : null
    await this.prisma.programVersion.upsert({
      where,
      create: { programId: owner.id, version, releasedAt: folder === undefined ? new Date() : filesReleasedAt(folder), yankedAt },
      update: { yankedAt }
    })
    await this.changed(actor, yanked ? 'version.yank' : 'version.unyank', `${owner.name}/${version}`)
  }

  private async changed (actor: string, action: string, target: string, details?: object): Promise<void> {
    await this.deps.catalog.refresh()
    await this.deps.audit.record(actor, action, target, details)
  }
}
