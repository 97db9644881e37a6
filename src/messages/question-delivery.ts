import type { PrismaClient } from '../db/prisma.js'
import type { EventSink } from '../webhooks/webhooks.js'

/**
 * Questions as the PCs get them (docs/protocol.md §8, f=getmsg and f=ansmsg): each question
 * is handed to a PC once, and answered once.
 */
export interface PendingQuestion {
  /** The delivery's id: the message id the PC answers with. */
  id: string
  program: string | null
  subject: string
  text: string
  createdAt: Date
}

export type AnswerResult = { answered: true } | { answered: false, reason: 'unknown' } | { answered: false, reason: 'already', at: Date }

export class QuestionDeliveries {
  constructor (private readonly prisma: PrismaClient, private readonly events?: EventSink) {}

  /** The questions waiting for this PC, oldest first, marked delivered in the same statement that picks them. */
  async pick (pcid: string): Promise<PendingQuestion[]> {
    const rows = await this.prisma.$queryRaw<Array<{ id: string, program: string | null, subject: string, text: string, created_at: Date }>>`
      WITH picked AS (
        UPDATE question_delivery SET delivered_at = now()
         WHERE pcid = ${pcid} AND delivered_at IS NULL
        RETURNING id, question_id
      )
      SELECT p.id, q.program, q.subject, q.text, q.created_at
        FROM picked p JOIN question q ON q.id = p.question_id ORDER BY q.created_at, p.id`
    return rows.map((row) => ({ id: row.id, program: row.program, subject: row.subject, text: row.text, createdAt: row.created_at }))
  }

  /** Stores this PC's answer to one of its questions; the first answer is kept. */
  async answer (pcid: string, id: string, answer: string): Promise<AnswerResult> {
    const updated = await this.prisma.questionDelivery.updateMany({ where: { id, pcidId: pcid, answeredAt: null }, data: { answeredAt: new Date(), answer } })
    if (updated.count > 0) {
      this.events?.emit('question.answered', { id, pcid, answer })
      return { answered: true }
    }
    const exists = await this.prisma.questionDelivery.findFirst({ where: { id, pcidId: pcid }, select: { answeredAt: true } })
    return exists?.answeredAt == null ? { answered: false, reason: 'unknown' } : { answered: false, reason: 'already', at: exists.answeredAt }
  }
}
