import type { PrismaClient } from '../db/prisma.js'
import type { EventSink } from '../webhooks/webhooks.js'
import type { SendResult } from './send.js'

/**
 * Download records: created when a token first fetches bytes, updated as bytes go out.
 * A token is spent once the bytes known delivered cover the whole file, the bytes it has
 * delivered over all its responses reach the file's size, or the client confirmed the
 * download (f=dlconfirm). Besides, the responses begun on one token may together ask for at
 * most GRANT_FACTOR times the file (a resumed download asks for what it lacks), so that
 * parallel requests for almost all of the file cannot go on for ever (docs/protocol.md §7).
 *
 * Known delivered: the ranges of responses that were flushed completely; and, when a
 * response for bytes a… completes, whatever was sent before a by earlier responses that
 * broke off (the client asked to continue at a, so it holds what came before).
 */
export const GRANT_FACTOR = 2

export interface DownloadStart {
  /** The token's key (link-tokens.ts): a digest of its id, the same for every spelling it could be sent in. */
  tokenKey: string
  pcid: string
  licenseId: string | null
  program: string
  folder: string
  path: string
  size: number
  expiresAt: Date
}

type LogFn = (obj: object, msg: string) => void

/** A download whose outcome an update decided; `first`: this update decided it. */
interface Outcome { id: string, pcid: string, program: string, folder: string, path: string, first: boolean | null }

/**
 * The download records of this server, as the ftp/ route and f=dlconfirm use them. Delivery
 * updates that could not be written (database away) are kept and retried, so a download in
 * flight when the database goes away is still counted when it comes back.
 */
export class DownloadRecords {
  private readonly pending: Array<{ id: string, result: SendResult, attempts: number }> = []
  private timer: NodeJS.Timeout | undefined

  private readonly retryMs: number
  private readonly events: EventSink | undefined

  /** `events`: told of downloads confirmed and failed by the client (f=dlconfirm), for webhooks. */
  constructor (private readonly prisma: PrismaClient, private readonly log: { warn: LogFn, error: LogFn }, options: { retryMs?: number, events?: EventSink } = {}) {
    this.retryMs = options.retryMs ?? 5_000
    this.events = options.events
  }

  /** The record of a token, if it was ever used, and whether it is spent. */
  async find (tokenKey: string): Promise<{ id: string, spent: boolean } | undefined> {
    const rows = await this.prisma.$queryRaw<Array<{ id: string, spent: boolean }>>`
      SELECT id, (completed_at IS NOT NULL OR confirmed_at IS NOT NULL OR (size > 0 AND bytes_served >= size)) AS spent
        FROM download WHERE token_hash = ${tokenKey}`
    return rows[0]
  }

  /**
   * A response of `bytes` about to begin on this token: its record (created on the token's
   * first use, safe when instances race), with those bytes counted as asked for, in one
   * statement. Undefined when the token is spent or has been asked for all it may.
   */
  async begin (start: DownloadStart, bytes: number): Promise<string | undefined> {
    const rows = await this.prisma.$queryRaw<Array<{ id: string }>>`
      INSERT INTO download (id, token_hash, pcid, license_id, program, folder, path, size, expires_at, bytes_granted)
      VALUES (gen_random_uuid(), ${start.tokenKey}, ${start.pcid}, ${start.licenseId}::uuid, ${start.program}, ${start.folder},
              ${start.path}, ${start.size}, ${start.expiresAt}, ${bytes})
      ON CONFLICT (token_hash) DO UPDATE SET bytes_granted = download.bytes_granted + EXCLUDED.bytes_granted
       WHERE download.completed_at IS NULL AND download.confirmed_at IS NULL
         AND (download.size = 0 OR download.bytes_served < download.size)
         AND download.bytes_granted + EXCLUDED.bytes_granted <= download.size * ${GRANT_FACTOR}
      RETURNING id`
    return rows[0]?.id
  }

