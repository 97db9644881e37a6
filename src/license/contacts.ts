import { LRUCache } from 'lru-cache'
import type { Channel } from '../catalog/release-control.js'
import { isDatabaseUnavailable } from '../db/errors.js'
import type { PrismaClient } from '../db/prisma.js'

/**
 * Which PCIDs exist, and what they report. Polls are frequent and alike, so:
 * - known PCIDs are remembered (a PCID, once issued, never changes);
 * - what each PCID reports per program (version, serial, last contact) is gathered in
 *   memory and written in one statement every `flushMs`, not once per request.
 * - the LICENSE strings signed for PCs holding seats go out with the same flush;
 * - the same statement keeps the history of docs/analytics.md: a PC's first contact written on
 *   a day (UTC) adds one to install_day for its program, version and channel, and a newer
 *   version offered is recorded once per PC in version_offer.
 * A crash loses at most the last flushMs of last-contact times (and of new LICENSE strings,
 * which are signed again), nothing else.
 */
export interface Contact {
  pcid: string
  program: string
  version: string
  serial: string | null
  /** The version the answer offered (OK[i]), for a rollout's count of PCs offered it. */
  offered?: string | null
  /** The release channel the answer was decided for: counted in install_day. */
  channel?: Channel
  /** Whether the answer listed download links for the offered version (the funnel's links issued). */
  linked?: boolean
}

/** A contact waiting for the flush, with the newer version last offered to the PC meanwhile. */
interface Pending extends Contact {
  at: number
  offer: string | null
  linked: boolean
}

type LogFn = (obj: object, msg: string) => void

export class Contacts {
  private readonly known = new LRUCache<string, true>({ max: 200_000, ttl: 10 * 60_000 })
  private pending = new Map<string, Pending>()
  /** LICENSE strings signed since the last flush, by seat: stored so that the next polls reuse them. */
  private licenseStrings = new Map<string, { licenseId: string, pcid: string, token: string }>()
  private timer: NodeJS.Timeout | undefined
  private flushing: Promise<void> | undefined

  constructor (private readonly prisma: PrismaClient, private readonly options: { flushMs: number, log: { warn: LogFn, error: LogFn } }) {}

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

  /** Whether this PCID is known without asking the database. */
  isKnown (pcid: string): boolean {
    return this.known.has(pcid)
  }

  /** A PCID the database said exists. */
  remember (pcid: string): void {
    this.known.set(pcid, true)
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
    const offered = contact.offered ?? null
    const channel = contact.channel ?? 'stable'
    // A newer version offered is kept until written, even when a later poll of the PC supersedes the contact.
    const newOffer = offered !== null && offered !== contact.version ? offered : null
    const offer = newOffer ?? known?.offer ?? null
    const linked = (contact.linked === true && newOffer !== null) || (known?.linked === true && known.offer === offer)
    if (known !== undefined && known.version === contact.version && known.serial === contact.serial && known.offered === offered && known.channel === channel) {
      known.at = Date.now()
      known.offer = offer
      known.linked = linked
      return
    }
    if (known === undefined && this.pending.size >= MAX_PENDING) return
    this.pending.set(key, { pcid: contact.pcid, program: storable(contact.program), version: storable(contact.version), serial: contact.serial === null ? null : storable(contact.serial), offered, channel, offer, linked, at: Date.now() })
  }

  /** A LICENSE string signed for a PC holding a seat of the license: stored with the next flush. */
  recordLicenseString (licenseId: string, pcid: string, token: string): void {
    if (this.licenseStrings.size < MAX_PENDING) this.licenseStrings.set(`${licenseId}\u0000${pcid}`, { licenseId, pcid, token })
  }

  /**
   * Writes what was gathered. While the database is away the batch is kept for the next
   * attempt (within MAX_PENDING); any other failure is a row the database refuses, and the
   * batch is split until that row is found, logged and dropped, so it cannot hold the others.
   */
  async flush (): Promise<void> {
    if (this.flushing !== undefined) return await this.flushing
    if (this.pending.size === 0 && this.licenseStrings.size === 0) return
    const batch = this.pending
    const strings = this.licenseStrings
    this.pending = new Map()
    this.licenseStrings = new Map()
    this.flushing = (async () => {
      try {
        if (batch.size > 0) await this.writeSplitting([...batch.values()])
        if (strings.size > 0) await this.writeLicenseStrings([...strings.values()])
      } catch (err) {
        for (const [key, value] of batch) if (!this.pending.has(key) && this.pending.size < MAX_PENDING) this.pending.set(key, value)
        for (const [key, value] of strings) if (!this.licenseStrings.has(key) && this.licenseStrings.size < MAX_PENDING) this.licenseStrings.set(key, value)
        this.options.log.warn({ err, contacts: batch.size }, 'recording contacts failed; will retry')
      } finally {
        this.flushing = undefined
      }
    })()
    await this.flushing
  }

