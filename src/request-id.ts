import { randomBytes } from 'node:crypto'
import type { RawRequestDefaultExpression } from 'fastify'

/** An `X-Request-Id` set by a proxy is used when it looks like an id, and never echoed. */
const GIVEN_ID = /^[A-Za-z0-9._-]{1,64}$/

/**
 * Fastify's `genReqId`: the proxy's `X-Request-Id` when sane, else `<instance>-<n>`, where
 * `<instance>` is 48 random bits drawn when the server starts (instances behind one load
 * balancer do not collide, nor do restarts) and `<n>` counts this instance's requests in
 * base 36. Every poll gets one: a counter costs nothing, a random UUID per request measurably did.
 */
export function requestIdGenerator (): (req: RawRequestDefaultExpression) => string {
  const instance = randomBytes(6).toString('hex')
  let count = 0
  return (req) => {
    const kept = handedOver.get(req)
    if (kept !== undefined) return kept
    const given = req.headers['x-request-id']
    if (typeof given === 'string' && GIVEN_ID.test(given)) return given
    count++
    return `${instance}-${count.toString(36)}`
  }
}

/** Ids of requests that the fast path began and Fastify finishes (keepRequestId). */
const handedOver = new WeakMap<RawRequestDefaultExpression, string>()

/**
 * A request the fast path (routes/iupdate/fast-path.ts) hands to Fastify keeps the id it was
 * given there, so that all the lines it logs carry one id.
 */
export function keepRequestId (req: RawRequestDefaultExpression, id: string): void {
  handedOver.set(req, id)
}

/** Whether the fast path began this request (and so already logged its `incoming request` line). */
export function wasHandedOver (req: RawRequestDefaultExpression): boolean {
  return handedOver.has(req)
}
