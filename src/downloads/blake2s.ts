/**
 * Keyed BLAKE2s (RFC 7693), the MAC of download links of format 4 (tokens.ts).
 *
 * Why here and not OpenSSL or a package: an answer's links share their first 64 bytes, so a
 * MAC that can keep its state after them costs one compression for the answer and one per
 * link. Node's crypto has no keyed BLAKE2s and no way to copy a MAC's state; AES-CMAC through
 * Node's cipher (format 3, cmac.ts) took two calls into OpenSSL per answer, and measured on
 * the server under load (bench/qrymaxver.ts, DEVELOPERS.md) those two calls were a quarter of
 * the time of a poll listing 5 files. @noble/hashes (1.2 µs a compression, 18 µs for the links
 * of such an answer) and @stablelib/blake2s (its saved state keeps the last block
 * uncompressed, so nothing is shared) were measured too. This is the RFC's compression
 * function as written there, checked in the tests against the BLAKE2 reference's known
 * answers and against @noble/hashes on random keys and messages.
 *
 * BLAKE2s is add, rotate and xor on 32-bit words: no table is indexed by secret data, so it
 * takes the same time whatever the key and message (the sigma table is indexed by the round).
 */

const BLOCK_BYTES = 64
/** The byte counter is kept in one word (its high word is 0): messages below 2^32 bytes, key block included. */
const MAX_BYTES = 2 ** 32 - BLOCK_BYTES

const IV = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19])

/** The message schedule of RFC 7693 §2.7, ten rounds of sixteen word indexes. */
const SIGMA = new Uint8Array([
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
  14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3,
  11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4,
  7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8,
  9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13,
  2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9,
  12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11,
  13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10,
  6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5,
  10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0
])

/** A MAC's state between blocks: the chaining value and the bytes compressed so far. */
export interface Blake2sState {
  h: Int32Array
  bytes: number
}

export class Blake2sMac {
  /** The chaining value before any block: the IV with the parameter block (RFC 7693 §2.5). */
  private readonly initial: Int32Array
  /** The key padded to a block: the first block of every message. */
  private readonly keyBlock = Buffer.alloc(BLOCK_BYTES)
  /** The state after the key block: where every message starts. */
  private readonly keyed: Blake2sState
  private readonly words = new Int32Array(16)
  private readonly scratch = new Int32Array(8)

  /** A key of 1 to 32 bytes, a MAC of 1 to 32 bytes. */
  constructor (key: Uint8Array, readonly outBytes = 16) {
    if (key.length < 1 || key.length > 32) throw new RangeError('a BLAKE2s key is 1 to 32 bytes')
    if (outBytes < 1 || outBytes > 32) throw new RangeError('a BLAKE2s MAC is 1 to 32 bytes')
    this.initial = new Int32Array(IV)
    this.initial[0] ^= 0x01010000 ^ (key.length << 8) ^ outBytes
    this.keyBlock.set(key)
    this.keyed = { h: new Int32Array(this.initial), bytes: 0 }
    this.absorb(this.keyed, this.keyBlock, 0, false)
  }

  /**
   * The state after the first `length` bytes of `message`, whole blocks that are not its last
   * (the message goes on): shared by the messages that begin with them.
   */
  prefix (message: Uint8Array, length: number): Blake2sState {
    if (length % BLOCK_BYTES !== 0 || length > message.length) throw new RangeError('a prefix is whole blocks of the message')
    if (message.length >= MAX_BYTES) throw new RangeError('a message here is below 4 GiB')
    const state = { h: new Int32Array(this.keyed.h), bytes: this.keyed.bytes }
    for (let at = 0; at < length; at += BLOCK_BYTES) this.absorb(state, message, at, false)
    return state
  }

