import type { PrismaClient } from '../generated/prisma/client.js'
import type { AuditLog } from '../admin/audit-log.js'
import { conflict, notFound } from '../errors.js'
import type { Repository } from '../storage/repository.js'
import type { Catalog } from './catalog.js'

export interface ProgramFields {
  displayNameEl?: string | null
  displayNameEn?: string | null
  purchaseUrl?: string | null
}

export interface ProgramRow extends Required<ProgramFields> {
  id: number
  name: string
  createdAt: Date
  updatedAt: Date
}

/**
 * The programs the vendor sells, as recorded. Every change is audited and reloads the
 * in-memory catalog at once (src/catalog/catalog.ts).
 */
export class ProgramRecords {
  constructor (private readonly prisma: PrismaClient, private readonly deps: { catalog: Catalog, repository: Repository, audit: AuditLog }) {}

  async list (): Promise<ProgramRow[]> {
    return await this.prisma.program.findMany({ orderBy: { name: 'asc' } })
  }

  /** The program's record; 404 without one. */
  async find (name: string): Promise<ProgramRow> {
    const row = await this.prisma.program.findUnique({ where: { name } })
    if (row === null) throw notFound(`Program ${name}`)
    return row
  }

  /** Whether the program has a record or a folder in ftp/ (placed by hand). */
  async exists (name: string): Promise<boolean> {
    return this.deps.repository.program(name) !== undefined || await this.prisma.program.findUnique({ where: { name } }) !== null
  }

  async create (fields: ProgramFields & { name: string }, actor: string): Promise<ProgramRow> {
    if (await this.prisma.program.findUnique({ where: { name: fields.name } }) !== null) throw conflict(`Program ${fields.name} exists already.`)
    const row = await this.prisma.program.create({ data: fields })
    await this.changed(actor, 'program.create', row.name, fields)
    return row
  }

  async update (name: string, fields: ProgramFields, actor: string): Promise<ProgramRow> {
    const existing = await this.find(name)
    const row = await this.prisma.program.update({ where: { id: existing.id }, data: fields })
    await this.changed(actor, 'program.update', row.name, fields)
    return row
  }

  /** Deletes a program that has no licenses and no files; 409 otherwise. */
  async remove (name: string, actor: string): Promise<void> {
    const row = await this.prisma.program.findUnique({ where: { name }, include: { _count: { select: { licenses: true } } } })
    if (row === null) throw notFound(`Program ${name}`)
    if (row._count.licenses > 0) throw conflict(`Program ${row.name} has ${row._count.licenses} licenses.`)
    if ((this.deps.repository.program(row.name)?.files.size ?? 0) > 0) throw conflict(`Program ${row.name} has files in the repository.`)
    await this.prisma.program.delete({ where: { id: row.id } })
    await this.changed(actor, 'program.delete', row.name)
  }

  private async changed (actor: string, action: string, target: string, details?: object): Promise<void> {
    await this.deps.audit.record(actor, action, target, details)
    await this.deps.catalog.refresh()
  }
}
