import { stat } from 'node:fs/promises'
import type { Prisma, PrismaClient } from '../generated/prisma/client.js'
import { page, type Page, type PageQuery } from '../db/page.js'
import { notFound } from '../errors.js'
import { resolvePcid } from '../license/serial.js'

export interface ReceivedQuery extends PageQuery {
  pcid?: string
  program?: string
}

const withAttachments = { attachments: { orderBy: { id: 'asc' } } } as const
export type ReceivedRow = Prisma.ClientMessageGetPayload<{ include: typeof withAttachments }>

/** The messages PCs sent (src/messages/store.ts stores them), as the vendor reads them. */
export class ReceivedMessages {
  /** `attachmentPath` is where an attachment's file is kept (MessageInbox.attachmentPath). */
  constructor (private readonly prisma: PrismaClient, private readonly attachmentPath: (messageId: string, name: string) => string) {}

  /** Newest first; messages received in the same millisecond in a fixed order, so that pages neither repeat nor skip one. */
  async list ({ pcid, program, limit, offset }: ReceivedQuery): Promise<Page<ReceivedRow>> {
    // The PC as stored (serial.ts, pcidSpellings); one that does not exist has no messages.
    const pcidId = pcid === undefined ? undefined : await resolvePcid(this.prisma, pcid) ?? pcid
    const where = { ...(pcidId === undefined ? {} : { pcidId }), ...(program === undefined ? {} : { program }) }
    return await page(
      this.prisma.clientMessage.count({ where }),
      this.prisma.clientMessage.findMany({ where, orderBy: [{ receivedAt: 'desc' }, { id: 'desc' }], take: limit, skip: offset, include: withAttachments })
    )
  }

  /** Where an attachment's bytes are, and how many; 404 if the record or its file is missing. */
  async attachment (messageId: string, name: string): Promise<{ name: string, path: string, size: number }> {
    const row = await this.prisma.clientAttachment.findUnique({ where: { messageId_name: { messageId, name } } })
    if (row === null) throw notFound(`Attachment ${name}`)
    const path = this.attachmentPath(row.messageId, row.name)
    const info = await stat(path).catch(() => null)
    if (info === null) throw notFound(`The file of attachment ${row.name}`)
    return { name: row.name, path, size: info.size }
  }
}
