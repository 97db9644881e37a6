import { createHash, createHmac, createSecretKey, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto'
import { LRUCache } from 'lru-cache'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

/**
 * Download link tokens (PROTOCOL.md §7). A token is self-contained and signed with a
 * server secret (HMAC-SHA-256), so listing files writes nothing: the database learns of a
 * token when it first fetches bytes, and stores only its SHA-256. A copy of the database
 * therefore gives no working link, and any instance sharing the secret can verify a token.
 *
 * Layout (83 bytes, base64url: 111 characters), format 2:
 *   [0]      format 2
 *   [1..4]   expiry, Unix seconds, big-endian
 *   [5..30]  PCID (26 ASCII characters)
 *   [31..46] license id (UUID bytes), or zeros for none
 *   [47..54] first 8 bytes of SHA-256 of the file's path below FTP_ROOT (the URL path)
 *   [55..58] random: a file listed twice in the same second gets two links, so a spent
 *            link is never handed out again
 *   [59..66] first 8 bytes of the file's SHA-256: a replaced file invalidates old links
 *   [67..82] first 16 bytes of HMAC-SHA-256(secret, bytes 0..66)
 * Format 1 (the first builds) had no random part and 12 bytes of path digest at [47..58]; such
 * links still verify until they expire.
 */

const FORMAT = 2
const FORMAT_1 = 1
const BODY = 67
const MAC = 16
const NONCE_BYTES = 4
export const TOKEN_LENGTH = Math.ceil(((BODY + MAC) * 4) / 3)

/** Random bytes drawn a block at a time: a token needs 4. */
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

export interface TokenClaims {
  pcid: string
  licenseId: string | null
  /** Path below FTP_ROOT, forward slashes (RepoFile.path). */
  path: string
  /** The file's SHA-256, hex. */
  sha256: string
  expiresAt: Date
}

export type TokenCheck =
  | { ok: true, claims: Omit<TokenClaims, 'path' | 'sha256'> & { contentTag: string }, hash: string }
  | { ok: false, status: 403 | 410, problem: string }

export class TokenSigner {
  private readonly key: KeyObject
  /** Bytes 31..66 that do not change between listings: per license id, and per file. */
  private readonly licenseBytes = new LRUCache<string, Buffer>({ max: 10_000 })
  private readonly pathDigests = new LRUCache<string, Buffer>({ max: 100_000 })
  private readonly nonces = new NoncePool()
  private lastHead: { expiry: number, pcid: string, licenseId: string | null, bytes: Buffer } | undefined

  constructor (secret: Buffer) {
    if (secret.length < 32) throw new Error('the token secret must be at least 32 bytes')
    this.key = createSecretKey(secret)
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

  /**
   * Every file of every answer gets one, so what does not change between listings is computed
   * once: the bytes naming the PCID, license and expiry are shared by the files of an answer,
   * and each file's path digest is cached.
   */
  issue (claims: TokenClaims): string {
    const token = Buffer.allocUnsafe(BODY + MAC)
    this.head(claims).copy(token, 0)
    this.pathDigest(claims.path).copy(token, 47, 0, 8)
    this.nonces.next(token, 55)
    token.write(claims.sha256, 59, 8, 'hex')
    this.mac(token.subarray(0, BODY)).copy(token, BODY, 0, MAC)
    return token.toString('base64url')
  }

  /** Bytes 0..46 (format, expiry, PCID, license) for these claims: the last ones are kept, as the files of one answer share them. */
  private head (claims: TokenClaims): Buffer {
    const expiry = Math.floor(claims.expiresAt.getTime() / 1000)
    const last = this.lastHead
    if (last !== undefined && last.expiry === expiry && last.pcid === claims.pcid && last.licenseId === claims.licenseId) return last.bytes
    const bytes = Buffer.alloc(47)
    bytes[0] = FORMAT
    bytes.writeUInt32BE(expiry, 1)
    bytes.write(claims.pcid.padEnd(26, ' ').slice(0, 26), 5, 'ascii')
    if (claims.licenseId !== null) this.licenseField(claims.licenseId).copy(bytes, 31)
    this.lastHead = { expiry, pcid: claims.pcid, licenseId: claims.licenseId, bytes }
    return bytes
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

  private pathDigest (path: string): Buffer {
    let digest = this.pathDigests.get(path)
    if (digest === undefined) {
      digest = createHash('sha256').update(path, 'utf8').digest()
      this.pathDigests.set(path, digest)
    }
    return digest
  }

  /** Whether a token's body names this path: 8 bytes of its digest (format 2), 12 (format 1). */
  private namesPath (body: Buffer, path: string): boolean {
    const digest = this.pathDigest(path)
    return body[0] === FORMAT ? body.subarray(47, 55).equals(digest.subarray(0, 8)) : body.subarray(47, 59).equals(digest.subarray(0, 12))
  }

  /**
   * Checks a token presented for `path`: 403 when it is not ours or not for this file,
   * 410 when it has expired. Whether it is spent is the database's to say.
   */
  verify (token: string, path: string, now = new Date()): TokenCheck {
    if (token.length !== TOKEN_LENGTH || !/^[A-Za-z0-9_-]+$/.test(token)) return { ok: false, status: 403, problem: 'malformed token' }
    const bytes = Buffer.from(token, 'base64url')
    if (bytes.length !== BODY + MAC) return { ok: false, status: 403, problem: 'malformed token' }
    const body = bytes.subarray(0, BODY)
    if (!timingSafeEqual(bytes.subarray(BODY), this.mac(body)) || (body[0] !== FORMAT && body[0] !== FORMAT_1)) return { ok: false, status: 403, problem: 'invalid token' }
    if (!this.namesPath(body, path)) return { ok: false, status: 403, problem: 'token is for another file' }
    const expiresAt = new Date(body.readUInt32BE(1) * 1000)
    const license = body.subarray(31, 47)
    const claims = {
      pcid: body.toString('ascii', 5, 31).trimEnd(),
      licenseId: license.every((b) => b === 0) ? null : formatUuid(license.toString('hex')),
      expiresAt,
      contentTag: body.toString('hex', 59, 67)
    }
    if (expiresAt.getTime() <= now.getTime()) return { ok: false, status: 410, problem: 'link expired' }
    return { ok: true, claims, hash: tokenHash(token) }
  }

  /** Like verify, but ignoring expiry and path: for f=dlconfirm, which names the token alone. */
  open (token: string): { claims: { pcid: string, licenseId: string | null, expiresAt: Date }, hash: string } | null {
    if (token.length !== TOKEN_LENGTH || !/^[A-Za-z0-9_-]+$/.test(token)) return null
    const bytes = Buffer.from(token, 'base64url')
    const body = bytes.subarray(0, BODY)
    if (bytes.length !== BODY + MAC || !timingSafeEqual(bytes.subarray(BODY), this.mac(body)) || (body[0] !== FORMAT && body[0] !== FORMAT_1)) return null
    const license = body.subarray(31, 47)
    return {
      claims: {
        pcid: body.toString('ascii', 5, 31).trimEnd(),
        licenseId: license.every((b) => b === 0) ? null : formatUuid(license.toString('hex')),
        expiresAt: new Date(body.readUInt32BE(1) * 1000)
      },
      hash: tokenHash(token)
    }
  }

  private mac (body: Buffer): Buffer {
    return createHmac('sha256', this.key).update(body).digest().subarray(0, MAC)
  }
}

/** What the database stores instead of the token. */
export function tokenHash (token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

function formatUuid (hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}
