import { LRUCache } from 'lru-cache'
import type { PrismaClient } from '../db/prisma.js'

/**
 * Which PCIDs exist, and what they report. Polls are frequent and alike, so:
 * - known PCIDs are remembered (a PCID, once issued, never changes);
 * - what each PCID reports per program (version, serial, last contact) is gathered in
 *   memory and written in one statement every `flushMs`, not once per request.
 * A crash loses at most the last flushMs of last-contact times, nothing else.
 */
export interface Contact {
  pcid: string
  program: string
  version: string
  serial: string | null
}

type LogFn = (obj: object, msg: string) => void

export class Contacts {
  private readonly known = new LRUCache<string, true>({ max: 200_000, ttl: 10 * 60_000 })
  private pending = new Map<string, Contact & { at: number }>()
  private timer: NodeJS.Timeout | undefined
  private flushing: Promise<void> | undefined

  constructor (private readonly prisma: PrismaClient, private readonly options: { flushMs: number, log: { warn: LogFn } }) {}

  start (): void {
    this.timer = setInterval(() => { this.flush().catch(() => {}) }, this.options.flushMs)
    this.timer.unref()
  }

  async stop (): Promise<void> {
    clearInterval(this.timer)
    await this.flush()
  }

  /** f=getpcid: stores a new PCID with what the client told about itself; it is known at once. */
  async register (pcid: string, client: { address: string, userAgent: string | null, program: string | null }): Promise<void> {
    await this.prisma.pcid.create({ data: { id: pcid, ...client } })
    this.known.set(pcid, true)
  }

  forget (pcid: string): void {
    this.known.delete(pcid)
  }

  async exists (pcid: string): Promise<boolean> {
    if (this.known.has(pcid)) return true
    const row = await this.prisma.pcid.findUnique({ where: { id: pcid }, select: { id: true } })
    if (row !== null) this.known.set(pcid, true)
    return row !== null
  }

  record (contact: Contact): void {
    const key = `${contact.pcid}\u0000${contact.program}`
    const known = this.pending.get(key)
    if (known !== undefined && known.version === contact.version && known.serial === contact.serial) {
      known.at = Date.now()
      return
    }
    this.pending.set(key, { pcid: contact.pcid, program: contact.program, version: contact.version, serial: contact.serial, at: Date.now() })
  }

  /** Writes what was gathered; on failure keeps it for the next attempt. */
  async flush (): Promise<void> {
    if (this.flushing !== undefined) return await this.flushing
    if (this.pending.size === 0) return
    const batch = this.pending
    this.pending = new Map()
    const rows = [...batch.values()]
    this.flushing = (async () => {
      try {
        await this.prisma.$executeRaw`
          WITH c AS (
            SELECT * FROM unnest(${rows.map((r) => r.pcid)}::text[], ${rows.map((r) => r.program)}::text[],
                                 ${rows.map((r) => r.version)}::text[], ${rows.map((r) => r.serial)}::text[],
                                 ${rows.map((r) => new Date(r.at))}::timestamptz[]) AS t(pcid, program, version, serial, at)
          ), p AS (
            UPDATE pcid SET last_seen_at = GREATEST(pcid.last_seen_at, m.at)
            FROM (SELECT pcid, max(at) AS at FROM c GROUP BY pcid) m WHERE pcid.id = m.pcid
          )
          INSERT INTO pcid_program (pcid, program, version, serial, first_seen_at, last_seen_at)
          SELECT c.pcid, c.program, c.version, c.serial, c.at, c.at FROM c JOIN pcid ON pcid.id = c.pcid
          ON CONFLICT (pcid, program) DO UPDATE
            SET version = EXCLUDED.version, serial = EXCLUDED.serial, last_seen_at = EXCLUDED.last_seen_at`
      } catch (err) {
        for (const [key, value] of batch) if (!this.pending.has(key)) this.pending.set(key, value)
        this.options.log.warn({ err, contacts: batch.size }, 'recording contacts failed; will retry')
      } finally {
        this.flushing = undefined
      }
    })()
    await this.flushing
  }
}
