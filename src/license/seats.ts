import type { QueryConfig, QueryResult, QueryResultRow } from 'pg'
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

/** What a binding needs of the database: a query on a pool or a client of it. */
export interface Queryable {
  query: <R extends QueryResultRow>(config: QueryConfig) => Promise<QueryResult<R>>
}

/**
 * Binds `pcid` to the license if it is not bound yet and a seat is free, atomically, in one
 * round trip: the database function `bind_seat` (prisma/migrations/*_bind_seat_function) locks
 * the license's row and decides under the lock. Touches `last_seen_at` of an existing seat.
 */
export async function bindSeat (db: Queryable, licenseId: string, pcid: string): Promise<BindResult> {
  const { rows } = await db.query<{ result: BindResult }>({ name: 'bind-seat', text: 'SELECT bind_seat($1::uuid, $2) AS result', values: [licenseId, pcid] })
  return rows[0].result
}

/** Frees one PCID's seat (or all seats with pcid undefined); returns how many were freed. */
export async function freeSeats (prisma: PrismaClient, licenseId: string, pcid?: string): Promise<number> {
  const { count } = await prisma.seat.deleteMany({ where: { licenseId, ...(pcid === undefined ? {} : { pcidId: pcid }) } })
  return count
}
