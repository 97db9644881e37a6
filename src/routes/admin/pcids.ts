import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { CHANNELS } from '../../catalog/release-control.js'
import type { PcidDetail } from '../../license/pcid-directory.js'
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

  fastify.get('/api/v1/pcids/:pcid', { schema: { tags: ['pcids'], summary: 'One PCID: programs, versions and licenses seen, first and last contact', params: z.object({ pcid: identifier }) } }, async (request) => detail(await pcidDirectory.find(request.params.pcid)))

  fastify.patch('/api/v1/pcids/:pcid', {
    schema: {
      tags: ['pcids'],
      summary: 'Change a PCID: its release channel',
      params: z.object({ pcid: identifier }),
      body: z.object({ channel: z.enum(CHANNELS).describe('beta: this PC is also offered beta versions of every program') })
    }
  }, async (request) => detail(await pcidDirectory.setChannel(request.params.pcid, request.body.channel, request.adminName)))

  function detail (row: PcidDetail): Record<string, unknown> {
    return {
      pcid: row.id,
      firstContact: row.createdAt,
      lastContact: row.lastSeenAt,
      address: row.address,
      userAgent: row.userAgent,
      program: row.program,
      programs: row.programs.map((p) => ({ program: p.program, version: p.version, serial: p.serial, firstSeenAt: p.firstSeenAt, lastSeenAt: p.lastSeenAt })),
      licenses: row.seats.map((s) => ({ key: s.license.key, program: s.license.program.name, status: s.license.status, boundAt: s.boundAt, lastSeenAt: s.lastSeenAt })),
      channel: row.channel
    }
  }
}

export default pcidRoutes
