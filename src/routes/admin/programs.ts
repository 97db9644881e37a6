import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { ProgramRow } from '../../catalog/programs.js'
import { httpUrl, programName, programParams, text } from './schemas.js'

const programBody = z.object({
  displayNameEl: text(200).nullable().optional(),
  displayNameEn: text(200).nullable().optional(),
  purchaseUrl: httpUrl.nullable().optional()
})

/** Programs: the products the vendor sells (docs/protocol.md §4 uses their names and purchase links). */
const programRoutes: FastifyPluginAsyncZod = async (fastify) => {
  const { repository, programRecords } = fastify

  const view = (row: ProgramRow): Record<string, unknown> => ({
    name: row.name,
    displayNameEl: row.displayNameEl,
    displayNameEn: row.displayNameEn,
    purchaseUrl: row.purchaseUrl,
    versions: (repository.program(row.name)?.versions ?? []).map((v) => v.name),
    createdAt: row.createdAt,
    updatedAt: row.updatedAt
  })

  fastify.post('/api/v1/programs', { schema: { tags: ['programs'], summary: 'Create a program', body: programBody.extend({ name: programName }) } }, async (request, reply) => {
    return await reply.status(201).send(view(await programRecords.create(request.body, request.adminName)))
  })

  fastify.get('/api/v1/programs', { schema: { tags: ['programs'], summary: 'List programs' } }, async () => ({ items: (await programRecords.list()).map(view) }))

  fastify.get('/api/v1/programs/:name', { schema: { tags: ['programs'], summary: 'Read a program', params: programParams } }, async (request) => view(await programRecords.find(request.params.name)))

  fastify.patch('/api/v1/programs/:name', { schema: { tags: ['programs'], summary: 'Update a program', params: programParams, body: programBody } }, async (request) => {
    return view(await programRecords.update(request.params.name, request.body, request.adminName))
  })

  fastify.delete('/api/v1/programs/:name', { schema: { tags: ['programs'], summary: 'Delete a program that has no licenses and no files', params: programParams } }, async (request, reply) => {
    await programRecords.remove(request.params.name, request.adminName)
    return await reply.status(204).send()
  })
}

export default programRoutes
