import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { instant, pagination, programName } from './schemas.js'

/** Downloads: the records of download links used, and counts per program, version and day. */
const downloadRoutes: FastifyPluginAsyncZod = async (fastify) => {
  const { prisma } = fastify

  fastify.get('/api/v1/downloads', {
    schema: { tags: ['downloads'], summary: 'List downloads, newest first', querystring: z.object({ program: programName.optional(), pcid: z.string().max(64).optional(), ...pagination }) }
  }, async (request) => {
    const { program, pcid, limit, offset } = request.query
    const where = { ...(program === undefined ? {} : { program }), ...(pcid === undefined ? {} : { pcid }) }
    const [total, rows] = await Promise.all([
      prisma.download.count({ where }),
      prisma.download.findMany({ where, orderBy: { startedAt: 'desc' }, take: limit, skip: offset })
    ])
    return {
      total,
      limit,
      offset,
      items: rows.map((d) => ({
        id: d.id,
        pcid: d.pcid,
        licenseId: d.licenseId,
        program: d.program,
        folder: d.folder,
        path: d.path,
        size: Number(d.size),
        bytesServed: Number(d.bytesServed),
        startedAt: d.startedAt,
        completedAt: d.completedAt,
        confirmedAt: d.confirmedAt,
        failedAt: d.failedAt,
        error: d.error
      }))
    }
  })

  fastify.get('/api/v1/downloads/stats', {
    schema: {
      tags: ['downloads'],
      summary: 'Downloads per program, folder (version, update part) and day (UTC): started, completed (or confirmed), failed',
      querystring: z.object({ program: programName.optional(), from: instant.optional(), to: instant.optional() })
    }
  }, async (request) => {
    const { program, from, to } = request.query
    const rows = await prisma.$queryRaw<Array<{ program: string, folder: string, day: string, started: number, completed: number, failed: number }>>`
      SELECT program, folder, to_char(date_trunc('day', started_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS day,
             count(*)::int AS started,
             count(*) FILTER (WHERE completed_at IS NOT NULL OR confirmed_at IS NOT NULL)::int AS completed,
             count(*) FILTER (WHERE failed_at IS NOT NULL AND completed_at IS NULL AND confirmed_at IS NULL)::int AS failed
        FROM download
       WHERE (${program ?? null}::text IS NULL OR program = ${program ?? null})
         AND (${from ?? null}::timestamptz IS NULL OR started_at >= ${from ?? null})
         AND (${to ?? null}::timestamptz IS NULL OR started_at < ${to ?? null})
       GROUP BY 1, 2, 3 ORDER BY 3 DESC, 1, 2`
    return { items: rows }
  })
}

export default downloadRoutes
