import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto'
import type { JWK } from 'jose'
import { ProtocolError } from '../errors.js'

/**
 * Verifiable answers (docs/protocol.md §9): a client that sends `nonce` with f=qrymaxver gets
 * two more last lines, `SIGKID=<kid>` and `SIG=<signature>`, an Ed25519 signature over the
 * nonce, one LF and every byte of the answer before the `SIGKID` line, exactly as sent. Plain
 * HTTP then cannot change a link, a hash or a LICENSE string unnoticed, nor replay an old answer.
 */

/** 16 to 64 characters of A–Z a–z 0–9 - _ (what base64url makes of 12 to 48 random bytes). */
export const NONCE_PATTERN = /^[A-Za-z0-9_-]{16,64}$/

const SIGKID_LINE = '\r\nSIGKID='

/** The request's nonce (undefined without one); a malformed one is BAD_REQUEST. */
export function requestNonce (value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  if (!NONCE_PATTERN.test(value)) throw new ProtocolError('BAD_REQUEST', 'nonce must be 16 to 64 characters of A-Z a-z 0-9 - _.')
  return value
}

/** What is signed: the nonce's bytes, one LF, the answer's bytes. */
export function signedData (nonce: string, answer: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${nonce}\n`, 'latin1'), answer])
}

/** The `SIGKID` and `SIG` lines that end a signed answer, over `answer`: its bytes as sent. */
export function signatureLines (key: KeyObject, kid: string, nonce: string, answer: Buffer): string {
  return `SIGKID=${kid}\r\nSIG=${sign(null, signedData(nonce, answer), key).toString('base64url')}\r\n`
}

export type AnswerCheck =
  | { valid: true, kid: string, answer: Buffer }
  | { valid: false, problem: 'UNSIGNED' | 'UNKNOWN_KEY' | 'BAD_SIGNATURE', kid?: string }

/**
 * Checks a signed answer against a JWK set (the server's /.well-known/jwks.json). On success
 * `answer` is the bytes before the `SIGKID` line: the answer to read.
 */
export function verifyAnswer (bytes: Buffer, nonce: string, jwks: { keys: JWK[] }): AnswerCheck {
  const text = bytes.toString('latin1')
  // Values never hold a line break (text.ts linesText), so the last SIGKID line is the real one.
  const at = text.lastIndexOf(SIGKID_LINE)
  const tail = at < 0 ? null : /^SIGKID=([^\r\n]+)\r\nSIG=([A-Za-z0-9_-]{86})\r\n$/.exec(text.slice(at + 2))
  if (tail === null) return { valid: false, problem: 'UNSIGNED' }
  const kid = tail[1]
  const jwk = jwks.keys.find((key) => key.kid === kid && key.kty === 'OKP' && key.crv === 'Ed25519')
  if (jwk === undefined) return { valid: false, problem: 'UNKNOWN_KEY', kid }
  const answer = bytes.subarray(0, at + 2)
  let key: KeyObject
  try {
    key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' })
  } catch {
    return { valid: false, problem: 'UNKNOWN_KEY', kid }
  }
  const signature = Buffer.from(tail[2], 'base64url')
  // One spelling only: base64url's last character has spare bits that decoding ignores.
  const good = signature.toString('base64url') === tail[2] && verify(null, signedData(nonce, answer), key, signature)
  return good ? { valid: true, kid, answer } : { valid: false, problem: 'BAD_SIGNATURE', kid }
}
