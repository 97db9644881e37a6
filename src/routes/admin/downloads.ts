import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { identifier, instant, pagination, programName } from './schemas.js'

/** Downloads: the records of download links used, and counts per program, version and day. */
const downloadRoutes: FastifyPluginAsyncZod = async (fastify) => {
  const { downloadReports } = fastify

  fastify.get('/api/v1/downloads', {
    schema: { tags: ['downloads'], summary: 'List downloads, newest first', querystring: z.object({ program: programName.optional(), pcid: identifier.optional(), ...pagination }) }
  }, async (request) => {
    const { limit, offset } = request.query
    const { total, items } = await downloadReports.list(request.query)
    return {
      total,
      limit,
      offset,
      items: items.map((d) => ({
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
  }, async (request) => ({ items: await downloadReports.stats(request.query) }))
}

export default downloadRoutes
