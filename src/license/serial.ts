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
 * The form a serial is stored and looked up in: a valid key of ours in its canonical form,
 * any other serial as it is. Undefined: neither (KEY_INVALID).
 */
export function serialLookup (serial: string): string | undefined {
  const check = validateKey(serial)
  if (check.valid) return check.key
  return isLegacySerial(serial) ? serial : undefined
}
