import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { audit } from '../../admin/audit-log.js'
import { badRequest, notFound } from '../../errors.js'
import { pagination, programName, versionName } from './schemas.js'

/** Messages: questions to installed PCs, and what the PCs sent (with attachments). */
const messageRoutes: FastifyPluginAsyncZod = async (fastify) => {
  const { prisma, inbox, contacts } = fastify

  fastify.post('/api/v1/messages/questions', {
    schema: {
      tags: ['messages'],
      summary: 'Send a question to one PCID, or to every PCID of a program (optionally of one version)',
      body: z.object({
        subject: z.string().min(1).max(500),
        text: z.string().min(1).max(64 * 1024),
        pcid: z.string().max(64).optional(),
        program: programName.optional(),
        version: versionName.optional()
      })
    }
  }, async (request, reply) => {
    const { subject, text, pcid, program, version } = request.body
    if ((pcid === undefined) === (program === undefined)) throw badRequest('Name either pcid or program.', [{ field: 'body.pcid', message: 'pcid or program, not both' }])
    if (version !== undefined && program === undefined) throw badRequest('version goes with program.', [{ field: 'body.version', message: 'needs program' }])
    let targets: string[]
    if (pcid !== undefined) {
      const row = await prisma.pcid.findUnique({ where: { id: pcid.toUpperCase() } })
      if (row === null) throw notFound(`PCID ${pcid}`)
      targets = [row.id]
    } else {
      // What clients reported in their last seconds is written first, so that they are counted.
      await contacts.flush()
      const rows = version === undefined
        ? await prisma.$queryRaw<Array<{ pcid: string }>>`SELECT pcid FROM pcid_program WHERE program = ${program} UNION SELECT id FROM pcid WHERE program = ${program}`
        : await prisma.$queryRaw<Array<{ pcid: string }>>`SELECT pcid FROM pcid_program WHERE program = ${program} AND version = ${version}`
      targets = rows.map((r) => r.pcid)
    }
    const question = await prisma.$transaction(async (tx) => {
      const created = await tx.question.create({ data: { subject, text, program: program ?? null, version: version ?? null, createdBy: request.adminName } })
      await tx.questionDelivery.createMany({ data: targets.map((target) => ({ questionId: created.id, pcidId: target })), skipDuplicates: true })
      return created
    })
    await audit(prisma, request.adminName, 'message.question', pcid ?? `${program}${version === undefined ? '' : `/${version}`}`, { question: question.id, recipients: targets.length })
    return await reply.status(201).send({ id: question.id, recipients: targets.length })
  })

  fastify.get('/api/v1/messages/questions', {
    schema: { tags: ['messages'], summary: 'Questions with their delivery state and answers, newest first', querystring: z.object({ ...pagination }) }
  }, async (request) => {
    const { limit, offset } = request.query
    const [total, rows] = await Promise.all([
      prisma.question.count(),
      prisma.question.findMany({ orderBy: { id: 'desc' }, take: limit, skip: offset, include: { deliveries: { orderBy: { pcidId: 'asc' } } } })
    ])
    return {
      total,
      limit,
      offset,
      items: rows.map((q) => ({
        id: q.id,
        subject: q.subject,
        text: q.text,
        program: q.program,
        version: q.version,
        createdBy: q.createdBy,
        createdAt: q.createdAt,
        deliveries: q.deliveries.map((d) => ({ messageId: d.id, pcid: d.pcidId, deliveredAt: d.deliveredAt, answeredAt: d.answeredAt, answer: d.answer }))
      }))
    }
  })

  fastify.get('/api/v1/messages/inbox', {
    schema: { tags: ['messages'], summary: 'Messages from clients, newest first', querystring: z.object({ pcid: z.string().max(64).optional(), program: programName.optional(), ...pagination }) }
  }, async (request) => {
    const { pcid, program, limit, offset } = request.query
    const where = { ...(pcid === undefined ? {} : { pcidId: pcid.toUpperCase() }), ...(program === undefined ? {} : { program }) }
    const [total, rows] = await Promise.all([
      prisma.clientMessage.count({ where }),
      prisma.clientMessage.findMany({ where, orderBy: { receivedAt: 'desc' }, take: limit, skip: offset, include: { attachments: { orderBy: { id: 'asc' } } } })
    ])
    return {
      total,
      limit,
      offset,
      items: rows.map((m) => ({
        id: m.id,
        pcid: m.pcidId,
        program: m.program,
        userId: m.userId,
        subject: m.subject,
        text: m.text,
        charset: m.charset,
        clientMsgId: m.clientMsgId,
        receivedAt: m.receivedAt,
        attachments: m.attachments.map((a) => ({ name: a.name, size: Number(a.size), sha256: a.sha256, url: `/api/v1/messages/inbox/${m.id}/attachments/${encodeURIComponent(a.name)}` }))
      }))
    }
  })

  fastify.get('/api/v1/messages/inbox/:id/attachments/:name', {
    schema: { tags: ['messages'], summary: 'Download an attachment', params: z.object({ id: z.uuid(), name: z.string().min(1).max(255) }) }
  }, async (request, reply) => {
    const row = await prisma.clientAttachment.findUnique({ where: { messageId_name: { messageId: request.params.id, name: request.params.name } } })
    if (row === null) throw notFound(`Attachment ${request.params.name}`)
    const path = inbox.attachmentPath(row.messageId, row.name)
    const info = await stat(path).catch(() => null)
    if (info === null) throw notFound(`The file of attachment ${row.name}`)
    return await reply
      .header('content-type', 'application/octet-stream')
      .header('content-length', info.size)
      .header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(row.name)}`)
      .send(createReadStream(path))
  })
}

export default messageRoutes
