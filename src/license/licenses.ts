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
  /** maintenanceEnd as the LICENSE string's `mnt` claim (ISO 8601). */
  maintenanceEndIso: string | null
  /** The LICENSE string stored for this PC and license, if any (cache.ts, signing.ts). */
  token: string | null
}
