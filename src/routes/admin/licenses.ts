import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { licenseFields, licenseStatus } from '../../license/fields.js'
import type { LicenseRow } from '../../license/registry.js'
import { identifier, pagination, programName, text, versionName } from './schemas.js'
import { CHANNELS } from '../../catalog/release-control.js'

/** Release control of a license (docs/admin-api.md, "Release control"). */
const licenseReleaseFields = {
  channel: z.enum(CHANNELS).optional().describe('beta: the PCs using this license are also offered beta versions'),
  pin: versionName.nullable().optional().describe('a version prefix (2.6) beyond which this license is never offered a version; null lifts it')
}

const keyParams = z.object({ key: identifier })

function view (row: LicenseRow): Record<string, unknown> {
  return {
    key: row.key,
    program: row.program.name,
    customerName: row.customerName,
    customerEmail: row.customerEmail,
    status: row.status,
    maintenanceEnd: row.maintenanceEnd,
    seatLimit: row.seatLimit,
    seatsUsed: row._count.seats,
    notes: row.notes,
    channel: row.channel,
    pin: row.pin,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt
  }
}

/** Licenses: issue, list and filter, read, change, and their seats. */
const licenseRoutes: FastifyPluginAsyncZod = async (fastify) => {
  const { licenseRegistry: registry } = fastify

  fastify.post('/api/v1/licenses', { schema: { tags: ['licenses'], summary: 'Issue a license; the answer carries its key', body: z.object({ program: programName, ...licenseFields }) } }, async (request, reply) => {
    const { program, ...fields } = request.body
    return await reply.status(201).send(view(await registry.issue(program, fields, request.adminName)))
  })

  fastify.get('/api/v1/licenses', {
    schema: { tags: ['licenses'], summary: 'List licenses', querystring: z.object({ program: programName.optional(), status: licenseStatus.optional(), customer: text(200).optional(), ...pagination }) }
  }, async (request) => {
    const { limit, offset } = request.query
    const { total, items } = await registry.list(request.query)
    return { total, limit, offset, items: items.map(view) }
  })

  fastify.get('/api/v1/licenses/:key', { schema: { tags: ['licenses'], summary: 'Read a license', params: keyParams } }, async (request) => view(await registry.find(request.params.key)))

  fastify.patch('/api/v1/licenses/:key', {
    schema: {
      tags: ['licenses'],
      summary: 'Change a license: extend maintenance, seats, suspend, revoke, reactivate; its release channel and version pin',
      params: keyParams,
      body: z.object({ ...licenseFields, customerName: licenseFields.customerName.optional(), status: licenseStatus.optional(), ...licenseReleaseFields })
    }
  }, async (request) => view(await registry.update(request.params.key, request.body, request.adminName)))

  fastify.get('/api/v1/licenses/:key/seats', { schema: { tags: ['licenses'], summary: 'List the PCs holding seats', params: keyParams } }, async (request) => {
    const { license, seats } = await registry.seats(request.params.key)
    return { seatLimit: license.seatLimit, items: seats.map((s) => ({ pcid: s.pcidId, boundAt: s.boundAt, lastSeenAt: s.lastSeenAt })) }
  })

  fastify.delete('/api/v1/licenses/:key/seats/:pcid', { schema: { tags: ['licenses'], summary: 'Free one seat', params: keyParams.extend({ pcid: identifier }) } }, async (request, reply) => {
    await registry.freeSeats(request.params.key, request.params.pcid, request.adminName)
    return await reply.status(204).send()
  })

  fastify.delete('/api/v1/licenses/:key/seats', { schema: { tags: ['licenses'], summary: 'Free all seats', params: keyParams } }, async (request) => {
    return { freed: await registry.freeSeats(request.params.key, undefined, request.adminName) }
  })
}

export default licenseRoutes
