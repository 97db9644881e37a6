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

export interface VerifyOptions {
  /** The program this installation is; the license must name it. */
  program?: string
  /** This PC's id; the license must name it. */
  pcid?: string
  /** Expected issuer (the server's PUBLIC_URL). */
  issuer?: string
  /** Seconds of clock difference to tolerate. */
  clockTolerance?: number
  currentDate?: Date
}

export class LicenseVerificationError extends Error {
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'LicenseVerificationError'
  }
}

/** Verifies signature, expiry and (when given) program and PCID; returns the claims. */
export async function verifyLicense (token: string, jwks: JSONWebKeySet, options: VerifyOptions = {}): Promise<VerifiedLicense> {
  let result
  try {
    result = await jwtVerify(token, createLocalJWKSet(jwks), {
      algorithms: ['EdDSA'],
      issuer: options.issuer,
      clockTolerance: options.clockTolerance ?? 300,
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
  if (options.program !== undefined && claims.prog.toLowerCase() !== options.program.toLowerCase()) {
    throw new LicenseVerificationError(`license string is for ${claims.prog}, not ${options.program}`)
  }
  if (options.pcid !== undefined && claims.pcid !== options.pcid) {
    throw new LicenseVerificationError('license string is for another PC')
  }
  return { ...claims, kid: protectedHeader.kid ?? '' }
}
