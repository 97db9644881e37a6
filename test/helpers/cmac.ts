import { createCipheriv } from 'node:crypto'

/**
 * AES-128-CMAC of a message of whole blocks, computed apart from src/downloads/cmac.ts: Node's
 * AES-CBC from a zero IV over the message with K1 mixed into its last block, K1 derived with
 * BigInt arithmetic as RFC 4493 §2.3 says.
 */
export function independentCmac (key: Buffer, message: Buffer): Buffer {
  if (message.length === 0 || message.length % 16 !== 0) throw new Error('whole blocks only')
  const l = createCipheriv('aes-128-ecb', key, null).setAutoPadding(false).update(Buffer.alloc(16))
  let bits = BigInt('0x' + l.toString('hex')) << 1n
  if (bits >> 128n === 1n) bits ^= (1n << 128n) | 0x87n
  const k1 = Buffer.from(bits.toString(16).padStart(32, '0'), 'hex')
  const input = Buffer.from(message)
  for (let i = 0; i < 16; i++) input[input.length - 16 + i] ^= k1[i]
  const out = createCipheriv('aes-128-cbc', key, Buffer.alloc(16)).setAutoPadding(false).update(input)
  return out.subarray(out.length - 16)
}
