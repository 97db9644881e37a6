import type { Channel } from '../catalog/release-control.js'
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
  const [created] = await insertLicenses(prisma, [input])
  return created
}

/** How often a license's key is drawn before giving up: a clash of 90 random bits twice in a row is not luck. */
const KEY_DRAWS = 4
/** Rows per INSERT: well below Postgres's 65,535 bind parameters. */
const INSERT_BATCH = 1000

type LicenseWriter = Pick<PrismaClient, 'license'>

/**
 * Inserts licenses with new keys, in order; returns their ids and keys in the same order. A
 * drawn key that exists already (or twice in one batch) is skipped by the insert (ON CONFLICT
 * DO NOTHING), not failed, so this works inside a transaction too, and is drawn again.
 */
export async function insertLicenses (db: LicenseWriter, inputs: readonly NewLicense[], draw: (program: string) => string = generateKey): Promise<Array<{ id: string, key: string }>> {
  const created: Array<{ id: string, key: string }> = new Array(inputs.length)
  for (let start = 0; start < inputs.length; start += INSERT_BATCH) {
    let pending = Array.from({ length: Math.min(INSERT_BATCH, inputs.length - start) }, (_, i) => start + i)
    for (let attempt = 1; pending.length > 0; attempt++) {
      if (attempt > KEY_DRAWS) throw new Error(`no free license key after ${KEY_DRAWS} draws`)
      const drawn = new Map<string, number>()
      for (const i of pending) {
        const key = draw(inputs[i].programName)
        if (!drawn.has(key)) drawn.set(key, i)
      }
      const rows = await db.license.createManyAndReturn({
        data: [...drawn].map(([key, i]) => {
          const input = inputs[i]
          return {
            key,
            programId: input.programId,
            customerName: input.customerName,
            customerEmail: input.customerEmail ?? null,
            maintenanceEnd: input.maintenanceEnd ?? null,
            seatLimit: input.seatLimit ?? 1,
            notes: input.notes ?? null
          }
        }),
        skipDuplicates: true,
        select: { id: true, key: true }
      })
      for (const row of rows) created[drawn.get(row.key)!] = row
      pending = pending.filter((i) => created[i] === undefined)
    }
  }
  return created
}

export interface LicenseForPcid extends LicenseRecord {
  /** Whether the PCID holds a seat, and how many seats are taken. */
  bound: boolean
  used: number
  /** maintenanceEnd as the LICENSE string's `mnt` claim (ISO 8601). */
  maintenanceEndIso: string | null
  /** The LICENSE string stored for this PC and license, if any (cache.ts, signing.ts). */
  token: string | null
  /** Release control (docs/protocol.md §3): the license's channel and version pin. */
  channel: Channel
  pin: string | null
}