  /**
   * The MAC of the message that is `state`'s prefix followed by `rest[from..to)` (1 to 64
   * bytes), written into `out` at `outAt`. `state` is left as it was, for the next message.
   */
  finish (state: Blake2sState, rest: Uint8Array, from: number, to: number, out: Uint8Array, outAt: number): void {
    const length = to - from
    if (length < 1 || length > BLOCK_BYTES) throw new RangeError('a message goes on for 1 to 64 bytes after its prefix')
    // The last block, read in place and padded with zeros (this runs once per listed file).
    const m = this.words
    for (let i = 0; i < 16; i++) {
      const o = from + 4 * i
      m[i] = o + 4 <= to ? rest[o] | (rest[o + 1] << 8) | (rest[o + 2] << 16) | (rest[o + 3] << 24) : partialWord(rest, o, to)
    }
    const h = this.scratch
    for (let i = 0; i < 8; i++) h[i] = state.h[i]
    compress(h, m, state.bytes + length, true)
    writeWords(h, this.outBytes, out, outAt)
  }

  /** The MAC of a whole message. */
  mac (message: Uint8Array): Buffer {
    const out = Buffer.alloc(this.outBytes)
    if (message.length === 0) {
      // The key block is then the last block (RFC 7693 §3.3).
      const state = { h: new Int32Array(this.initial), bytes: 0 }
      this.absorb(state, this.keyBlock, 0, true)
      writeWords(state.h, this.outBytes, out, 0)
      return out
    }
    const whole = Math.floor((message.length - 1) / BLOCK_BYTES) * BLOCK_BYTES
    this.finish(this.prefix(message, whole), message, whole, message.length, out, 0)
    return out
  }

  /** Compresses the 64 bytes of `bytes` at `at` into `state` (RFC 7693 §3.2, function F). */
  private absorb (state: Blake2sState, bytes: Uint8Array, at: number, last: boolean): void {
    const m = this.words
    for (let i = 0; i < 16; i++) {
      const o = at + 4 * i
      m[i] = bytes[o] | (bytes[o + 1] << 8) | (bytes[o + 2] << 16) | (bytes[o + 3] << 24)
    }
    state.bytes += BLOCK_BYTES
    compress(state.h, m, state.bytes, last)
  }
}

/** The little-endian word of the bytes at `at` that come before `end`, zeros after. */
function partialWord (bytes: Uint8Array, at: number, end: number): number {
  let word = 0
  for (let k = 0; k < 4 && at + k < end; k++) word |= bytes[at + k] << (8 * k)
  return word
}

/** The first `bytes` bytes of the chaining value, little-endian words. */
function writeWords (h: Int32Array, bytes: number, out: Uint8Array, at: number): void {
  for (let i = 0; i < bytes; i++) out[at + i] = (h[i >> 2] >>> (8 * (i & 3))) & 0xff
}

/**
 * The compression function F: `h` (8 words) after the block `m` (16 words), `t` the bytes
 * compressed so far including this block (below 2^32: the high word of the counter is 0).
 * G, inlined: a = a + b + x; d = (d ^ a) >>> 16; c = c + d; b = (b ^ c) >>> 12;
 * a = a + b + y; d = (d ^ a) >>> 8; c = c + d; b = (b ^ c) >>> 7 (rotations).
 */
