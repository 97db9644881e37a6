import type { PrismaClient } from '../db/prisma.js'
import type { LicenseFacts } from './entitlement.js'
import { generateKey, validateKey } from './key.js'

export interface LicenseRecord extends LicenseFacts {
  id: string
  key: string
  seatLimit: number
}

/** The license a serial names, looked up by its canonical key (an indexed, exact match). */
export async function findLicense (prisma: PrismaClient, serial: string): Promise<LicenseRecord | undefined> {
  const check = validateKey(serial)
  if (!check.valid) return undefined
  const row = await prisma.license.findUnique({ where: { key: check.key }, include: { program: { select: { name: true } } } })
  if (row === null) return undefined
  return { id: row.id, key: row.key, program: row.program.name, status: row.status, maintenanceEnd: row.maintenanceEnd, seatLimit: row.seatLimit }
}

export interface NewLicense {
  programId: number
  programName: string
  customerName: string
  customerEmail?: string | null
  maintenanceEnd?: Date | null
  seatLimit?: number
  notes?: string | null
}

/** Creates a license with a new key (drawing again on the unlikely clash with an existing key). */
export async function createLicense (prisma: PrismaClient, input: NewLicense): Promise<{ id: string, key: string }> {
  for (let attempt = 0; ; attempt++) {
    const key = generateKey(input.programName)
    try {
      return await prisma.license.create({
        data: {
          key,
          programId: input.programId,
          customerName: input.customerName,
          customerEmail: input.customerEmail ?? null,
          maintenanceEnd: input.maintenanceEnd ?? null,
          seatLimit: input.seatLimit ?? 1,
          notes: input.notes ?? null
        },
        select: { id: true, key: true }
      })
    } catch (err) {
      if ((err as { code?: string }).code !== 'P2002' || attempt >= 3) throw err
    }
  }
}

export interface LicenseForPcid extends LicenseRecord {
  /** Whether the PCID holds a seat, and how many seats are taken. */
  bound: boolean
  used: number
}

/** The licenses the given serials name, with this PCID's seat situation on each: one query. */
export async function findLicensesForPcid (prisma: PrismaClient, serials: string[], pcid: string): Promise<Map<string, LicenseForPcid>> {
  const keys = [...new Set(serials.map((serial) => validateKey(serial)).flatMap((check) => check.valid ? [check.key] : []))]
  const found = new Map<string, LicenseForPcid>()
  if (keys.length === 0) return found
  const rows = await prisma.$queryRaw<Array<{ id: string, key: string, program: string, status: LicenseFacts['status'], maintenance_end: Date | null, seat_limit: number, bound: boolean, used: number }>>`
    SELECT l.id, l.key, p.name AS program, l.status, l.maintenance_end, l.seat_limit,
           EXISTS (SELECT 1 FROM seat s WHERE s.license_id = l.id AND s.pcid = ${pcid}) AS bound,
           (SELECT count(*)::int FROM seat s WHERE s.license_id = l.id) AS used
      FROM license l JOIN program p ON p.id = l.program_id
     WHERE l.key = ANY(${keys}::text[])`
  for (const row of rows) {
    found.set(row.key, { id: row.id, key: row.key, program: row.program, status: row.status, maintenanceEnd: row.maintenance_end, seatLimit: row.seat_limit, bound: row.bound, used: row.used })
  }
  return found
}
