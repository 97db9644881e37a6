import { randomBytes } from 'node:crypto'
import { encodeBytes } from './base32.js'

/** 26 Crockford base32 characters: 130 random bits. Opaque to clients. */
export const PCID_LENGTH = 26
const PCID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/

export function newPcid (): string {
  return encodeBytes(randomBytes(17)).slice(0, PCID_LENGTH)
}

/** Whether a string could be a PCID this server issued (it may still be unknown). */
export function isPcidSyntax (value: string): boolean {
  return PCID_PATTERN.test(value)
}
