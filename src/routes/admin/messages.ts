import { createReadStream } from 'node:fs'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { badRequest } from '../../errors.js'
import { identifier, pagination, programName, text, versionName } from './schemas.js'

/** Messages: questions to installed PCs, and what the PCs sent (with attachments). */
const messageRoutes: FastifyPluginAsyncZod = async (fastify) => {
  const { questions, receivedMessages } = fastify

  fastify.post('/api/v1/messages/questions', {
    schema: {
      tags: ['messages'],
      summary: 'Send a question to one PCID, or to every PCID of a program (optionally of one version)',
      body: z.object({
        subject: text(500).min(1),
        text: text(64 * 1024).min(1),
        pcid: identifier.optional(),
        program: programName.optional(),
        version: versionName.optional()
      })
    }
  }, async (request, reply) => {
    const { subject, text: body, pcid, program, version } = request.body
    const to = pcid === undefined ? (program === undefined ? undefined : { program, version }) : (program === undefined ? { pcid } : undefined)
    if (to === undefined) throw badRequest('Name either pcid or program.', [{ field: 'body.pcid', message: 'pcid or program, not both' }])
    if (version !== undefined && program === undefined) throw badRequest('version goes with program.', [{ field: 'body.version', message: 'needs program' }])
    return await reply.status(201).send(await questions.ask({ subject, text: body }, to, request.adminName))
  })

  fastify.get('/api/v1/messages/questions', {
    schema: { tags: ['messages'], summary: 'Questions with their delivery state and answers, newest first', querystring: z.object({ ...pagination }) }
  }, async (request) => {
    const { limit, offset } = request.query
    const { total, items } = await questions.list(request.query)
    return {
      total,
      limit,
      offset,
      items: items.map((q) => ({
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
    schema: { tags: ['messages'], summary: 'Messages from clients, newest first', querystring: z.object({ pcid: identifier.optional(), program: programName.optional(), ...pagination }) }
  }, async (request) => {
    const { limit, offset } = request.query
    const { total, items } = await receivedMessages.list(request.query)
    return {
      total,
      limit,
      offset,
      items: items.map((m) => ({
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
    schema: { tags: ['messages'], summary: 'Download an attachment', params: z.object({ id: z.uuid(), name: text(255).min(1) }) }
  }, async (request, reply) => {
    const attachment = await receivedMessages.attachment(request.params.id, request.params.name)
    return await reply
      .header('content-type', 'application/octet-stream')
      .header('content-length', attachment.size)
      .header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(attachment.name)}`)
      .send(createReadStream(attachment.path))
  })
}

export default messageRoutes
