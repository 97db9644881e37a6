import { createHmac, randomBytes } from 'node:crypto'

/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com, docs/operations.md
 * "Webhooks"): the secret is `whsec_` and the base64 of its key; a message is signed as
 * base64(HMAC-SHA256(key, `${id}.${timestamp}.${body}`)) and sent as `v1,<signature>`.
 */
export const SECRET_PREFIX = 'whsec_'

export function newSecret (): string {
  return SECRET_PREFIX + randomBytes(24).toString('base64')
}

/** Whether a secret given by the vendor has the spec's form (whsec_ and 24 to 64 bytes of base64). */
export function isSecret (secret: string): boolean {
  if (!secret.startsWith(SECRET_PREFIX)) return false
  const key = secret.slice(SECRET_PREFIX.length)
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(key)) return false
  const bytes = Buffer.from(key, 'base64').length
  return bytes >= 24 && bytes <= 64
}

export function signatureHeaders (secret: string, id: string, timestamp: number, body: string): Record<string, string> {
  const key = Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64')
  const signature = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')
  return { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': `v1,${signature}` }
}

/** A message id: `msg_` and 128 random bits, the same on every attempt of a delivery. */
export function newMessageId (): string {
  return `msg_${randomBytes(16).toString('base64url')}`
}