  /** Writes rows; throws only when the database is away (the caller keeps them). */
  private async writeSplitting (rows: Pending[]): Promise<void> {
    try {
      await this.write(rows)
    } catch (err) {
      if (isDatabaseUnavailable(err)) throw err
      if (rows.length === 1) {
        this.options.log.error({ err, contact: rows[0] }, 'a contact the database refuses was dropped')
        return
      }
      const half = Math.ceil(rows.length / 2)
      await this.writeSplitting(rows.slice(0, half))
      await this.writeSplitting(rows.slice(half))
    }
  }

  /** Stores LICENSE strings by seat (a seat freed meanwhile stores nothing); throws only when the database is away. */
  private async writeLicenseStrings (rows: Array<{ licenseId: string, pcid: string, token: string }>): Promise<void> {
    try {
      await this.prisma.$executeRaw`
        UPDATE seat SET license_token = t.token
          FROM unnest(${rows.map((r) => r.licenseId)}::uuid[], ${rows.map((r) => r.pcid)}::text[], ${rows.map((r) => r.token)}::text[]) AS t(license_id, pcid, token)
         WHERE seat.license_id = t.license_id AND seat.pcid = t.pcid`
    } catch (err) {
      if (isDatabaseUnavailable(err)) throw err
      // They are only saved signatures: the next polls sign again.
      this.options.log.error({ err, count: rows.length }, 'storing LICENSE strings failed; they are dropped')
    }
  }

  /**
   * One statement: the PCs' last contact, their rows in pcid_program, and the history. A row's
   * day_contacts restarts at 1 on its first write of a later day, under the row lock that
   * ON CONFLICT takes, so a PC polling several instances (or one before and after a restart)
   * is counted once per day, under the version and channel of that first write.
   */
  private async write (rows: Pending[]): Promise<void> {
    await this.prisma.$executeRaw`
      WITH c AS (
        SELECT * FROM unnest(${rows.map((r) => r.pcid)}::text[], ${rows.map((r) => r.program)}::text[],
                             ${rows.map((r) => r.version)}::text[], ${rows.map((r) => r.serial)}::text[],
                             ${rows.map((r) => new Date(r.at))}::timestamptz[], ${rows.map((r) => r.offered ?? null)}::text[],
                             ${rows.map((r) => r.channel ?? 'stable')}::release_channel[], ${rows.map((r) => r.offer)}::text[],
                             ${rows.map((r) => r.linked)}::boolean[])
                    AS t(pcid, program, version, serial, at, offered, channel, offer, linked)
      ), p AS (
        UPDATE pcid SET last_seen_at = GREATEST(pcid.last_seen_at, m.at)
        FROM (SELECT pcid, max(at) AS at FROM c GROUP BY pcid) m WHERE pcid.id = m.pcid
      ), w AS (
        INSERT INTO pcid_program (pcid, program, version, serial, first_seen_at, last_seen_at, offered, active_day, day_contacts)
        SELECT c.pcid, c.program, c.version, c.serial, c.at, c.at, c.offered, (c.at AT TIME ZONE 'UTC')::date, 1 FROM c JOIN pcid ON pcid.id = c.pcid
        ON CONFLICT (pcid, program) DO UPDATE
          SET version = EXCLUDED.version, serial = EXCLUDED.serial, last_seen_at = EXCLUDED.last_seen_at, offered = EXCLUDED.offered,
              day_contacts = CASE WHEN pcid_program.active_day IS NULL OR EXCLUDED.active_day > pcid_program.active_day THEN 1 ELSE pcid_program.day_contacts + 1 END,
              active_day = GREATEST(pcid_program.active_day, EXCLUDED.active_day)
        RETURNING pcid, program, version, active_day, day_contacts
      ), d AS (
        INSERT INTO install_day (program, day, version, channel, count)
        SELECT w.program, w.active_day, w.version, c.channel, count(*) FROM w JOIN c USING (pcid, program)
         WHERE w.day_contacts = 1 GROUP BY 1, 2, 3, 4
        ON CONFLICT (program, day, version, channel) DO UPDATE SET count = install_day.count + EXCLUDED.count
      )
      INSERT INTO version_offer (program, version, pcid, offered_at, linked_at)
      SELECT c.program, c.offer, c.pcid, c.at, CASE WHEN c.linked THEN c.at END FROM c JOIN w USING (pcid, program)
       WHERE c.offer IS NOT NULL
      ON CONFLICT (program, version, pcid) DO UPDATE SET linked_at = EXCLUDED.linked_at
       WHERE version_offer.linked_at IS NULL AND EXCLUDED.linked_at IS NOT NULL`
  }
}

/** Contacts gathered at most between two flushes: past it new ones wait for the next poll of their PC. */
const MAX_PENDING = 500_000

/** Text as Postgres can store it: without NUL characters. */
function storable (text: string): string {
  return text.replaceAll('\u0000', '')
}
