import type { Prisma, PrismaClient } from '../generated/prisma/client.js'
import type { AuditLog } from '../admin/audit-log.js'
import { page, type Page, type PageQuery } from '../db/page.js'
import { notFound } from '../errors.js'
import { resolvePcid } from '../license/serial.js'

/** A question to one PCID, or to every PCID that reported a program (and that version of it). */
export type Recipients = { pcid: string } | { program: string, version?: string }

const withDeliveries = { deliveries: { orderBy: { pcidId: 'asc' } } } as const
export type QuestionRow = Prisma.QuestionGetPayload<{ include: typeof withDeliveries }>

/**
 * Questions from the vendor to installed PCs: each recipient gets its own delivery, whose
 * id is the message id the client answers with (docs/protocol.md, getmsg and ansmsg).
 */
export class Questions {
  /** `flush` writes the PCs' pending reports (src/license/contacts.ts), so that a broadcast counts the PCs of the last seconds. */
  constructor (private readonly prisma: PrismaClient, private readonly deps: { audit: AuditLog, flush: () => Promise<void> }) {}

  async ask (question: { subject: string, text: string }, to: Recipients, actor: string): Promise<{ id: number, recipients: number }> {
    const targets = await this.recipients(to)
    const program = 'program' in to ? to.program : null
    const version = 'program' in to ? to.version ?? null : null
    const created = await this.prisma.$transaction(async (tx) => {
      const row = await tx.question.create({ data: { ...question, program, version, createdBy: actor } })
      await tx.questionDelivery.createMany({ data: targets.map((pcid) => ({ questionId: row.id, pcidId: pcid })), skipDuplicates: true })
      return row
    })
    const target = 'pcid' in to ? to.pcid : `${to.program}${to.version === undefined ? '' : `/${to.version}`}`
    await this.deps.audit.record(actor, 'message.question', target, { question: created.id, recipients: targets.length })
    return { id: created.id, recipients: targets.length }
  }

  /** Newest first (the id is unique and grows with time), each with its deliveries. */
  async list ({ limit, offset }: PageQuery): Promise<Page<QuestionRow>> {
    return await page(this.prisma.question.count(), this.prisma.question.findMany({ orderBy: { id: 'desc' }, take: limit, skip: offset, include: withDeliveries }))
  }

  private async recipients (to: Recipients): Promise<string[]> {
    if ('pcid' in to) {
      const id = await resolvePcid(this.prisma, to.pcid)
      if (id === undefined) throw notFound(`PCID ${to.pcid}`)
      return [id]
    }
    await this.deps.flush()
    const rows = to.version === undefined
      ? await this.prisma.$queryRaw<Array<{ pcid: string }>>`SELECT pcid FROM pcid_program WHERE program = ${to.program} UNION SELECT id FROM pcid WHERE program = ${to.program}`
      : await this.prisma.$queryRaw<Array<{ pcid: string }>>`SELECT pcid FROM pcid_program WHERE program = ${to.program} AND version = ${to.version}`
    return rows.map((r) => r.pcid)
  }
}
