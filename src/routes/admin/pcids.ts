import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { identifier, pagination, programName } from './schemas.js'

/** PCIDs: the installations that asked for an id, and what each reported. */
const pcidRoutes: FastifyPluginAsyncZod = async (fastify) => {
  const { pcidDirectory } = fastify

  fastify.get('/api/v1/pcids', {
    schema: {
      tags: ['pcids'],
      summary: 'List and search PCIDs (by id prefix, address, program and version reported)',
      querystring: z.object({ q: identifier.optional(), program: programName.optional(), version: identifier.optional(), ...pagination })
    }
  }, async (request) => {
    const { limit, offset } = request.query
    const { total, items } = await pcidDirectory.list(request.query)
    return {
      total,
      limit,
      offset,
      items: items.map((row) => ({
        pcid: row.id,
        createdAt: row.createdAt,
        lastSeenAt: row.lastSeenAt,
        address: row.address,
        program: row.program,
        programs: row.programs.map((p) => ({ program: p.program, version: p.version }))
      }))
    }
  })

  fastify.get('/api/v1/pcids/:pcid', { schema: { tags: ['pcids'], summary: 'One PCID: programs, versions and licenses seen, first and last contact', params: z.object({ pcid: identifier }) } }, async (request) => {
    const row = await pcidDirectory.find(request.params.pcid)
    return {
      pcid: row.id,
      firstContact: row.createdAt,
      lastContact: row.lastSeenAt,
      address: row.address,
      userAgent: row.userAgent,
      program: row.program,
      programs: row.programs.map((p) => ({ program: p.program, version: p.version, serial: p.serial, firstSeenAt: p.firstSeenAt, lastSeenAt: p.lastSeenAt })),
      licenses: row.seats.map((s) => ({ key: s.license.key, program: s.license.program.name, status: s.license.status, boundAt: s.boundAt, lastSeenAt: s.lastSeenAt }))
    }
  })
}

export default pcidRoutes
