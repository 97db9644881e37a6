/**
 * The client side of licensing, for vendors who embed it (Node.js, or as a reference for
 * another language): check a typed key offline, and verify a LICENSE string from qrymaxver
 * against the server's JWK set. No server code is imported here: only jose and node:crypto.
 * docs/license-key.md describes both.
 */
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose'
import type { LicenseClaims } from './signing.js'

export { validateKey, keyIsForProgram, programTag, type KeyCheck } from './key.js'
export type { LicenseClaims } from './signing.js'

export interface VerifiedLicense extends LicenseClaims {
  iss: string
  iat: number
  exp: number
  kid: string
}

/** Whom the string must be for: this installation's program and this PC. */
export interface LicenseSubject {
  program: string
  pcid: string
}

/** Seconds the client's clock may differ from the server's (docs/license-key.md). */
export const CLOCK_TOLERANCE_SECONDS = 60

export interface VerifyOptions {
  /** Expected issuer (the server's PUBLIC_URL). */
  issuer?: string
  /** Seconds of clock difference to tolerate; CLOCK_TOLERANCE_SECONDS by default. */
  clockTolerance?: number
  currentDate?: Date
}

export class LicenseVerificationError extends Error {
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'LicenseVerificationError'
  }
}

/**
 * Verifies a LICENSE string for this program and this PC: its signature, that it names them,
 * that it was issued (`iat`) and has not expired (`exp`), within a clock difference of
 * CLOCK_TOLERANCE_SECONDS. Returns the claims; throws LicenseVerificationError.
 */
export async function verifyLicense (token: string, jwks: JSONWebKeySet, subject: LicenseSubject, options: VerifyOptions = {}): Promise<VerifiedLicense> {
  if (typeof subject?.program !== 'string' || typeof subject.pcid !== 'string') throw new LicenseVerificationError('verifyLicense needs the program and the PCID the string must be for')
  const tolerance = options.clockTolerance ?? CLOCK_TOLERANCE_SECONDS
  let result
  try {
    result = await jwtVerify(token, createLocalJWKSet(jwks), {
      algorithms: ['EdDSA'],
      issuer: options.issuer,
      clockTolerance: tolerance,
      currentDate: options.currentDate,
      requiredClaims: ['sub', 'iat', 'exp', 'iss']
    })
  } catch (err) {
    throw new LicenseVerificationError(`license string rejected: ${(err as Error).message}`, { cause: err })
  }
  const { payload, protectedHeader } = result
  const claims = payload as unknown as VerifiedLicense
  if (typeof claims.prog !== 'string' || typeof claims.pcid !== 'string' || typeof claims.ver !== 'string') {
    throw new LicenseVerificationError('license string rejected: missing prog, pcid or ver')
  }
  const now = (options.currentDate ?? new Date()).getTime() / 1000
  if (claims.iat > now + tolerance) throw new LicenseVerificationError('license string rejected: issued in the future')
  if (claims.prog.toLowerCase() !== subject.program.toLowerCase()) {
    throw new LicenseVerificationError(`license string is for ${claims.prog}, not ${subject.program}`)
  }
  if (claims.pcid !== subject.pcid) throw new LicenseVerificationError('license string is for another PC')
  return { ...claims, kid: protectedHeader.kid ?? '' }
}
