import { createCipheriv, type Cipher } from 'node:crypto'

/** The AES block: CMAC works on 16-byte blocks. */
export const BLOCK = 16

/**
 * AES-CMAC (RFC 4493, NIST SP 800-38B) with AES-128, the MAC of download links of format 3:
 * links are issued as format 4 now (keyed BLAKE2s, blake2s.ts), and this verifies the format 3
 * links handed out before, until they expire. The rest tells how it was made fast for issuing.
 *
 * CMAC is a CBC chain of the block cipher from a zero IV, with a subkey mixed into the last
 * block. Node has no CMAC of its own; AES in ECB mode on whole blocks is the block cipher
 * itself, so one long-lived ECB context computes every MAC (ECB keeps no state from one block
 * to the next).
 *
 * Why not HMAC: a download link is a MAC, and an answer lists many links that differ only
 * in their last block. Node builds an HMAC context per MAC (most of its cost); here the
 * blocks an answer's links share are chained once (`chain`) and the last blocks of all its
 * links are encrypted in one call (`finish`).
 *
 * The chain itself is one call too, on a second long-lived context in CBC mode. That context
 * does carry state from one call to the next: the last block it put out, which is the IV of
 * its next call. XORing that block into the first block of a new chain cancels it, so the
 * call computes the chain from a zero IV, as CMAC needs. One call into the cipher per chain
 * instead of one per block: each call costs far more than the AES it does.
 */
export class AesCmac {
  private readonly aes: Cipher
  /** AES-CBC, for chains: it continues from `cbcLast`, the last block it put out. */
  private readonly cbc: Cipher
  private readonly cbcLast = Buffer.alloc(BLOCK)
  /** Subkey for a whole last block. */
  private readonly k1: Buffer
  /** Subkey for a padded last block. */
  private readonly k2: Buffer

  constructor (key: Buffer) {
    if (key.length !== BLOCK) throw new Error('AES-CMAC here takes a 16-byte (AES-128) key')
    this.aes = createCipheriv('aes-128-ecb', key, null).setAutoPadding(false)
    this.cbc = createCipheriv('aes-128-cbc', key, this.cbcLast).setAutoPadding(false)
    this.k1 = double(this.encrypt(Buffer.alloc(BLOCK)))
    this.k2 = double(this.k1)
  }

  /**
   * The chaining value after `blocks` (whole blocks), from a zero IV: CMAC's state before the
   * last block. `blocks` is read in place and left as it was.
   */
  chain (blocks: Buffer): Buffer {
    if (blocks.length % BLOCK !== 0) throw new RangeError('chain takes whole blocks')
    if (blocks.length === 0) return Buffer.alloc(BLOCK)
    // The first block is XORed with the context's last output for the call, and back after it.
    for (let i = 0; i < BLOCK; i++) blocks[i] ^= this.cbcLast[i]
    let out: Buffer
    try {
      out = this.cbc.update(blocks)
    } finally {
      for (let i = 0; i < BLOCK; i++) blocks[i] ^= this.cbcLast[i]
    }
    const state = out.subarray(out.length - BLOCK)
    for (let i = 0; i < BLOCK; i++) this.cbcLast[i] = state[i]
    return state
  }

  /**
   * The MACs of several messages that share `state` (from chain) and each end in one whole
   * block of `lastBlocks`: the MAC of message i is bytes 16i..16i+15 of the result. One call
   * to the cipher for all of them.
   */
  finish (state: Buffer, lastBlocks: Buffer): Buffer {
    if (state.length !== BLOCK || lastBlocks.length % BLOCK !== 0) throw new RangeError('finish takes a state and whole last blocks')
    const mask = Buffer.allocUnsafe(BLOCK)
    for (let i = 0; i < BLOCK; i++) mask[i] = state[i] ^ this.k1[i]
    const input = Buffer.allocUnsafe(lastBlocks.length)
    for (let at = 0; at < lastBlocks.length; at += BLOCK) {
      for (let i = 0; i < BLOCK; i++) input[at + i] = lastBlocks[at + i] ^ mask[i]
    }
    return this.encrypt(input)
  }

  /** The MAC of any message (RFC 4493 §2.4). */
  mac (message: Buffer): Buffer {
    const whole = message.length > 0 && message.length % BLOCK === 0
    const lastAt = whole ? message.length - BLOCK : message.length - (message.length % BLOCK)
    const state = this.chain(message.subarray(0, lastAt))
    const last = Buffer.alloc(BLOCK)
    message.copy(last, 0, lastAt)
    if (whole) return this.finish(state, last)
    // A short (or empty) last block is padded with 10…0 and takes the other subkey.
    last[message.length - lastAt] = 0x80
    for (let i = 0; i < BLOCK; i++) last[i] ^= state[i] ^ this.k2[i]
    return this.encrypt(last)
  }

  /** AES on whole blocks, each on its own (ECB). */
  private encrypt (blocks: Buffer): Buffer {
    return this.aes.update(blocks)
  }
}

/** Doubling in GF(2^128), as RFC 4493 derives its subkeys: shift left by one bit, reduce by 0x87. */
function double (block: Buffer): Buffer {
  const out = Buffer.alloc(BLOCK)
  for (let i = 0; i < BLOCK; i++) out[i] = ((block[i] << 1) | (i + 1 < BLOCK ? block[i + 1] >> 7 : 0)) & 0xff
  if ((block[0] & 0x80) !== 0) out[BLOCK - 1] ^= 0x87
  return out
}
