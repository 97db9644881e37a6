import type { PrismaClient } from '../db/prisma.js'
import { validateKey } from './key.js'

/**
 * Serials and PCIDs issued by an earlier system (docs/protocol.md, "Legacy serials and
 * PCIDs"): kept exactly as imported and matched exactly, case included.
 */

/** 1 to 64 characters, none of them a control, format or unassigned character. */
const LEGACY_SERIAL = /^[^\p{C}]{1,64}$/u
/** The same without white space: a PCID is one word in the client's registry. Every PCID of ours is one too. */
const LEGACY_PCID = /^[^\p{C}\s]{1,64}$/u

export function isLegacySerial (value: string): boolean {
  return LEGACY_SERIAL.test(value)
}

export function isLegacyPcid (value: string): boolean {
  return LEGACY_PCID.test(value)
}

/**
 * The spellings a PCID is looked up by outside a poll (the console, the admin API, the
 * newveravail page): as given, since a legacy PCID matches exactly, case included, then
 * upper-cased, a PCID of ours typed in lower case. The first that exists is the PC.
 */
export function pcidSpellings (pcid: string): string[] {
  const upper = pcid.toUpperCase()
  return upper === pcid ? [pcid] : [pcid, upper]
}

/** Of the rows read for pcidSpellings(pcid), the one of the first spelling that exists. */
export function firstSpelling<T extends { id: string }> (pcid: string, rows: readonly T[]): T | undefined {
  for (const spelling of pcidSpellings(pcid)) {
    const row = rows.find((r) => r.id === spelling)
    if (row !== undefined) return row
  }
  return undefined
}

/** The stored PCID of the first spelling that exists (pcidSpellings), else undefined. */
export async function resolvePcid (prisma: PrismaClient, pcid: string): Promise<string | undefined> {
  return firstSpelling(pcid, await prisma.pcid.findMany({ where: { id: { in: pcidSpellings(pcid) } }, select: { id: true } }))?.id
}

/**
 * The form a serial is stored and looked up in: a valid key of ours in its canonical form,
 * any other serial as it is. Undefined: neither (KEY_INVALID).
 */
export function serialLookup (serial: string): string | undefined {
  const check = validateKey(serial)
  if (check.valid) return check.key
  return isLegacySerial(serial) ? serial : undefined
}
