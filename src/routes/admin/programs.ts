import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { audit } from '../../admin/audit-log.js'
import { conflict, notFound } from '../../errors.js'
import { httpUrl, programName, programParams } from './schemas.js'

const programBody = z.object({
  displayNameEl: z.string().max(200).nullable().optional(),
  displayNameEn: z.string().max(200).nullable().optional(),
  purchaseUrl: httpUrl.nullable().optional()
})

/** Programs: the products the vendor sells (PROTOCOL.md §4 uses their names and purchase links). */
const programRoutes: FastifyPluginAsyncZod = async (fastify) => {
  const { prisma, repository, catalog } = fastify

  const view = (row: { name: string, displayNameEl: string | null, displayNameEn: string | null, purchaseUrl: string | null, createdAt: Date, updatedAt: Date }): Record<string, unknown> => ({
    name: row.name,
    displayNameEl: row.displayNameEl,
    displayNameEn: row.displayNameEn,
    purchaseUrl: row.purchaseUrl,
    versions: (repository.program(row.name)?.versions ?? []).map((v) => v.name),
    createdAt: row.createdAt,
    updatedAt: row.updatedAt
  })

  fastify.post('/api/v1/programs', { schema: { tags: ['programs'], summary: 'Create a program', body: programBody.extend({ name: programName }) } }, async (request, reply) => {
    if (await prisma.program.findUnique({ where: { name: request.body.name } }) !== null) throw conflict(`Program ${request.body.name} exists already.`)
    const row = await prisma.program.create({ data: request.body })
    await audit(prisma, request.adminName, 'program.create', row.name, request.body)
    await catalog.refresh()
    return await reply.status(201).send(view(row))
  })

  fastify.get('/api/v1/programs', { schema: { tags: ['programs'], summary: 'List programs' } }, async () => {
    const rows = await prisma.program.findMany({ orderBy: { name: 'asc' } })
    return { items: rows.map(view) }
  })

  fastify.get('/api/v1/programs/:name', { schema: { tags: ['programs'], summary: 'Read a program', params: programParams } }, async (request) => {
    const row = await prisma.program.findUnique({ where: { name: request.params.name } })
    if (row === null) throw notFound(`Program ${request.params.name}`)
    return view(row)
  })

  fastify.patch('/api/v1/programs/:name', { schema: { tags: ['programs'], summary: 'Update a program', params: programParams, body: programBody } }, async (request) => {
    const existing = await prisma.program.findUnique({ where: { name: request.params.name } })
    if (existing === null) throw notFound(`Program ${request.params.name}`)
    const row = await prisma.program.update({ where: { id: existing.id }, data: request.body })
    await audit(prisma, request.adminName, 'program.update', row.name, request.body)
    await catalog.refresh()
    return view(row)
  })

  fastify.delete('/api/v1/programs/:name', { schema: { tags: ['programs'], summary: 'Delete a program that has no licenses and no files', params: programParams } }, async (request, reply) => {
    const row = await prisma.program.findUnique({ where: { name: request.params.name }, include: { _count: { select: { licenses: true } } } })
    if (row === null) throw notFound(`Program ${request.params.name}`)
    if (row._count.licenses > 0) throw conflict(`Program ${row.name} has ${row._count.licenses} licenses.`)
    if ((repository.program(row.name)?.files.size ?? 0) > 0) throw conflict(`Program ${row.name} has files in the repository.`)
    await prisma.program.delete({ where: { id: row.id } })
    await audit(prisma, request.adminName, 'program.delete', row.name)
    await catalog.refresh()
    return await reply.status(204).send()
  })
}

export default programRoutes