  /** f=dlconfirm: the client's word on a download. False when the token was never used. */
  async confirm (tokenKey: string, ok: boolean, error: string | null): Promise<boolean> {
    const rows = ok
      // The first confirmation of a download is told; the row is locked first so that two at once tell it once.
      ? await this.prisma.$queryRaw<Outcome[]>`WITH was AS (SELECT id, confirmed_at IS NULL AS first FROM download WHERE token_hash = ${tokenKey} FOR UPDATE)
          UPDATE download d SET confirmed_at = coalesce(d.confirmed_at, now()) FROM was WHERE d.id = was.id
          RETURNING d.id, d.pcid, d.program, d.folder, d.path, was.first`
      : await this.prisma.$queryRaw<Outcome[]>`UPDATE download SET failed_at = now(), error = ${error} WHERE token_hash = ${tokenKey}
          RETURNING id, pcid, program, folder, path, true AS first`
    const row = rows[0]
    if (row?.first === true) this.tell(ok ? 'download.delivered' : 'download.failed', row, ok ? {} : { error })
    return row !== undefined
  }

  private tell (type: 'download.delivered' | 'download.failed', row: Outcome, extra: Record<string, unknown> = {}): void {
    this.events?.emit(type, { id: row.id, pcid: row.pcid, program: row.program, folder: row.folder, path: row.path, ...extra })
  }

  /**
   * Forgets the state of expired tokens (their key and byte ranges), keeping the records for
   * statistics; returns how many. One statement, idempotent: safe when several instances run it.
   */
  async cleanupExpired (now = new Date()): Promise<number> {
    return await this.prisma.$executeRaw`
      UPDATE download SET token_hash = NULL, covered = NULL, sent = NULL
      WHERE expires_at < ${now} AND token_hash IS NOT NULL`
  }

  /** What one response delivered: written now, or kept and retried while the database is away. */
  async record (id: string, result: SendResult): Promise<void> {
    try {
      await this.write(id, result)
    } catch (err) {
      this.log.warn({ err, download: id }, 'recording a delivery failed; will retry')
      this.pending.push({ id, result, attempts: 1 })
      this.schedule()
    }
  }

  private async write (id: string, result: SendResult): Promise<void> {
    const sent = multirange(result.sent.map(({ range, bytes }) => ({ start: range.start, endExclusive: range.start + bytes })))
    const covered = result.finished ? multirange(result.sent.map(({ range }) => ({ start: range.start, endExclusive: range.end + 1 }))) : '{}'
    const firstStart = Math.min(...result.sent.map(({ range }) => range.start))
    const total = result.sent.reduce((sum, { bytes }) => sum + bytes, 0)
    await this.prisma.$executeRaw`
      UPDATE download SET
        bytes_served = bytes_served + ${total},
        sent = coalesce(sent, '{}') + ${sent}::int8multirange,
        covered = coalesce(covered, '{}') + ${covered}::int8multirange
          + CASE WHEN ${result.finished} THEN coalesce(sent, '{}') * int8multirange(int8range(0, ${firstStart}::bigint)) ELSE '{}'::int8multirange END,
        completed_at = coalesce(completed_at, CASE WHEN (coalesce(covered, '{}') + ${covered}::int8multirange
          + CASE WHEN ${result.finished} THEN coalesce(sent, '{}') * int8multirange(int8range(0, ${firstStart}::bigint)) ELSE '{}'::int8multirange END)
          @> int8range(0, size) THEN now() END)
      WHERE id = ${id}::uuid`
  }

  private schedule (): void {
    if (this.timer !== undefined) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.retry().catch(() => {})
    }, this.retryMs)
    this.timer.unref()
  }

  async retry (): Promise<void> {
    while (this.pending.length > 0) {
      const next = this.pending[0]
      try {
        await this.write(next.id, next.result)
        this.pending.shift()
      } catch (err) {
        if (++next.attempts > 720) {
          this.pending.shift()
          this.log.error({ err, download: next.id }, 'gave up recording a delivery')
          continue
        }
        this.schedule()
        return
      }
    }
  }

  async stop (): Promise<void> {
    clearTimeout(this.timer)
    await this.retry().catch(() => {})
  }
}

function multirange (ranges: Array<{ start: number, endExclusive: number }>): string {
  const parts = ranges.filter((r) => r.endExclusive > r.start).map((r) => `[${r.start},${r.endExclusive})`)
  return `{${parts.join(',')}}`
}
