import { z } from 'zod'
import type { Prisma, PrismaClient } from '../generated/prisma/client.js'
import type { AuditLog } from '../admin/audit-log.js'
import { page, type Page, type PageQuery } from '../db/page.js'
import { badRequest, notFound } from '../errors.js'
import type { licenseStatus } from './fields.js'
import { generateKey } from './key.js'
import { insertLicenses } from './licenses.js'
import { serialLookup } from './serial.js'
import { freeSeats } from './seats.js'
import type { Channel } from '../catalog/release-control.js'

const withProgram = { program: { select: { name: true } }, _count: { select: { seats: true } } } as const

/** A license as the admin API shows it: with its program's name and the seats taken. */
export type LicenseRow = Prisma.LicenseGetPayload<{ include: typeof withProgram }>

export type LicenseStatus = z.infer<typeof licenseStatus>

export interface LicenseFields {
  customerName: string
  customerEmail?: string | null
  maintenanceEnd?: Date | null
  seatLimit?: number
  notes?: string | null
}

export interface LicenseQuery extends PageQuery {
  program?: string
  status?: LicenseStatus
  /** Part of the customer's name or e-mail, in any case. */
  customer?: string
}

export interface RegistryOptions {
  audit: AuditLog
  /** Told the key of every license changed, so that caches of it are dropped at once. */
  changed: (key: string) => void
  /** Draws a new key for a program (src/license/key.ts by default). */
  generateKey?: (program: string) => string
}

/**
 * Licenses as the vendor manages them: issue one or many, find, change, and free their
 * seats. Every change is audited and dropped from the license caches.
 */
export class LicenseRegistry {
  private readonly generate: (program: string) => string

  constructor (private readonly prisma: PrismaClient, private readonly options: RegistryOptions) {
    this.generate = options.generateKey ?? generateKey
  }

  /** The license a key names, however it was typed, or a legacy serial names exactly; 404 if there is none. */
  async find (key: string): Promise<LicenseRow> {
    const lookup = serialLookup(key.trim())
    if (lookup === undefined) throw notFound(`License ${key.slice(0, 40)}`)
    const row = await this.prisma.license.findUnique({ where: { key: lookup }, include: withProgram })
    if (row === null) throw notFound(`License ${lookup}`)
    return row
  }

  /** Newest first; licenses made together (one import) in a fixed order, so that pages neither repeat nor skip one. */
  async list ({ program, status, customer, limit, offset }: LicenseQuery): Promise<Page<LicenseRow>> {
    const where = {
      ...(program === undefined ? {} : { program: { name: program } }),
      ...(status === undefined ? {} : { status }),
      ...(customer === undefined ? {} : { OR: [{ customerName: { contains: customer, mode: 'insensitive' as const } }, { customerEmail: { contains: customer, mode: 'insensitive' as const } }] })
    }
    return await page(
      this.prisma.license.count({ where }),
      this.prisma.license.findMany({ where, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], take: limit, skip: offset, include: withProgram })
    )
  }

  async issue (program: string, fields: LicenseFields, actor: string): Promise<LicenseRow> {
    const [{ id }] = await insertLicenses(this.prisma, [{ ...fields, programId: await this.programId(program), programName: program }], this.generate)
    const row = await this.prisma.license.findUniqueOrThrow({ where: { id }, include: withProgram })
    await this.options.audit.record(actor, 'license.create', row.key, { program, customerName: row.customerName })
    return row
  }

  async update (key: string, changes: Partial<LicenseFields> & { status?: LicenseStatus, channel?: Channel, pin?: string | null }, actor: string): Promise<LicenseRow> {
    const existing = await this.find(key)
    const row = await this.prisma.license.update({ where: { id: existing.id }, data: changes, include: withProgram })
    this.options.changed(row.key)
    await this.options.audit.record(actor, 'license.update', row.key, changes)
    return row
  }

  async seats (key: string): Promise<{ license: LicenseRow, seats: Array<{ pcidId: string, boundAt: Date, lastSeenAt: Date }> }> {
    const license = await this.find(key)
    const seats = await this.prisma.seat.findMany({ where: { licenseId: license.id }, orderBy: [{ boundAt: 'asc' }, { pcidId: 'asc' }] })
    return { license, seats }
  }

  /** Frees the seat of one PCID (404 if it holds none), or every seat with pcid undefined; returns how many were freed. */
  async freeSeats (key: string, pcid: string | undefined, actor: string): Promise<number> {
    const license = await this.find(key)
    const freed = await freeSeats(this.prisma, license.id, pcid)
    if (pcid !== undefined && freed === 0) throw notFound(`A seat of ${pcid} on ${license.key}`)
    this.options.changed(license.key)
    await this.options.audit.record(actor, 'license.seat.free', license.key, pcid === undefined ? { freed } : { pcid })
    return freed
  }

  private async programId (name: string): Promise<number> {
    const row = await this.prisma.program.findUnique({ where: { name }, select: { id: true } })
    if (row === null) throw badRequest(`Program ${name} does not exist.`, [{ field: 'program', message: 'unknown program' }])
    return row.id
  }
}
