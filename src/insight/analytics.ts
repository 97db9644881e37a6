import type { PrismaClient } from '../db/prisma.js'
import { badRequest, notFound } from '../errors.js'
import { serialLookup } from '../license/serial.js'

/**
 * What the vendor reads about the installed base (docs/analytics.md): active installations
 * per day from install_day (written by the contacts flush, src/license/contacts.ts), a
 * version's adoption and funnel, downloads per day (from the rollups that triggers on download
 * and version_offer keep), and one license's PCs. Every query reads an index range of one
 * program (or version, or license): none scans the whole history.
 */
export interface ActiveDay {
  day: string
  total: number
  byVersion: Record<string, number>
  byChannel: Record<string, number>
}

export interface Funnel {
  offered: number
  linksIssued: number
  downloadsStarted: number
  delivered: number
  confirmed: number
  failed: number
  topErrors: Array<{ message: string, count: number }>
  running: number
}

export interface LicenseUse {
  key: string
  seatLimit: number
  seatsUsed: number
  pcs: Array<{ pcid: string, program: string, version: string | null, lastSeen: Date }>
}

/** The longest range of days one request may ask for. */
export const MAX_DAYS = 731
const DAY_MS = 86_400_000
const TOP_ERRORS = 10

/** A version's release date, as the catalog and the repository know it. */
export type ReleaseDate = (program: string, version: string) => Date | undefined

export class Analytics {
  constructor (private readonly prisma: PrismaClient, private readonly releaseDate: ReleaseDate) {}

  /** Active installations per day in [from, to] (days UTC, both included); days without polls count 0. */
  async active (program: string, from: string, to: string): Promise<ActiveDay[]> {
    const days = dayRange(from, to)
    const rows = await this.prisma.$queryRaw<Array<{ day: string, version: string, channel: string, count: number }>>`
      SELECT to_char(day, 'YYYY-MM-DD') AS day, version, channel::text AS channel, count
        FROM install_day WHERE program = ${program} AND day BETWEEN ${from}::date AND ${to}::date`
    const byDay = new Map(days.map((day) => [day, { day, total: 0, byVersion: {}, byChannel: {} } satisfies ActiveDay as ActiveDay]))
    for (const row of rows) {
      const entry = byDay.get(row.day)
      if (entry === undefined) continue
      entry.total += row.count
      entry.byVersion[row.version] = (entry.byVersion[row.version] ?? 0) + row.count
      entry.byChannel[row.channel] = (entry.byChannel[row.channel] ?? 0) + row.count
    }
    return [...byDay.values()]
  }

  /** The split by version of the installations active on the latest day with polls (or `asOf`). */
  async versions (program: string, asOf?: string): Promise<{ asOf: string | null, versions: Array<{ version: string, installations: number }> }> {
    const rows = await this.prisma.$queryRaw<Array<{ day: string, version: string, installations: number }>>`
      SELECT to_char(day, 'YYYY-MM-DD') AS day, version, sum(count)::int AS installations
        FROM install_day
       WHERE program = ${program}
         AND day = coalesce(${asOf ?? null}::date, (SELECT max(day) FROM install_day WHERE program = ${program}))
       GROUP BY day, version ORDER BY installations DESC, version`
    return { asOf: rows[0]?.day ?? asOf ?? null, versions: rows.map(({ version, installations }) => ({ version, installations })) }
  }

  /** Installations on a version by days since its release (day 0: the day of the release, UTC). */
  async adoption (program: string, version: string): Promise<{ releasedAt: Date, days: Array<{ daysSinceRelease: number, installations: number }> }> {
    const releasedAt = this.releaseDate(program, version)
    if (releasedAt === undefined) throw notFound(`Version ${program} ${version}`)
    const released = releasedAt.toISOString().slice(0, 10)
    const days = await this.prisma.$queryRaw<Array<{ daysSinceRelease: number, installations: number }>>`
      SELECT (day - ${released}::date)::int AS "daysSinceRelease", sum(count)::int AS installations
        FROM install_day WHERE program = ${program} AND version = ${version} AND day >= ${released}::date
       GROUP BY day ORDER BY day`
    return { releasedAt, days }
  }

