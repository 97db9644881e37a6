import { KeyObject } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { calculateJwkThumbprint, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, SignJWT, type JWK, type CryptoKey } from 'jose'
import { signatureLines } from '../protocol/answer-signature.js'

/**
 * Ed25519 keys that sign LICENSE strings. The first key signs; every key is published in
 * the JWK set, so that after a rotation (a new key put first) strings signed by the old
 * key still verify until they expire.
 */

export interface SigningKeySource {
  /** A JWK set with private Ed25519 keys, as JSON (SIGNING_KEYS). */
  json?: string
  /** A file holding such a JWK set (SIGNING_KEYS_FILE). */
  file?: string
  /** Where a key is generated on first start when neither is given. */
  dataDir: string
}

export interface LicenseClaims {
  /** The program the license is for. */
  prog: string
  /** The serial (license key), canonical form. */
  sub: string
  pcid: string
  /** The version this string was issued for. */
  ver: string
  /** Maintenance end (ISO 8601), or null for lifetime updates. */
  mnt: string | null
}

interface LoadedKey { kid: string, privateKey: CryptoKey, publicJwk: JWK }

export class SigningKeyError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'SigningKeyError'
  }
}

export class LicenseSigner {
  private constructor (private readonly keys: LoadedKey[], readonly issuer: string, readonly ttlSeconds: number) {}

  static async load (source: SigningKeySource, options: { issuer: string, ttlSeconds: number }): Promise<{ signer: LicenseSigner, generated: boolean }> {
    let text: string
    let generated = false
    if (source.json !== undefined) {
      text = source.json
    } else if (source.file !== undefined) {
      text = await readFile(source.file, 'utf8').catch(() => { throw new SigningKeyError(`SIGNING_KEYS_FILE ${source.file} cannot be read`) })
    } else {
      const file = join(source.dataDir, 'signing-keys.json')
      try {
        text = await readFile(file, 'utf8')
      } catch {
        text = JSON.stringify({ keys: [await newPrivateJwk()] }, null, 2)
        await mkdir(source.dataDir, { recursive: true })
        await writeFile(file, text + '\n', { mode: 0o600, flag: 'wx' }).catch(async () => { text = await readFile(file, 'utf8') })
        generated = true
      }
    }
    const keys = await parseKeys(text)
    return { signer: new LicenseSigner(keys, options.issuer, options.ttlSeconds), generated }
  }

  /** The key id that signs new strings. */
  get kid (): string {
    return this.keys[0].kid
  }

  /** The public keys, for /.well-known/jwks.json. */
  jwks (): { keys: JWK[] } {
    return { keys: this.keys.map((key) => key.publicJwk) }
  }

  /**
   * The LICENSE string for these claims: `stored` (the one last issued to this PC) while it
   * names the same claims, is signed by the current key and has more than half its life left,
   * so that daily polls cost no signature; else a new one.
   */
  async issue (claims: LicenseClaims, now = new Date(), stored: string | null = null): Promise<string> {
    return stored !== null && this.reusable(stored, claims, now) ? stored : await this.sign(claims, now)
  }

  /** Whether a string this server issued may be handed out again for these claims at `now`. */
  reusable (token: string, claims: LicenseClaims, now = new Date()): boolean {
    try {
      if (decodeProtectedHeader(token).kid !== this.kid) return false
      const payload = decodeJwt(token)
      return payload.iss === this.issuer && payload.sub === claims.sub && payload.prog === claims.prog && payload.pcid === claims.pcid &&
        payload.ver === claims.ver && payload.mnt === claims.mnt && typeof payload.exp === 'number' &&
        payload.exp - now.getTime() / 1000 > this.ttlSeconds / 2
    } catch {
      return false
    }
  }

  async sign (claims: LicenseClaims, now = new Date()): Promise<string> {
    const iat = Math.floor(now.getTime() / 1000)
    return await new SignJWT({ prog: claims.prog, pcid: claims.pcid, ver: claims.ver, mnt: claims.mnt })
      .setProtectedHeader({ alg: 'EdDSA', kid: this.kid, typ: 'JWT' })
      .setIssuer(this.issuer)
      .setSubject(claims.sub)
      .setIssuedAt(iat)
      .setExpirationTime(iat + this.ttlSeconds)
      .sign(this.keys[0].privateKey)
  }

  /** The SIGKID and SIG lines of a verifiable answer (docs/protocol.md §9), by the key that signs LICENSE strings. */
  answerSignature (nonce: string, answer: Buffer): Buffer {
    return Buffer.from(signatureLines(KeyObject.from(this.keys[0].privateKey), this.kid, nonce, answer), 'latin1')
  }
}

async function newPrivateJwk (): Promise<JWK> {
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })
  const jwk = await exportJWK(privateKey)
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), alg: 'EdDSA', use: 'sig' }
}

async function parseKeys (text: string): Promise<LoadedKey[]> {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new SigningKeyError('signing keys are not valid JSON (expected {"keys":[Ed25519 private JWKs]})')
  }
  const list = (parsed as { keys?: unknown }).keys
  if (!Array.isArray(list) || list.length === 0) throw new SigningKeyError('signing keys: expected {"keys":[…]} with at least one key')
  const keys: LoadedKey[] = []
  for (const [index, jwk] of (list as JWK[]).entries()) {
    if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.d !== 'string' || typeof jwk.x !== 'string') {
      throw new SigningKeyError(`signing key ${index} is not an Ed25519 private JWK (kty OKP, crv Ed25519, d, x)`)
    }
    const publicJwk: JWK = { kty: 'OKP', crv: 'Ed25519', x: jwk.x }
    const kid = jwk.kid ?? await calculateJwkThumbprint(publicJwk)
    const privateKey = await importJWK({ ...jwk, alg: 'EdDSA' }, 'EdDSA') as CryptoKey
    keys.push({ kid, privateKey, publicJwk: { ...publicJwk, kid, alg: 'EdDSA', use: 'sig' } })
  }
  return keys
}
