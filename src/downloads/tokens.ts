import { createHash, createHmac, createSecretKey, hkdfSync, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto'
import { LRUCache } from 'lru-cache'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Blake2sMac } from './blake2s.js'
import { AesCmac, BLOCK } from './cmac.js'

/**
 * Download link tokens (PROTOCOL.md §7). A token is self-contained and signed with a key
 * derived from the server secret, so listing files writes nothing: the database learns of a
 * token when it first fetches bytes, and stores only its SHA-256. A copy of the database
 * therefore gives no working link, and any instance sharing the secret can verify a token.
 *
 * Layout, format 4 (86 bytes, base64url: 115 characters):
 *   [0]       format 4
 *   [1..4]    expiry, Unix seconds, big-endian
 *   [5..30]   PCID (26 ASCII characters)
 *   [31..46]  license id (UUID bytes), or zeros for none
 *   [47..53]  random, drawn once per answer: a file listed twice (even in the same second)
 *             gets two links, so a spent link is never handed out again
 *   [54..61]  first 8 bytes of SHA-256 of the file's path below FTP_ROOT (the URL path)
 *   [62..69]  first 8 bytes of the file's SHA-256: a replaced file invalidates old links
 *   [70..85]  keyed BLAKE2s-128 (blake2s.ts, RFC 7693) of bytes 0..53, ten zero bytes and
 *             bytes 54..69 (80 bytes), under a 32-byte key derived from the secret with
 *             HKDF-SHA-256
 * Bytes 0..53 are the same for every link of an answer and, with the zeros, fill the MAC's
 * first block: it is compressed once per answer, then one block per link. (54 bytes are also
 * whole base64 groups: their text is shared too.)
 *
 * Format 3 (the builds before) is format 4 with AES-CMAC (cmac.ts) of the same 80 bytes under
 * an AES-128 key derived the same way. It still verifies until its links expire, and so do
 * formats 1 and 2 (the earlier builds: HMAC-SHA-256, 83 bytes, 111 characters):
 *   [0] format, [1..4] expiry, [5..30] PCID, [31..46] license id, then format 2: [47..54]
 *   path digest, [55..58] random, [59..66] content tag; format 1: [47..58] path digest,
 *   [59..66] content tag; [67..82] first 16 bytes of HMAC-SHA-256(secret, bytes 0..66).
 */

const FORMAT = 4
const CMAC_FORMAT = 3
const SHARED = 54
const NONCE_AT = 47
const NONCE_BYTES = SHARED - NONCE_AT
/** The shared bytes and the zeros that pad them to the MAC's first block (BLAKE2s: 64 bytes; CMAC: 4 blocks). */
const SHARED_BLOCKS = 64
const FILE_AT = SHARED
const TAG_AT = SHARED + BLOCK
const LENGTH = TAG_AT + BLOCK
export const TOKEN_LENGTH = Math.ceil((LENGTH * 4) / 3)

/** A link's last byte of its file block and its MAC, with a zero byte: whole base64 groups. */
const TAIL_BYTES = 18
const TAIL_CHARS = 24

/** A file's own block, and the text of its first 15 bytes (whole base64 groups). */
interface FilePart {
  sha256: string
  block: Buffer
  text: string
}

const LEGACY_BODY = 67
const LEGACY_MAC = 16
const LEGACY_LENGTH = Math.ceil(((LEGACY_BODY + LEGACY_MAC) * 4) / 3)

const TOKEN_TEXT = /^[A-Za-z0-9_-]+$/
const CMAC_KEY_INFO = 'iupdate-server download links, format 3'
const MAC_KEY_INFO = 'iupdate-server download links, format 4'

/** Random bytes drawn a block at a time: an answer needs 7. */
class NoncePool {
  private block = Buffer.alloc(0)
  private offset = 0
  next (target: Buffer, at: number): void {
    if (this.offset + NONCE_BYTES > this.block.length) {
      this.block = randomBytes(4096)
      this.offset = 0
    }
    this.block.copy(target, at, this.offset, this.offset + NONCE_BYTES)
    this.offset += NONCE_BYTES
  }
}

/** Who may download, until when: what the links of one answer share. */
export interface LinkGrant {
  pcid: string
  licenseId: string | null
  expiresAt: Date
}

/** A file to link: its path below FTP_ROOT (RepoFile.path, forward slashes) and SHA-256 (hex). */
export interface LinkedFile {
  path: string
  sha256: string
}

export interface TokenClaims extends LinkGrant {
  /** The first 16 hex digits of the file's SHA-256 when the link was issued. */
  contentTag: string
}

