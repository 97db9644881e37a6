import { normalizeIP } from '@fastify/rate-limit'

/** The IPv6 prefix one client is counted by (@fastify/rate-limit's default: one site's allocation). */
const IPV6_SUBNET = 64

interface Window {
  count: number
  endsAt: number
}

/**
 * The public endpoint's rate limit: at most `max` requests per client address in a window of
 * `windowMs` that starts at the address's first request, counted in this instance's memory:
 * the rule of @fastify/rate-limit's in-memory store, which this endpoint used before.
 *
 * Why not that plugin's hook: every poll of every installed PC passes here, and its hook
 * awaits two async functions and a promise per request, which moves the rest of the request
 * into later microtasks; measured, that was the largest part of a poll's cost that was ours to
 * change (DEVELOPERS.md). This check is synchronous. Addresses are keyed as the plugin keys
 * them, with its exported `normalizeIP` (IPv6 addresses by their /64, IPv4-mapped ones as IPv4).
 */
export class RateLimiter {
  private readonly windows = new Map<string, Window>()

  /** `maxAddresses` bounds memory: past it, ended windows are dropped, then the oldest addresses. */
  constructor (readonly max: number, readonly windowMs: number, private readonly maxAddresses = 100_000) {}

  /** Counts a request from `ip`: 0 when it is within the limit, else the seconds until its window ends. */
  take (ip: string, now = Date.now()): number {
    // IPv4 (no colon) is its own key; only IPv6 needs the plugin's normalisation.
    const key = ip.includes(':') ? normalizeIP(ip, IPV6_SUBNET) : ip
    let window = this.windows.get(key)
    if (window === undefined) {
      if (this.windows.size >= this.maxAddresses) this.prune(now)
      window = { count: 0, endsAt: now + this.windowMs }
      this.windows.set(key, window)
    } else if (window.endsAt <= now) {
      window.count = 0
      window.endsAt = now + this.windowMs
    }
    window.count++
    return window.count > this.max ? Math.max(1, Math.ceil((window.endsAt - now) / 1000)) : 0
  }

  /** How many addresses are counted now. */
  get size (): number {
    return this.windows.size
  }

  /** Makes room: drops ended windows, and if that is not a tenth of the bound, the addresses counted longest. */
  private prune (now: number): void {
    for (const [key, window] of this.windows) if (window.endsAt <= now) this.windows.delete(key)
    let excess = this.windows.size - Math.floor(this.maxAddresses * 0.9)
    for (const key of this.windows.keys()) {
      if (excess-- <= 0) break
      this.windows.delete(key)
    }
  }
}
