import type { Download, PrismaClient } from '../generated/prisma/client.js'
import { page, type Page, type PageQuery } from '../db/page.js'

export interface DownloadQuery extends PageQuery {
  program?: string
  pcid?: string
}

export interface DownloadDay {
  program: string
  /** A version, an update part or @serial. */
  folder: string
  /** YYYY-MM-DD, UTC. */
  day: string
  started: number
  /** Delivered whole, or confirmed by the client. */
  completed: number
  failed: number
}

/** What the vendor reads about downloads: the records of links used, and counts per day. */
export class DownloadReports {
  constructor (private readonly prisma: PrismaClient) {}

  /** Newest first; downloads started in the same millisecond in a fixed order, so that pages neither repeat nor skip one. */
  async list ({ program, pcid, limit, offset }: DownloadQuery): Promise<Page<Download>> {
    const where = { ...(program === undefined ? {} : { program }), ...(pcid === undefined ? {} : { pcid }) }
    return await page(
      this.prisma.download.count({ where }),
      this.prisma.download.findMany({ where, orderBy: [{ startedAt: 'desc' }, { id: 'desc' }], take: limit, skip: offset })
    )
  }

  /** Downloads per program, folder and day (UTC) started in [from, to), newest day first. */
  async stats ({ program, from, to }: { program?: string, from?: Date, to?: Date }): Promise<DownloadDay[]> {
    return await this.prisma.$queryRaw<DownloadDay[]>`
      SELECT program, folder, to_char(date_trunc('day', started_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS day,
             count(*)::int AS started,
             count(*) FILTER (WHERE completed_at IS NOT NULL OR confirmed_at IS NOT NULL)::int AS completed,
             count(*) FILTER (WHERE failed_at IS NOT NULL AND completed_at IS NULL AND confirmed_at IS NULL)::int AS failed
        FROM download
       WHERE (${program ?? null}::text IS NULL OR program = ${program ?? null})
         AND (${from ?? null}::timestamptz IS NULL OR started_at >= ${from ?? null})
         AND (${to ?? null}::timestamptz IS NULL OR started_at < ${to ?? null})
       GROUP BY 1, 2, 3 ORDER BY 3 DESC, 1, 2`
  }
}
