import { KeyObject } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { LRUCache } from 'lru-cache'
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, SignJWT, type JWK, type CryptoKey } from 'jose'
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

/** A LICENSE string is handed out again for the same claims for this long before a fresh one is signed. */
const REUSE_MS = 3_600_000
/** LICENSE strings kept per PCID: one per program and license it polls with. */
const KEPT_PER_PCID = 8

interface Issued extends LicenseClaims {
  token: string
  at: number
}

export class LicenseSigner {
  /**
   * Per PCID (a key every poll has looked up already), the strings issued to it lately. A PC
   * that moves to a new version, or a new maintenance end, replaces its entry for that program.
   */
  private readonly issued = new LRUCache<string, Issued[]>({ max: 100_000 })

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
   * The LICENSE string for these claims: the one issued within the last hour if any (a
   * daily poll then costs no signature), else a new one.
   */
  async issue (claims: LicenseClaims, now = new Date()): Promise<string> {
    const reused = this.reused(claims, now)
    if (reused !== undefined) return reused
    const token = await this.sign(claims, now)
    this.remember(claims, token, now.getTime())
    return token
  }

  /** The string issue() would hand out again, without a promise; undefined when it would sign. */
  reused (claims: LicenseClaims, now = new Date()): string | undefined {
    const kept = this.issued.get(claims.pcid)
    if (kept === undefined) return undefined
    for (const entry of kept) {
      if (entry.prog !== claims.prog || entry.sub !== claims.sub) continue
      const age = now.getTime() - entry.at
      return entry.ver === claims.ver && entry.mnt === claims.mnt && age >= 0 && age < REUSE_MS ? entry.token : undefined
    }
    return undefined
  }

  private remember (claims: LicenseClaims, token: string, at: number): void {
    const entry: Issued = { prog: claims.prog, sub: claims.sub, pcid: claims.pcid, ver: claims.ver, mnt: claims.mnt, token, at }
    const kept = this.issued.get(claims.pcid)
    if (kept === undefined) {
      this.issued.set(claims.pcid, [entry])
      return
    }
    const same = kept.findIndex((e) => e.prog === claims.prog && e.sub === claims.sub)
    if (same >= 0) kept[same] = entry
    else if (kept.push(entry) > KEPT_PER_PCID) kept.shift()
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
  answerSignature (nonce: string, answer: string): string {
    return signatureLines(KeyObject.from(this.keys[0].privateKey), this.kid, nonce, answer)
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