function compress (h: Int32Array, m: Int32Array, t: number, last: boolean): void {
  let v0 = h[0]; let v1 = h[1]; let v2 = h[2]; let v3 = h[3]; let v4 = h[4]; let v5 = h[5]; let v6 = h[6]; let v7 = h[7]
  let v8 = IV[0]; let v9 = IV[1]; let v10 = IV[2]; let v11 = IV[3]
  let v12 = IV[4] ^ t; let v13 = IV[5]; let v14 = last ? ~IV[6] : IV[6]; let v15 = IV[7]
  for (let r = 0; r < 160; r += 16) {
    // Columns.
    v0 = (v0 + v4 + m[SIGMA[r]]) | 0; v12 ^= v0; v12 = (v12 >>> 16) | (v12 << 16)
    v8 = (v8 + v12) | 0; v4 ^= v8; v4 = (v4 >>> 12) | (v4 << 20)
    v0 = (v0 + v4 + m[SIGMA[r + 1]]) | 0; v12 ^= v0; v12 = (v12 >>> 8) | (v12 << 24)
    v8 = (v8 + v12) | 0; v4 ^= v8; v4 = (v4 >>> 7) | (v4 << 25)
    v1 = (v1 + v5 + m[SIGMA[r + 2]]) | 0; v13 ^= v1; v13 = (v13 >>> 16) | (v13 << 16)
    v9 = (v9 + v13) | 0; v5 ^= v9; v5 = (v5 >>> 12) | (v5 << 20)
    v1 = (v1 + v5 + m[SIGMA[r + 3]]) | 0; v13 ^= v1; v13 = (v13 >>> 8) | (v13 << 24)
    v9 = (v9 + v13) | 0; v5 ^= v9; v5 = (v5 >>> 7) | (v5 << 25)
    v2 = (v2 + v6 + m[SIGMA[r + 4]]) | 0; v14 ^= v2; v14 = (v14 >>> 16) | (v14 << 16)
    v10 = (v10 + v14) | 0; v6 ^= v10; v6 = (v6 >>> 12) | (v6 << 20)
    v2 = (v2 + v6 + m[SIGMA[r + 5]]) | 0; v14 ^= v2; v14 = (v14 >>> 8) | (v14 << 24)
    v10 = (v10 + v14) | 0; v6 ^= v10; v6 = (v6 >>> 7) | (v6 << 25)
    v3 = (v3 + v7 + m[SIGMA[r + 6]]) | 0; v15 ^= v3; v15 = (v15 >>> 16) | (v15 << 16)
    v11 = (v11 + v15) | 0; v7 ^= v11; v7 = (v7 >>> 12) | (v7 << 20)
    v3 = (v3 + v7 + m[SIGMA[r + 7]]) | 0; v15 ^= v3; v15 = (v15 >>> 8) | (v15 << 24)
    v11 = (v11 + v15) | 0; v7 ^= v11; v7 = (v7 >>> 7) | (v7 << 25)
    // Diagonals.
    v0 = (v0 + v5 + m[SIGMA[r + 8]]) | 0; v15 ^= v0; v15 = (v15 >>> 16) | (v15 << 16)
    v10 = (v10 + v15) | 0; v5 ^= v10; v5 = (v5 >>> 12) | (v5 << 20)
    v0 = (v0 + v5 + m[SIGMA[r + 9]]) | 0; v15 ^= v0; v15 = (v15 >>> 8) | (v15 << 24)
    v10 = (v10 + v15) | 0; v5 ^= v10; v5 = (v5 >>> 7) | (v5 << 25)
    v1 = (v1 + v6 + m[SIGMA[r + 10]]) | 0; v12 ^= v1; v12 = (v12 >>> 16) | (v12 << 16)
    v11 = (v11 + v12) | 0; v6 ^= v11; v6 = (v6 >>> 12) | (v6 << 20)
    v1 = (v1 + v6 + m[SIGMA[r + 11]]) | 0; v12 ^= v1; v12 = (v12 >>> 8) | (v12 << 24)
    v11 = (v11 + v12) | 0; v6 ^= v11; v6 = (v6 >>> 7) | (v6 << 25)
    v2 = (v2 + v7 + m[SIGMA[r + 12]]) | 0; v13 ^= v2; v13 = (v13 >>> 16) | (v13 << 16)
    v8 = (v8 + v13) | 0; v7 ^= v8; v7 = (v7 >>> 12) | (v7 << 20)
    v2 = (v2 + v7 + m[SIGMA[r + 13]]) | 0; v13 ^= v2; v13 = (v13 >>> 8) | (v13 << 24)
    v8 = (v8 + v13) | 0; v7 ^= v8; v7 = (v7 >>> 7) | (v7 << 25)
    v3 = (v3 + v4 + m[SIGMA[r + 14]]) | 0; v14 ^= v3; v14 = (v14 >>> 16) | (v14 << 16)
    v9 = (v9 + v14) | 0; v4 ^= v9; v4 = (v4 >>> 12) | (v4 << 20)
    v3 = (v3 + v4 + m[SIGMA[r + 15]]) | 0; v14 ^= v3; v14 = (v14 >>> 8) | (v14 << 24)
    v9 = (v9 + v14) | 0; v4 ^= v9; v4 = (v4 >>> 7) | (v4 << 25)
  }
  h[0] ^= v0 ^ v8; h[1] ^= v1 ^ v9; h[2] ^= v2 ^ v10; h[3] ^= v3 ^ v11
  h[4] ^= v4 ^ v12; h[5] ^= v5 ^ v13; h[6] ^= v6 ^ v14; h[7] ^= v7 ^ v15
}
