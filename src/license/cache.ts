import { LRUCache } from 'lru-cache'
import type pg from 'pg'
import type { Channel } from '../catalog/release-control.js'
import type { PrismaClient } from '../db/prisma.js'
import type { LicenseFacts } from './entitlement.js'
import type { LicenseForPcid } from './licenses.js'
import { bindSeat, type BindResult } from './seats.js'
import { firstSpelling, pcidSpellings } from './serial.js'

/**
 * What a poll needs to know of its PC and of the licenses its serials name: whether the PCID
 * exists, each license's facts, whether this PC holds a seat, how many are taken, and the
 * LICENSE string stored for this PC. Read in one statement (one round trip; a daily poll's
 * caches have always expired), and kept per license and PC for `ttlMs`, so that a PC polling
 * again soon reads nothing. Seat limits stay exact: taking a seat always goes to the database
 * under a row lock (seats.ts). Changes made through this instance evict at once (`evict`);
 * changes made through another instance apply here within ttlMs.
 */
export interface PollFacts {
  /** Whether the PCID was ever issued here. */
  known: boolean
  /** The licenses found, by the serial that names them. */
  licenses: Map<string, LicenseForPcid>
  /** The PCID's release channel; read only when the poll asked for it (`needChannel`), else 'stable'. */
  channel: Channel
}

interface Row {
  known: boolean
  id: string | null
  key: string
  program: string
  status: LicenseFacts['status']
  maintenance_end: Date | null
  seat_limit: number
  bound: boolean
  used: number
  license_token: string | null
  channel: Channel | null
  pin: string | null
  pcid_channel: Channel | null
}

/**
 * The hot statement, prepared once per connection (pg's named statements). A poll naming one
 * serial (nearly all of them) uses FACTS_ONE, which differs only in `l.key = $2`: Postgres then
 * plans it once per connection (its generic plan costs what a custom one does), where with
 * `= ANY($2)` it estimated ten keys for the generic plan, kept planning each execution anew,
 * and spent about three times the statement's CPU on planning (docs/performance.md).
 */
/** The statement, for a condition on the license's key (`$2`). */
function factsText (keyCondition: string): string {
  // The program's name as a subquery: an index lookup per license, where a join was planned
  // as a hash of every program for each poll.
  return `SELECT EXISTS (SELECT 1 FROM pcid WHERE id = $1) AS known,
                l.id, l.key, (SELECT p.name FROM program p WHERE p.id = l.program_id) AS program,
                l.status, l.maintenance_end, l.seat_limit,
                s.pcid IS NOT NULL AS bound, s.license_token,
                (SELECT count(*) FROM seat c WHERE c.license_id = l.id)::int AS used,
                l.channel, l.pin, (SELECT channel FROM pcid WHERE id = $1) AS pcid_channel
           FROM (SELECT 1) one
           LEFT JOIN license l ON ${keyCondition}
           LEFT JOIN seat s ON s.license_id = l.id AND s.pcid = $1`
}
const FACTS = { name: 'poll-facts', text: factsText('l.key = ANY($2::text[])') }
const FACTS_ONE = { name: 'poll-facts-one', text: factsText('l.key = $2::text') }

interface Entry {
  license: LicenseForPcid
  /** The license's generation when read: evict(key) makes older entries stale. */
  generation: number
}

export class LicenseCache {
  private readonly entries: LRUCache<string, Entry>
  private readonly statuses: LRUCache<string, LicenseFacts['status'] | 'gone'>
  /**
   * Per license changed through this instance, a number above that of every entry read before
   * the change. Kept as long as an entry lives (ttlMs): by then every older entry has expired.
   */
  private readonly generations: LRUCache<string, number>
  private changes = 0
  private readonly reading = new Map<string, Promise<LicenseFacts['status'] | undefined>>()
  /** PCIDs' release channels, read with their polls' facts; kept like the licenses. */
  private readonly channels: LRUCache<string, Channel>
  /** Polls answered from memory and from the database, for /metrics. */
  readonly lookups = { hits: 0, misses: 0 }

  constructor (private readonly pool: pg.Pool, private readonly prisma: PrismaClient, ttlMs: number, max = 50_000) {
    const ttl = Math.max(1, ttlMs)
    this.entries = new LRUCache({ max, ttl })
    this.statuses = new LRUCache({ max, ttl })
    this.generations = new LRUCache({ ttl, ttlAutopurge: true })
    this.channels = new LRUCache({ max, ttl })
  }

