import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto'
import { loadSecret } from '../secret-file.js'

/**
 * Download link tokens (docs/protocol.md §7): AES-256-GCM under a key derived from the server
 * secret with HKDF-SHA-256, from node:crypto. A token is opaque (its claims are encrypted),
 * bound to one file, one PCID and an expiry, and has exactly one spelling: any other text is
 * refused. Listing files writes nothing: the database learns of a token when it first fetches
 * bytes, and keys its record by a digest of the token's id (`key`), never by its text.
 *
 * Bytes (91; base64url without padding, 122 characters):
 *   [0]       format 5 (also the authenticated data)
 *   [1..12]   nonce, 96 random bits: the token's identity
 *   [13..74]  the encrypted claims: expiry (Unix seconds, 4 bytes big-endian), PCID (26
 *             ASCII characters), license id (16 bytes, zeros for none), the first 8 bytes of
 *             SHA-256 of the file's path below FTP_ROOT, the first 8 bytes of the file's SHA-256
 *   [75..90]  the GCM tag
 */

const FORMAT = 5
const NONCE_BYTES = 12
const TAG_BYTES = 16
const CLAIMS_BYTES = 4 + 26 + 16 + 8 + 8
const LENGTH = 1 + NONCE_BYTES + CLAIMS_BYTES + TAG_BYTES
export const TOKEN_LENGTH = Math.ceil((LENGTH * 8) / 6)
const KEY_INFO = 'iupdate-server download links, format 5'
const PCID_BYTES = 26

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

/** An authentic token: its claims and `key`, the digest of its id that download records are keyed by. */
export interface OpenedToken {
  claims: TokenClaims
  key: string
}

export type TokenCheck =
  | ({ ok: true } & OpenedToken)
  | { ok: false, status: 403 | 410, problem: string }

export class LinkTokens {
  private readonly key: Buffer

  constructor (secret: Buffer) {
    if (secret.length < 32) throw new Error('the token secret must be at least 32 bytes')
    this.key = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), KEY_INFO, 32))
  }

  /** TOKEN_SECRET, else DATA_DIR/token-secret (generated on first start, readable by the server's user alone). */
  static async load (options: { secret?: string, dataDir: string }): Promise<{ tokens: LinkTokens, generated: boolean }> {
    const { secret, generated } = await loadSecret(options.secret, options.dataDir, 'token-secret')
    return { tokens: new LinkTokens(secret), generated }
  }

  /** The tokens of one answer's links, one per file, in order. */
  issue (grant: LinkGrant, files: readonly LinkedFile[]): string[] {
    const claims = Buffer.alloc(CLAIMS_BYTES)
    claims.writeUInt32BE(Math.floor(grant.expiresAt.getTime() / 1000), 0)
    claims.write(grant.pcid.padEnd(PCID_BYTES, ' ').slice(0, PCID_BYTES), 4, PCID_BYTES, 'ascii')
    if (grant.licenseId !== null) claims.write(grant.licenseId.replace(/-/g, ''), 30, 16, 'hex')
    // One draw from the CSPRNG for the whole answer: each call costs about 5 µs whatever its size.
    const nonces = randomBytes(NONCE_BYTES * files.length)
    return files.map((file, i) => {
      pathDigest(file.path).copy(claims, 46)
      claims.write(file.sha256, 54, 8, 'hex')
      const nonce = nonces.subarray(i * NONCE_BYTES, (i + 1) * NONCE_BYTES)
      const cipher = createCipheriv('aes-256-gcm', this.key, nonce, { authTagLength: TAG_BYTES })
      cipher.setAAD(HEADER)
      const sealed = Buffer.concat([HEADER, nonce, cipher.update(claims), cipher.final(), cipher.getAuthTag()])
      return sealed.toString('base64url')
    })
  }

  /**
   * Checks a token presented for `path`: 403 when it is not ours, not in its one spelling, or
   * not for this file; 410 when it has expired. Whether it is spent is the database's to say.
   */
  verify (token: string, path: string, now = new Date()): TokenCheck {
    const opened = this.open(token)
    if (opened === null) return { ok: false, status: 403, problem: 'invalid token' }
    if (!opened.pathDigest.equals(pathDigest(path))) return { ok: false, status: 403, problem: 'token is for another file' }
    if (opened.claims.expiresAt.getTime() <= now.getTime()) return { ok: false, status: 410, problem: 'link expired' }
    return { ok: true, claims: opened.claims, key: opened.key }
  }

  /** An authentic token's claims whatever its path and expiry (f=dlconfirm names the token alone), else null. */
  open (token: string): (OpenedToken & { pathDigest: Buffer }) | null {
    if (token.length !== TOKEN_LENGTH) return null
    const bytes = Buffer.from(token, 'base64url')
    // Node's decoder skips characters outside the alphabet and ignores the unused low bits of
    // the last character: only the text that encodes these bytes back is the token.
    if (bytes.length !== LENGTH || bytes[0] !== FORMAT || bytes.toString('base64url') !== token) return null
    const nonce = bytes.subarray(1, 1 + NONCE_BYTES)
    const decipher = createDecipheriv('aes-256-gcm', this.key, nonce, { authTagLength: TAG_BYTES })
    decipher.setAAD(HEADER)
    decipher.setAuthTag(bytes.subarray(LENGTH - TAG_BYTES))
    let claims: Buffer
    try {
      claims = Buffer.concat([decipher.update(bytes.subarray(1 + NONCE_BYTES, LENGTH - TAG_BYTES)), decipher.final()])
    } catch {
      return null
    }
    const license = claims.subarray(30, 46)
    return {
      claims: {
        expiresAt: new Date(claims.readUInt32BE(0) * 1000),
        pcid: claims.toString('ascii', 4, 30).trimEnd(),
        licenseId: license.every((b) => b === 0) ? null : formatUuid(license.toString('hex')),
        contentTag: claims.toString('hex', 54, 62)
      },
      key: createHash('sha256').update(nonce).digest('hex'),
      pathDigest: claims.subarray(46, 54)
    }
  }
}

const HEADER = Buffer.from([FORMAT])

function pathDigest (path: string): Buffer {
  return createHash('sha256').update(path, 'utf8').digest().subarray(0, 8)
}

function formatUuid (hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}
