import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { audit } from '../../admin/audit-log.js'
import { badRequest, notFound } from '../../errors.js'
import { generateKey, validateKey } from '../../license/key.js'
import { freeSeats } from '../../license/seats.js'
import { endDate, pagination, programName } from './schemas.js'
import type { PrismaClient } from '../../db/prisma.js'

const status = z.enum(['active', 'suspended', 'revoked'])
const licenseFields = {
  customerName: z.string().min(1).max(200),
  customerEmail: z.email().max(200).nullable().optional(),
  maintenanceEnd: endDate.nullable().optional(),
  seatLimit: z.number().int().min(1).max(100_000).optional(),
  notes: z.string().max(5000).nullable().optional()
}
const keyParams = z.object({ key: z.string().max(64) })

type LicenseRow = Awaited<ReturnType<PrismaClient['license']['findFirstOrThrow']>> & { program: { name: string }, _count?: { seats: number } }

function view (row: LicenseRow): Record<string, unknown> {
  return {
    key: row.key,
    program: row.program.name,
    customerName: row.customerName,
    customerEmail: row.customerEmail,
    status: row.status,
    maintenanceEnd: row.maintenanceEnd,
    seatLimit: row.seatLimit,
    seatsUsed: row._count?.seats,
    notes: row.notes,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt
  }
}

