import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { PrismaClient } from '../generated/prisma/client.js'
import { conflict, notFound } from '../errors.js'
import type { AuditLog } from './audit-log.js'

/**
 * Admin API bearer tokens: `iua_` and 40 base64url characters (240 random bits). Only the
 * SHA-256 is stored; the token is shown once, when created.
 */
const PREFIX = 'iua_'

export function hashToken (token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

export async function createAdminToken (prisma: PrismaClient, name: string): Promise<{ id: number, name: string, token: string }> {
  const token = PREFIX + randomBytes(30).toString('base64url')
  const row = await prisma.adminToken.create({ data: { name, tokenHash: hashToken(token) } })
  return { id: row.id, name: row.name, token }
}

export async function revokeAdminToken (prisma: PrismaClient, nameOrId: string): Promise<boolean> {
  const where = /^\d+$/.test(nameOrId) ? { id: Number(nameOrId) } : { name: nameOrId }
  const { count } = await prisma.adminToken.updateMany({ where: { ...where, revokedAt: null }, data: { revokedAt: new Date() } })
  return count > 0
}

export type Caller = { ok: true, name: string } | { ok: false, status: 401 | 403, reason: string }

/** Who a bearer token is: the bootstrap token from the environment (ADMIN_TOKEN), or a stored one. */
export class BearerTokens {
  constructor (private readonly prisma: PrismaClient, private readonly bootstrap: string | undefined) {}

  /** The caller an `Authorization` header names. */
  async identify (header: string | undefined): Promise<Caller> {
    const match = /^Bearer\s+(\S+)$/i.exec(header ?? '')
    if (match === null) return { ok: false, status: 401, reason: 'An Authorization: Bearer <token> header is required.' }
    return await this.identifyHash(hashToken(match[1]))
  }

  /** The caller whose token has this SHA-256: a console session keeps the hash, and asks on every request. */
  async identifyHash (hash: string): Promise<Caller> {
    if (!/^[0-9a-f]{64}$/.test(hash)) return { ok: false, status: 401, reason: 'Unknown token.' }
    if (this.bootstrap !== undefined && timingSafeEqual(Buffer.from(hash, 'hex'), Buffer.from(hashToken(this.bootstrap), 'hex'))) {
      return { ok: true, name: 'bootstrap' }
    }
    const row = await this.prisma.adminToken.findUnique({ where: { tokenHash: hash } })
    if (row === null) return { ok: false, status: 401, reason: 'Unknown token.' }
    if (row.revokedAt !== null) return { ok: false, status: 403, reason: 'This token was revoked.' }
    // Last use to the minute is enough, and spares a write per request.
    if (row.lastUsedAt === null || Date.now() - row.lastUsedAt.getTime() > 60_000) {
      await this.prisma.adminToken.update({ where: { id: row.id }, data: { lastUsedAt: new Date() } })
    }
    return { ok: true, name: row.name }
  }
}

export interface TokenView { id: number, name: string, createdAt: Date, lastUsedAt: Date | null, revokedAt: Date | null }

/** The admin tokens as the admin API manages them (/api/v1/tokens): made and revoked with an audit entry. */
export class AdminTokens {
  constructor (private readonly prisma: PrismaClient, private readonly audit: AuditLog) {}

  async list (): Promise<TokenView[]> {
    return await this.prisma.adminToken.findMany({ orderBy: { id: 'asc' }, select: { id: true, name: true, createdAt: true, lastUsedAt: true, revokedAt: true } })
  }

  /** A new token; its secret is in the answer and nowhere else. 409 when the name is taken (revoked tokens keep theirs). */
  async create (name: string, actor: string): Promise<{ id: number, name: string, token: string }> {
    if (await this.prisma.adminToken.findUnique({ where: { name } }) !== null) throw conflict(`A token named ${name} exists already.`)
    const made = await createAdminToken(this.prisma, name)
    await this.audit.record(actor, 'token.create', name)
    return made
  }

  async revoke (name: string, actor: string): Promise<void> {
    const { count } = await this.prisma.adminToken.updateMany({ where: { name, revokedAt: null }, data: { revokedAt: new Date() } })
    if (count === 0) throw notFound(`An active token named ${name}`)
    await this.audit.record(actor, 'token.revoke', name)
  }
}
