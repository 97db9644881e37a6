import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { notFound } from '../../errors.js'
import { pagination, programName } from './schemas.js'

/** PCIDs: the installations that asked for an id, and what each reported. */
const pcidRoutes: FastifyPluginAsyncZod = async (fastify) => {
  const { prisma } = fastify

  fastify.get('/api/v1/pcids', {
    schema: {
      tags: ['pcids'],
      summary: 'List and search PCIDs (by id prefix, address, program and version reported)',
      querystring: z.object({ q: z.string().max(64).optional(), program: programName.optional(), version: z.string().max(64).optional(), ...pagination })
    }
  }, async (request) => {
    const { q, program, version, limit, offset } = request.query
    const where = {
      ...(q === undefined ? {} : { OR: [{ id: { startsWith: q.toUpperCase() } }, { address: { startsWith: q } }] }),
      ...(program === undefined && version === undefined ? {} : { programs: { some: { ...(program === undefined ? {} : { program }), ...(version === undefined ? {} : { version }) } } })
    }
    const [total, rows] = await Promise.all([
      prisma.pcid.count({ where }),
      prisma.pcid.findMany({ where, orderBy: { createdAt: 'desc' }, take: limit, skip: offset, include: { programs: true } })
    ])
    return {
      total,
      limit,
      offset,
      items: rows.map((row) => ({
        pcid: row.id,
        createdAt: row.createdAt,
        lastSeenAt: row.lastSeenAt,
        address: row.address,
        program: row.program,
        programs: row.programs.map((p) => ({ program: p.program, version: p.version }))
      }))
    }
  })

  fastify.get('/api/v1/pcids/:pcid', { schema: { tags: ['pcids'], summary: 'One PCID: programs, versions and licenses seen, first and last contact', params: z.object({ pcid: z.string().max(64) }) } }, async (request) => {
    await fastify.contacts.flush()
    const row = await prisma.pcid.findUnique({
      where: { id: request.params.pcid.toUpperCase() },
      include: { programs: { orderBy: { program: 'asc' } }, seats: { include: { license: { select: { key: true, status: true, program: { select: { name: true } } } } } } }
    })
    if (row === null) throw notFound(`PCID ${request.params.pcid}`)
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