  /**
   * The facts of a poll: from memory when this instance read them within ttlMs (and knows the
   * PCID: `pcidKnown`), else in one statement. `needChannel`: the PCID's channel is wanted
   * too (a program of the poll has a beta version), from memory only if read within ttlMs.
   */
  async facts (pcid: string, keys: string[], pcidKnown: boolean, needChannel = false): Promise<PollFacts> {
    const licenses = new Map<string, LicenseForPcid>()
    for (const key of keys) {
      const entry = this.entries.get(entryKey(key, pcid))
      if (entry === undefined || entry.generation !== this.generation(key)) break
      licenses.set(key, entry.license)
    }
    const channel = needChannel ? this.channels.get(pcid) : 'stable'
    if (pcidKnown && licenses.size === keys.length && channel !== undefined) {
      this.lookups.hits++
      return { known: true, licenses, channel }
    }
    this.lookups.misses++
    licenses.clear()
    const generations = keys.map((key) => this.generation(key))
    const { rows } = await this.pool.query<Row>(keys.length === 1 ? { ...FACTS_ONE, values: [pcid, keys[0]] } : { ...FACTS, values: [pcid, keys] })
    for (const row of rows) {
      if (row.id === null) continue
      const license: LicenseForPcid = {
        id: row.id,
        key: row.key,
        program: row.program,
        status: row.status,
        maintenanceEnd: row.maintenance_end,
        maintenanceEndIso: row.maintenance_end?.toISOString() ?? null,
        seatLimit: row.seat_limit,
        bound: row.bound,
        used: row.used,
        token: row.license_token,
        channel: row.channel ?? 'stable',
        pin: row.pin
      }
      licenses.set(row.key, license)
      // Kept only if no change was made through this instance while it was read.
      const at = keys.indexOf(row.key)
      if (at >= 0 && generations[at] === this.generation(row.key)) this.entries.set(entryKey(row.key, pcid), { license, generation: generations[at] })
    }
    const pcidChannel = rows[0]?.pcid_channel ?? 'stable'
    if (rows[0]?.known === true) this.channels.set(pcid, pcidChannel)
    return { known: rows[0]?.known ?? false, licenses, channel: pcidChannel }
  }

  /**
   * Takes a seat of the license for this PCID, in the database under the license's row lock
   * (seats.ts). The count kept for other PCs of the license may then be one short: it only
   * ever leads them to the database, where the seat is decided.
   */
  async takeSeat (license: LicenseForPcid, pcid: string): Promise<BindResult> {
    const bound = await bindSeat(this.pool, license.id, pcid)
    const entry = this.entries.get(entryKey(license.key, pcid))
    if (bound === 'bound' || bound === 'already') {
      if (entry !== undefined && !entry.license.bound) entry.license = { ...entry.license, bound: true, used: entry.license.used + 1 }
    } else {
      this.entries.delete(entryKey(license.key, pcid))
    }
    return bound
  }

  /** A LICENSE string issued to a PC holding a seat: handed out again from here until the entry expires. */
  tokenIssued (license: LicenseForPcid, pcid: string, token: string): void {
    const entry = this.entries.get(entryKey(license.key, pcid))
    if (entry !== undefined) entry.license.token = token
  }

  /** A license's status by its id (the claim of a download link), read at most once per ttlMs. Undefined: no such license. */
  async status (id: string): Promise<LicenseFacts['status'] | undefined> {
    const kept = this.statuses.get(id)
    if (kept !== undefined) return kept === 'gone' ? undefined : kept
    // Downloads of one release start together: one read for all of them.
    let reading = this.reading.get(id)
    if (reading === undefined) {
      reading = this.prisma.license.findUnique({ where: { id }, select: { status: true } })
        .then((row) => {
          this.statuses.set(id, row?.status ?? 'gone')
          return row?.status
        })
        .finally(() => this.reading.delete(id))
      this.reading.set(id, reading)
    }
    return await reading
  }

  /** After a change through this instance: the license (all of them, without a key) is read again at its next use. */
  evict (key?: string): void {
    if (key === undefined) this.entries.clear()
    else this.generations.set(key, ++this.changes)
    // Statuses are kept by id; changes are rare, so all are read again.
    this.statuses.clear()
  }

  /**
   * What release control knows of a PC for one program outside a poll (f=newveravail): its
   * channel, beta when the PCID or a license of the program holding its seat is, and the
   * lowest pin of those licenses, and the PCID as stored (serial.ts, pcidSpellings). Undefined: no such PCID.
   */
  async releaseFacts (pcid: string, program: string): Promise<{ pcid: string, channel: Channel, pins: string[] } | undefined> {
    const row = firstSpelling(pcid, await this.prisma.pcid.findMany({
      where: { id: { in: pcidSpellings(pcid) } },
      select: { id: true, channel: true, seats: { where: { license: { program: { name: program } } }, select: { license: { select: { channel: true, pin: true } } } } }
    }))
    if (row === undefined) return undefined
    const licenses = row.seats.map((s) => s.license)
    return {
      pcid: row.id,
      channel: row.channel === 'beta' || licenses.some((l) => l.channel === 'beta') ? 'beta' : 'stable',
      pins: licenses.flatMap((l) => l.pin === null ? [] : [l.pin])
    }
  }

  /** After a PCID's channel changed through this instance: read again at its next poll. */
  evictPcid (pcid: string): void {
    this.channels.delete(pcid)
  }

  private generation (key: string): number {
    return this.generations.get(key) ?? 0
  }
}

function entryKey (key: string, pcid: string): string {
  return `${key}\u0000${pcid}`
}
