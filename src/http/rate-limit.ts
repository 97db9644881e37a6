import type { RateLimitPluginOptions } from '@fastify/rate-limit'
import { ProtocolError } from '../errors.js'

/** A client's window: requests counted since it began. */
interface Window {
  current: number
  startedAt: number
}

type StoreCallback = (err: Error | null, result: { current: number, ttl: number }) => void

/**
 * @fastify/rate-limit's store for the protocol surfaces: a window per client from its first
 * request (the rule of the plugin's own LocalStore), in this instance's memory, bounded. When
 * it is full, windows that have ended go first, then the clients that are within their limit,
 * oldest first; a client over its limit is kept until its window ends, so that a flood of new
 * addresses cannot make the store forget it (docs/protocol.md §1). Past twice the bound the
 * oldest windows go whatever their count.
 */
export class BoundedRateStore {
  private readonly windows = new Map<string, Window>()

  constructor (private readonly maxClients: number) {}

  incr (key: string, callback: StoreCallback, timeWindow: number, max: number): void {
    const now = Date.now()
    let window = this.windows.get(key)
    if (window === undefined || window.startedAt + timeWindow <= now) {
      if (window === undefined && this.windows.size >= this.maxClients) this.makeRoom(now, timeWindow, max)
      window = { current: 0, startedAt: now }
    }
    window.current++
    // Map order is insertion order: re-inserting keeps the oldest windows first.
    this.windows.delete(key)
    this.windows.set(key, window)
    callback(null, { current: window.current, ttl: window.startedAt + timeWindow - now })
  }

  child (): BoundedRateStore {
    return new BoundedRateStore(this.maxClients)
  }

  /** How many clients are counted now. */
  get size (): number {
    return this.windows.size
  }

  private makeRoom (now: number, timeWindow: number, max: number): void {
    const target = Math.floor(this.maxClients * 0.9)
    for (const [key, window] of this.windows) if (window.startedAt + timeWindow <= now) this.windows.delete(key)
    for (const [key, window] of this.windows) {
      if (this.windows.size <= target) return
      if (window.current <= max) this.windows.delete(key)
    }
    for (const key of this.windows.keys()) {
      if (this.windows.size < 2 * this.maxClients) return
      this.windows.delete(key)
    }
  }
}

export interface RateLimit {
  /** Requests per client address and window. */
  max: number
  windowMs: number
  /** Client addresses counted at once (memory stays bounded). */
  clients: number
}

/**
 * @fastify/rate-limit's settings for a protocol surface (/myweb/iupdate.php, /ftp/): `max`
 * requests per `windowMs` per client address (an IPv6 client by its /64), refused with the
 * protocol's `ERROR=RATE_LIMITED`, 429 and Retry-After. Only a refusal carries the
 * `x-ratelimit-*` headers: update agents never read them on an answer.
 */
export function rateLimitOptions ({ max, windowMs, clients }: RateLimit): RateLimitPluginOptions {
  return {
    max,
    timeWindow: windowMs,
    ipv6Subnet: 64,
    store: class extends BoundedRateStore { constructor () { super(clients) } },
    addHeadersOnExceeding: { 'x-ratelimit-limit': false, 'x-ratelimit-remaining': false, 'x-ratelimit-reset': false },
    errorResponseBuilder: (_request, context) => new ProtocolError(
      'RATE_LIMITED',
      `Too many requests: at most ${max} per ${windowMs / 1000} s from one address. Try again in ${Math.ceil(context.ttl / 1000)} s.`
    )
  }
}
