import type { PrismaClient } from '../db/prisma.js'
import type { SeatState } from './entitlement.js'

/**
 * Seats: the PCIDs a license is used from. Binding takes a row lock on the license, so
 * that when two PCIDs race for the last seat, on one server or several sharing the
 * database, exactly one gets it.
 */

/** Whether `pcid` holds a seat of the license, or could take one now (no lock: for deciding). */
export async function seatState (prisma: PrismaClient, licenseId: string, pcid: string, seatLimit: number): Promise<SeatState> {
  const rows = await prisma.$queryRaw<Array<{ bound: boolean, used: number }>>`
    SELECT bool_or(pcid = ${pcid}) AS bound, count(*)::int AS used FROM seat WHERE license_id = ${licenseId}::uuid`
  const { bound, used } = rows[0] ?? { bound: false, used: 0 }
  if (bound === true) return 'bound'
  return used < seatLimit ? 'free' : 'full'
}

export type BindResult = 'bound' | 'already' | 'full' | 'gone'

/**
 * Binds `pcid` to the license if it is not bound yet and a seat is free, atomically.
 * Touches `last_seen_at` of an existing seat.
 */
export async function bindSeat (prisma: PrismaClient, licenseId: string, pcid: string): Promise<BindResult> {
  return await prisma.$transaction(async (tx) => {
    // Serialises binders of this license; the count below is read after the lock is held.
    const locked = await tx.$queryRaw<Array<{ seat_limit: number }>>`
      SELECT seat_limit FROM license WHERE id = ${licenseId}::uuid FOR UPDATE`
    if (locked.length === 0) return 'gone'
    const touched = await tx.$executeRaw`
      UPDATE seat SET last_seen_at = now() WHERE license_id = ${licenseId}::uuid AND pcid = ${pcid}`
    if (touched > 0) return 'already'
    const [{ used }] = await tx.$queryRaw<Array<{ used: number }>>`
      SELECT count(*)::int AS used FROM seat WHERE license_id = ${licenseId}::uuid`
    if (used >= locked[0].seat_limit) return 'full'
    await tx.$executeRaw`INSERT INTO seat (license_id, pcid) VALUES (${licenseId}::uuid, ${pcid})`
    return 'bound'
  })
}

/** Frees one PCID's seat (or all seats with pcid undefined); returns how many were freed. */
export async function freeSeats (prisma: PrismaClient, licenseId: string, pcid?: string): Promise<number> {
  const { count } = await prisma.seat.deleteMany({ where: { licenseId, ...(pcid === undefined ? {} : { pcidId: pcid }) } })
  return count
}