/** Licenses: issue (one or many from CSV), list and filter, read, change, and their seats. */
const licenseRoutes: FastifyPluginAsyncZod = async (fastify) => {
  const { prisma, licenses: cache } = fastify

  async function find (key: string): Promise<LicenseRow> {
    const check = validateKey(key)
    if (!check.valid) throw notFound(`License ${key.slice(0, 40)}`)
    const row = await prisma.license.findUnique({ where: { key: check.key }, include: { program: { select: { name: true } }, _count: { select: { seats: true } } } })
    if (row === null) throw notFound(`License ${check.key}`)
    return row
  }

  async function programId (name: string): Promise<number> {
    const row = await prisma.program.findUnique({ where: { name } })
    if (row === null) throw badRequest(`Program ${name} does not exist.`, [{ field: 'program', message: 'unknown program' }])
    return row.id
  }

  fastify.post('/api/v1/licenses', { schema: { tags: ['licenses'], summary: 'Issue a license; the answer carries its key', body: z.object({ program: programName, ...licenseFields }) } }, async (request, reply) => {
    const { program, ...data } = request.body
    const row = await prisma.license.create({
      data: { ...data, key: generateKey(program), programId: await programId(program) },
      include: { program: { select: { name: true } }, _count: { select: { seats: true } } }
    })
    await audit(prisma, request.adminName, 'license.create', row.key, { program, customerName: row.customerName })
    return await reply.status(201).send(view(row))
  })

  fastify.post('/api/v1/licenses/import', {
    schema: { tags: ['licenses'], summary: 'Issue many licenses from CSV (program,customerName,customerEmail,maintenanceEnd,seatLimit,notes; header line optional); all or none' }
  }, async (request, reply) => {
    if (typeof request.body !== 'string') throw badRequest('Send the CSV as text/csv.')
    const rows = parseCsv(request.body)
    if (rows.length > 0 && rows[0][0]?.trim().toLowerCase() === 'program') rows.shift()
    if (rows.length === 0) throw badRequest('The CSV has no lines.')
    if (rows.length > 10_000) throw badRequest('At most 10,000 licenses per import.')
    const programs = new Map((await prisma.program.findMany()).map((p) => [p.name, p.id]))
    const errors: Array<{ field: string, message: string }> = []
    const line = z.object({ program: programName, ...licenseFields, seatLimit: z.coerce.number().int().min(1).max(100_000).optional() })
    const parsed = rows.map((cells, i) => {
      const [program, customerName, customerEmail, maintenanceEnd, seatLimit, notes] = cells.map((c) => c.trim())
      const result = line.safeParse({
        program,
        customerName,
        customerEmail: customerEmail === '' || customerEmail === undefined ? null : customerEmail,
        maintenanceEnd: maintenanceEnd === '' || maintenanceEnd === undefined ? null : maintenanceEnd,
        seatLimit: seatLimit === '' || seatLimit === undefined ? undefined : seatLimit,
        notes: notes === '' || notes === undefined ? null : notes
      })
      if (!result.success) for (const issue of result.error.issues) errors.push({ field: `line ${i + 1}: ${issue.path.join('.')}`, message: issue.message })
      else if (!programs.has(result.data.program)) errors.push({ field: `line ${i + 1}: program`, message: `unknown program ${result.data.program}` })
      return result.success ? result.data : undefined
    })
    if (errors.length > 0) throw badRequest('The CSV has errors; no license was issued.', errors.slice(0, 100))
    const created = await prisma.$transaction(parsed.map((data) => {
      const { program, ...rest } = data!
      return prisma.license.create({ data: { ...rest, key: generateKey(program), programId: programs.get(program)! }, select: { key: true, customerName: true, program: { select: { name: true } } } })
    }))
    await audit(prisma, request.adminName, 'license.import', `${created.length} licenses`, { keys: created.map((c) => c.key) })
    return await reply.status(201).send({ items: created.map((c) => ({ key: c.key, program: c.program.name, customerName: c.customerName })) })
  })

  fastify.get('/api/v1/licenses', {
    schema: { tags: ['licenses'], summary: 'List licenses', querystring: z.object({ program: programName.optional(), status: status.optional(), customer: z.string().max(200).optional(), ...pagination }) }
  }, async (request) => {
    const { program, status: st, customer, limit, offset } = request.query
    const where = {
      ...(program === undefined ? {} : { program: { name: program } }),
      ...(st === undefined ? {} : { status: st }),
      ...(customer === undefined ? {} : { OR: [{ customerName: { contains: customer, mode: 'insensitive' as const } }, { customerEmail: { contains: customer, mode: 'insensitive' as const } }] })
    }
    const [total, rows] = await Promise.all([
      prisma.license.count({ where }),
      prisma.license.findMany({ where, orderBy: { createdAt: 'desc' }, take: limit, skip: offset, include: { program: { select: { name: true } }, _count: { select: { seats: true } } } })
    ])
    return { total, limit, offset, items: rows.map(view) }
  })

  fastify.get('/api/v1/licenses/:key', { schema: { tags: ['licenses'], summary: 'Read a license', params: keyParams } }, async (request) => view(await find(request.params.key)))

  fastify.patch('/api/v1/licenses/:key', {
    schema: { tags: ['licenses'], summary: 'Change a license: extend maintenance, seats, suspend, revoke, reactivate', params: keyParams, body: z.object({ ...licenseFields, customerName: licenseFields.customerName.optional(), status: status.optional() }) }
  }, async (request) => {
    const existing = await find(request.params.key)
    const row = await prisma.license.update({ where: { id: existing.id }, data: request.body, include: { program: { select: { name: true } }, _count: { select: { seats: true } } } })
    cache.evict(row.key)
    await audit(prisma, request.adminName, 'license.update', row.key, request.body)
    return view(row)
  })

  fastify.get('/api/v1/licenses/:key/seats', { schema: { tags: ['licenses'], summary: 'List the PCs holding seats', params: keyParams } }, async (request) => {
    const license = await find(request.params.key)
    const seats = await prisma.seat.findMany({ where: { licenseId: license.id }, orderBy: { boundAt: 'asc' } })
    return { seatLimit: license.seatLimit, items: seats.map((s) => ({ pcid: s.pcidId, boundAt: s.boundAt, lastSeenAt: s.lastSeenAt })) }
  })

  fastify.delete('/api/v1/licenses/:key/seats/:pcid', { schema: { tags: ['licenses'], summary: 'Free one seat', params: keyParams.extend({ pcid: z.string().max(64) }) } }, async (request, reply) => {
    const license = await find(request.params.key)
    if (await freeSeats(prisma, license.id, request.params.pcid) === 0) throw notFound(`A seat of ${request.params.pcid} on ${license.key}`)
    cache.evict(license.key)
    await audit(prisma, request.adminName, 'license.seat.free', license.key, { pcid: request.params.pcid })
    return await reply.status(204).send()
  })

  fastify.delete('/api/v1/licenses/:key/seats', { schema: { tags: ['licenses'], summary: 'Free all seats', params: keyParams } }, async (request) => {
    const license = await find(request.params.key)
    const freed = await freeSeats(prisma, license.id)
    cache.evict(license.key)
    await audit(prisma, request.adminName, 'license.seat.free', license.key, { freed })
    return { freed }
  })
}

/** RFC 4180 CSV: quoted fields with "" escapes, commas or semicolons, CRLF or LF. */
export function parseCsv (text: string): string[][] {
  const rows: string[][] = []
  const separator = /^[^\n]*;[^\n]*$/m.test(text.split('\n')[0] ?? '') && !text.split('\n')[0].includes(',') ? ';' : ','
  let row: string[] = []
  let field = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++ } else if (c === '"') quoted = false
      else field += c
    } else if (c === '"' && field === '') quoted = true
    else if (c === separator) { row.push(field); field = '' } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++
      row.push(field)
      if (row.some((cell) => cell.trim() !== '')) rows.push(row)
      row = []
      field = ''
    } else field += c
  }
  row.push(field)
  if (row.some((cell) => cell.trim() !== '')) rows.push(row)
  return rows
}

export default licenseRoutes