export type TokenCheck =
  | { ok: true, claims: TokenClaims, hash: string }
  | { ok: false, status: 403 | 410, problem: string }

export class TokenSigner {
  private readonly mac: Blake2sMac
  private readonly cmac: AesCmac
  private readonly hmacKey: KeyObject
  private readonly licenseBytes = new LRUCache<string, Buffer>({ max: 10_000 })
  /** Per path: the file's own block (path digest and content tag), kept while its content is the same. */
  private readonly fileParts = new LRUCache<string, FilePart>({ max: 100_000 })
  /** The shared bytes of the answer being issued, and the zeros that pad them to blocks. */
  private readonly shared = Buffer.alloc(SHARED_BLOCKS)
  private space = Buffer.alloc(0)
  private readonly pathDigests = new LRUCache<string, Buffer>({ max: 100_000 })
  private readonly nonces = new NoncePool()

  constructor (secret: Buffer) {
    if (secret.length < 32) throw new Error('the token secret must be at least 32 bytes')
    this.mac = new Blake2sMac(Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), MAC_KEY_INFO, 32)))
    this.cmac = new AesCmac(Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), CMAC_KEY_INFO, BLOCK)))
    this.hmacKey = createSecretKey(secret)
    this.shared[0] = FORMAT
  }

  static async load (options: { secret?: string, dataDir: string }): Promise<{ signer: TokenSigner, generated: boolean }> {
    if (options.secret !== undefined) return { signer: new TokenSigner(Buffer.from(options.secret, 'utf8')), generated: false }
    const file = join(options.dataDir, 'token-secret')
    try {
      return { signer: new TokenSigner(Buffer.from((await readFile(file, 'utf8')).trim(), 'base64url')), generated: false }
    } catch {
      await mkdir(options.dataDir, { recursive: true })
      const secret = randomBytes(32).toString('base64url')
      await writeFile(file, secret + '\n', { mode: 0o600, flag: 'wx' }).catch(() => {})
      return { signer: new TokenSigner(Buffer.from((await readFile(file, 'utf8')).trim(), 'base64url')), generated: true }
    }
  }

  /** The tokens of one answer's links, one per file, in order. */
  issue (grant: LinkGrant, files: readonly LinkedFile[]): string[] {
    const n = files.length
    if (n === 0) return []
    // Scratch space, reused: nothing here waits, so one answer is issued at a time. (Buffers
    // allocated per answer were a measurable part of listing files: DEVELOPERS.md.)
    const shared = this.shared
    shared.writeUInt32BE(Math.floor(grant.expiresAt.getTime() / 1000), 1)
    const pcid = grant.pcid.length === 26 ? grant.pcid : grant.pcid.padEnd(26, ' ').slice(0, 26)
    shared.write(pcid, 5, 26, 'ascii')
    if (grant.licenseId === null) shared.fill(0, 31, NONCE_AT)
    else this.licenseField(grant.licenseId).copy(shared, 31)
    this.nonces.next(shared, NONCE_AT)
    const sharedText = shared.toString('base64url', 0, SHARED)
    const parts = files.map((file) => this.filePart(file))
    const state = this.mac.prefix(shared, SHARED_BLOCKS)
    // Each link's own part is its file block and its MAC: 32 bytes, which are not whole base64
    // groups. The first 15 bytes of the block are (20 characters, kept with the file); the
    // rest, its last byte and the MAC, is 17 bytes, written here with a zero byte after it:
    // 18 bytes, 24 characters, of which the first 23 are those of the 17 bytes alone. So the
    // tails of all links are encoded in one call.
    const tails = this.scratch(n * TAIL_BYTES)
    for (let i = 0; i < n; i++) {
      const at = i * TAIL_BYTES
      const block = parts[i].block
      tails[at] = block[BLOCK - 1]
      this.mac.finish(state, block, 0, BLOCK, tails, at + 1)
      tails[at + TAIL_BYTES - 1] = 0
    }
    const tailText = tails.toString('base64url', 0, n * TAIL_BYTES)
    const tokens = new Array<string>(n)
    for (let i = 0; i < n; i++) tokens[i] = sharedText + parts[i].text + tailText.slice(i * TAIL_CHARS, i * TAIL_CHARS + TAIL_CHARS - 1)
    return tokens
  }

  /**
   * Checks a token presented for `path`: 403 when it is not ours or not for this file,
   * 410 when it has expired. Whether it is spent is the database's to say.
   */
  verify (token: string, path: string, now = new Date()): TokenCheck {
    const bytes = this.authentic(token)
    if (bytes === null) return { ok: false, status: 403, problem: 'invalid token' }
    if (!this.namesPath(bytes, path)) return { ok: false, status: 403, problem: 'token is for another file' }
    const claims = readClaims(bytes)
    if (claims.expiresAt.getTime() <= now.getTime()) return { ok: false, status: 410, problem: 'link expired' }
    return { ok: true, claims, hash: tokenHash(token) }
  }

  /** Like verify, but ignoring expiry and path: for f=dlconfirm, which names the token alone. */
  open (token: string): { claims: TokenClaims, hash: string } | null {
    const bytes = this.authentic(token)
    return bytes === null ? null : { claims: readClaims(bytes), hash: tokenHash(token) }
  }

  /** The token's bytes when it is well formed and its MAC is ours, else null. */
  private authentic (token: string): Buffer | null {
    if ((token.length !== TOKEN_LENGTH && token.length !== LEGACY_LENGTH) || !TOKEN_TEXT.test(token)) return null
    const bytes = Buffer.from(token, 'base64url')
    if (bytes.length === LENGTH && (bytes[0] === FORMAT || bytes[0] === CMAC_FORMAT)) {
      const message = Buffer.alloc(SHARED_BLOCKS + BLOCK)
      bytes.copy(message, 0, 0, SHARED)
      bytes.copy(message, SHARED_BLOCKS, FILE_AT, TAG_AT)
      const mac = bytes[0] === FORMAT ? this.mac.mac(message) : this.cmac.mac(message)
      return timingSafeEqual(bytes.subarray(TAG_AT), mac) ? bytes : null
    }
    if (bytes.length === LEGACY_BODY + LEGACY_MAC && (bytes[0] === 1 || bytes[0] === 2)) {
      const mac = createHmac('sha256', this.hmacKey).update(bytes.subarray(0, LEGACY_BODY)).digest()
      return timingSafeEqual(bytes.subarray(LEGACY_BODY), mac.subarray(0, LEGACY_MAC)) ? bytes : null
    }
    return null
  }

  private licenseField (licenseId: string): Buffer {
    let field = this.licenseBytes.get(licenseId)
    if (field === undefined) {
      field = Buffer.alloc(16)
      Buffer.from(licenseId.replace(/-/g, ''), 'hex').copy(field)
      this.licenseBytes.set(licenseId, field)
    }
    return field
  }

  /**
   * A file's own block, 8 bytes of its path's digest and 8 of its content's, and the text of
   * its first 15 bytes: kept by path while the content is the same.
   */
  private filePart (file: LinkedFile): FilePart {
    const kept = this.fileParts.get(file.path)
    if (kept !== undefined && kept.sha256 === file.sha256) return kept
    const block = Buffer.alloc(BLOCK)
    this.pathDigest(file.path).copy(block, 0, 0, 8)
    block.write(file.sha256, 8, 8, 'hex')
    const part = { sha256: file.sha256, block, text: block.toString('base64url', 0, BLOCK - 1) }
    this.fileParts.set(file.path, part)
    return part
  }

  /** `bytes` of scratch space, in one buffer that grows as answers need. */
  private scratch (bytes: number): Buffer {
    if (this.space.length < bytes) this.space = Buffer.alloc(2 * bytes)
    return this.space.subarray(0, bytes)
  }

  private pathDigest (path: string): Buffer {
    let digest = this.pathDigests.get(path)
    if (digest === undefined) {
      digest = createHash('sha256').update(path, 'utf8').digest()
      this.pathDigests.set(path, digest)
    }
    return digest
  }

  /** Whether authentic token bytes name this path: 8 bytes of its digest (formats 2 to 4), 12 (format 1). */
  private namesPath (bytes: Buffer, path: string): boolean {
    const digest = this.pathDigest(path)
    if (bytes[0] >= CMAC_FORMAT) return bytes.subarray(FILE_AT, FILE_AT + 8).equals(digest.subarray(0, 8))
    return bytes[0] === 2 ? bytes.subarray(47, 55).equals(digest.subarray(0, 8)) : bytes.subarray(47, 59).equals(digest.subarray(0, 12))
  }
}

/** The claims of authentic token bytes, any format. */
function readClaims (bytes: Buffer): TokenClaims {
  const license = bytes.subarray(31, 47)
  return {
    pcid: bytes.toString('ascii', 5, 31).trimEnd(),
    licenseId: license.every((b) => b === 0) ? null : formatUuid(license.toString('hex')),
    expiresAt: new Date(bytes.readUInt32BE(1) * 1000),
    contentTag: bytes[0] >= CMAC_FORMAT ? bytes.toString('hex', FILE_AT + 8, TAG_AT) : bytes.toString('hex', 59, 67)
  }
}

/** What the database stores instead of the token. */
export function tokenHash (token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

function formatUuid (hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}