  /**
   * The update funnel of a version: PCs offered it, PCs given its links, PCs that started,
   * received whole, confirmed and failed a download of its folder (with the client's most
   * frequent error texts), and PCs that report running it now.
   */
  async funnel (program: string, version: string): Promise<Funnel> {
    // Counts kept by triggers on version_offer and download (docs/analytics.md, "How the counts are kept").
    const [counts, topErrors, running] = await Promise.all([
      this.prisma.versionFunnel.findUnique({ where: { program_version: { program, version } } }),
      this.prisma.downloadError.findMany({ where: { program, folder: version, count: { gt: 0 } }, orderBy: [{ count: 'desc' }, { error: 'asc' }], take: TOP_ERRORS, select: { error: true, count: true } }),
      this.prisma.$queryRaw<Array<{ running: number }>>`
        SELECT count(*)::int AS running FROM pcid_program WHERE program = ${program} AND version = ${version}`
    ])
    const count = (field: 'offered' | 'linksIssued' | 'started' | 'delivered' | 'confirmed' | 'failed'): number => Number(counts?.[field] ?? 0)
    return {
      offered: count('offered'),
      linksIssued: count('linksIssued'),
      downloadsStarted: count('started'),
      delivered: count('delivered'),
      confirmed: count('confirmed'),
      failed: count('failed'),
      topErrors: topErrors.map(({ error, count }) => ({ message: error, count })),
      running: running[0].running
    }
  }

  /** Downloads per day (UTC) started in [from, to]: started, delivered whole, failed, bytes sent. */
  async downloads (program: string, from: string, to: string): Promise<Array<{ day: string, started: number, delivered: number, failed: number, bytes: number }>> {
    dayRange(from, to)
    const rows = await this.prisma.downloadDay.findMany({
      where: { program, day: { gte: new Date(`${from}T00:00:00Z`), lte: new Date(`${to}T00:00:00Z`) }, started: { gt: 0 } },
      orderBy: { day: 'asc' }
    })
    return rows.map((row) => ({ day: row.day.toISOString().slice(0, 10), started: Number(row.started), delivered: Number(row.delivered), failed: Number(row.failed), bytes: Number(row.bytes) }))
  }

  /** A license's seats: the PCs holding them, with the version each last reported of the license's program. */
  async license (key: string): Promise<LicenseUse> {
    // A key of ours in any spelling, or a legacy serial as imported (docs/protocol.md).
    const lookup = serialLookup(key.trim())
    if (lookup === undefined) throw notFound(`License ${key.slice(0, 40)}`)
    const license = await this.prisma.license.findUnique({
      where: { key: lookup },
      select: { key: true, seatLimit: true, program: { select: { name: true } }, seats: { select: { pcidId: true, lastSeenAt: true }, orderBy: { boundAt: 'asc' } } }
    })
    if (license === null) throw notFound(`License ${key}`)
    const program = license.program.name
    const pcids = license.seats.map((s) => s.pcidId)
    const reported = await this.prisma.pcidProgram.findMany({ where: { program, pcidId: { in: pcids } }, select: { pcidId: true, version: true, lastSeenAt: true } })
    const byPcid = new Map(reported.map((r) => [r.pcidId, r]))
    return {
      key: license.key,
      seatLimit: license.seatLimit,
      seatsUsed: license.seats.length,
      pcs: license.seats.map((seat) => {
        const row = byPcid.get(seat.pcidId)
        return { pcid: seat.pcidId, program, version: row?.version ?? null, lastSeen: row === undefined || row.lastSeenAt < seat.lastSeenAt ? seat.lastSeenAt : row.lastSeenAt }
      })
    }
  }
}

/** The days from `from` to `to`, both included, as YYYY-MM-DD; a bad range is a 400. */
function dayRange (from: string, to: string): string[] {
  const start = Date.parse(`${from}T00:00:00Z`)
  const end = Date.parse(`${to}T00:00:00Z`)
  if (end < start) throw badRequest('`to` is before `from`.', [{ field: 'to', message: 'must not be before from' }])
  const count = (end - start) / DAY_MS + 1
  if (count > MAX_DAYS) throw badRequest(`At most ${MAX_DAYS} days at once.`, [{ field: 'to', message: `at most ${MAX_DAYS} days after from` }])
  return Array.from({ length: count }, (_, i) => new Date(start + i * DAY_MS).toISOString().slice(0, 10))
}
