import type { Prisma, PrismaClient } from '../generated/prisma/client.js'
import { page, type Page, type PageQuery } from '../db/page.js'
import { notFound } from '../errors.js'
import type { AuditLog } from '../admin/audit-log.js'
import type { Channel } from '../catalog/release-control.js'
import { firstSpelling, pcidSpellings, resolvePcid } from './serial.js'

export interface PcidQuery extends PageQuery {
  /** The start of the PCID or of the address. */
  q?: string
  /** A program, and a version of it, that the PC reported. */
  program?: string
  version?: string
}

const withPrograms = { programs: true } as const
const withSeats = {
  programs: { orderBy: { program: 'asc' } },
  seats: { include: { license: { select: { key: true, status: true, program: { select: { name: true } } } } } }
} as const

export type PcidRow = Prisma.PcidGetPayload<{ include: typeof withPrograms }>
export type PcidDetail = Prisma.PcidGetPayload<{ include: typeof withSeats }>

/**
 * The installations that asked for a PCID, and what each reported. Reports are written in
 * batches (src/license/contacts.ts): `flush` writes the pending ones before a PC is read.
 */
export class PcidDirectory {
  constructor (private readonly prisma: PrismaClient, private readonly flush: () => Promise<void>, private readonly options: { audit: AuditLog, changed: (pcid: string) => void }) {}

  /** Sets a PC's release channel (docs/protocol.md §3); audited. */
  async setChannel (pcid: string, channel: Channel, actor: string): Promise<PcidDetail> {
    const id = await resolvePcid(this.prisma, pcid)
    if (id === undefined) throw notFound(`PCID ${pcid}`)
    await this.prisma.pcid.update({ where: { id }, data: { channel } })
    this.options.changed(id)
    await this.options.audit.record(actor, 'pcid.update', id, { channel })
    return await this.find(id)
  }

  /** Newest first; PCIDs made in the same millisecond in a fixed order, so that pages neither repeat nor skip one. */
  async list ({ q, program, version, limit, offset }: PcidQuery): Promise<Page<PcidRow>> {
    const where = {
      ...(q === undefined ? {} : { OR: [...pcidSpellings(q).map((start) => ({ id: { startsWith: start } })), { address: { startsWith: q } }] }),
      ...(program === undefined && version === undefined ? {} : { programs: { some: { ...(program === undefined ? {} : { program }), ...(version === undefined ? {} : { version }) } } })
    }
    return await page(
      this.prisma.pcid.count({ where }),
      this.prisma.pcid.findMany({ where, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], take: limit, skip: offset, include: withPrograms })
    )
  }

  /** One PC: the programs and versions it reported, and the licenses whose seats it holds. */
  async find (pcid: string): Promise<PcidDetail> {
    await this.flush()
    const row = firstSpelling(pcid, await this.prisma.pcid.findMany({ where: { id: { in: pcidSpellings(pcid) } }, include: withSeats }))
    if (row === undefined) throw notFound(`PCID ${pcid}`)
    return row
  }
}
