import { keyIsForProgram, validateKey, type KeyCheck } from './key.js'

/** The `REASON[i]` values of docs/protocol.md §3 that concern licensing. */
export const LICENSE_REASONS = [
  'NO_LICENSE',
  'KEY_INVALID',
  'LICENSE_UNKNOWN',
  'WRONG_PROGRAM',
  'LICENSE_SUSPENDED',
  'LICENSE_REVOKED',
  'MAINTENANCE_EXPIRED',
  'SEAT_LIMIT'
] as const
export type LicenseReason = typeof LICENSE_REASONS[number]

export type LicenseStatus = 'active' | 'suspended' | 'revoked'

/** What the server knows of the license a serial names. */
export interface LicenseFacts {
  program: string
  status: LicenseStatus
  /** Versions released up to this instant are covered; null: lifetime updates. */
  maintenanceEnd: Date | null
}

/** The seat situation of the asking PCID on that license. */
export type SeatState = 'bound' | 'free' | 'full'

export interface EntitlementInput {
  /** The serial the client sent (empty or missing: an unlicensed install). */
  serial: string | undefined
  /** The program asked about. */
  program: string
  /** The license found for the serial (a key of ours or a legacy serial), or undefined. */
  license: LicenseFacts | undefined
  seat: SeatState
  /**
   * The release date of the version asked for. Given: maintenance must cover it (a new
   * version). Omitted: an update of a version the customer already owns, for which an
   * active license with a seat suffices.
   */
  releasedAt?: Date
  /** validateKey(serial), when the caller has it already. */
  check?: KeyCheck
}

export type Entitlement = { entitled: true, bindSeat: boolean } | { entitled: false, reason: LicenseReason }

/**
 * Whether a serial entitles this PCID to a version of a program, and if not, why: the
 * first failing rule in this order decides. `bindSeat` tells the caller to take the free
 * seat (atomically, see seats.ts), which may still fail with SEAT_LIMIT in a race.
 */
export function decideEntitlement (input: EntitlementInput): Entitlement {
  const serial = input.serial?.trim() ?? ''
  if (serial === '') return { entitled: false, reason: 'NO_LICENSE' }
  if (input.license === undefined) {
    // Neither a valid key of ours nor a known (legacy) serial.
    const check = input.check ?? validateKey(serial)
    if (!check.valid) return { entitled: false, reason: 'KEY_INVALID' }
    // A well-formed key for another program is a wrong program even if we have no record of it.
    return { entitled: false, reason: keyIsForProgram(check, input.program) ? 'LICENSE_UNKNOWN' : 'WRONG_PROGRAM' }
  }
  if (input.license.program !== input.program) return { entitled: false, reason: 'WRONG_PROGRAM' }
  if (input.license.status === 'suspended') return { entitled: false, reason: 'LICENSE_SUSPENDED' }
  if (input.license.status === 'revoked') return { entitled: false, reason: 'LICENSE_REVOKED' }
  const end = input.license.maintenanceEnd
  if (input.releasedAt !== undefined && end !== null && input.releasedAt.getTime() > end.getTime()) {
    return { entitled: false, reason: 'MAINTENANCE_EXPIRED' }
  }
  if (input.seat === 'full') return { entitled: false, reason: 'SEAT_LIMIT' }
  return { entitled: true, bindSeat: input.seat === 'free' }
}
