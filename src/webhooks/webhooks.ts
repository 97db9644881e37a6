import PgBoss from 'pg-boss'
import type pg from 'pg'
import type { PrismaClient } from '../db/prisma.js'
import { badRequest, notFound } from '../errors.js'
import { isSecret, newMessageId, newSecret, signatureHeaders } from './signing.js'

/**
 * Webhooks (docs/operations.md, "Webhooks"): events are gathered in memory (emit never waits,
 * so a poll or a download is never slowed by a receiver) and written every flushMs, each as a
 * delivery row per endpoint subscribed and a pg-boss job, in one transaction. pg-boss (its own
 * schema, the same database and pool) retries with exponential backoff and retries a job whose
 * worker died (its expiry), so delivery is at least once; the webhook-id is the delivery's id on
 * every attempt, for receivers to drop repeats.
 */
export const EVENTS = [
  'version.published', 'version.yanked', 'rollout.halted', 'license.created', 'license.updated',
  'seat.bound', 'seat.freed', 'download.delivered', 'download.failed', 'message.received', 'question.answered'
] as const
export type WebhookEvent = typeof EVENTS[number]

/** Where services report events; emit returns at once. */
export interface EventSink {
  emit: (type: WebhookEvent, data: Record<string, unknown>) => void
}

export interface WebhookOptions {
  pool: pg.Pool
  timeoutMs: number
  retryLimit: number
  retryDelaySeconds: number
  concurrency: number
  flushMs: number
  log: { warn: LogFn, error: LogFn, info: LogFn }
}

type LogFn = (obj: object, msg: string) => void

export interface EndpointFields {
  url: string
  secret?: string
  events: WebhookEvent[]
  enabled?: boolean
}

const QUEUE = 'webhook-delivery'
const SCHEMA = 'pgboss'
/** Events kept in memory while the database is away; more are dropped (and logged). */
const MAX_BUFFER = 100_000
/** Bytes of a receiver's answer kept as the delivery's last error. */
const ERROR_TEXT = 500

interface DeliveryJob { delivery: string }

export class Webhooks implements EventSink {
  private buffer: Array<{ type: WebhookEvent, data: Record<string, unknown>, at: Date }> = []
  private boss: Promise<PgBoss> | undefined
  private timer: NodeJS.Timeout | undefined
  private flushing: Promise<void> | undefined
  private stopped = false
  private dropped = 0

  constructor (private readonly prisma: PrismaClient, private readonly options: WebhookOptions) {}

  /** Starts the flush timer, and the queue's workers when an endpoint exists (else with the first one). */
  async start (): Promise<void> {
    this.timer = setInterval(() => { this.flush().catch(() => {}) }, this.options.flushMs)
    this.timer.unref()
    if (await this.prisma.webhookEndpoint.count() > 0) await this.queue()
  }

  async stop (): Promise<void> {
    clearInterval(this.timer)
    await this.flush().catch(() => {})
    this.stopped = true
    const boss = await this.boss?.catch(() => undefined)
    await boss?.stop({ graceful: true, wait: true, close: false, timeout: this.options.timeoutMs + 1000 })
  }

  emit (type: WebhookEvent, data: Record<string, unknown>): void {
    if (this.stopped) return
    if (this.buffer.length >= MAX_BUFFER) {
      if (this.dropped++ % 10_000 === 0) this.options.log.warn({ type, dropped: this.dropped }, 'webhook events dropped: the database has been away too long')
      return
    }
    this.buffer.push({ type, data, at: new Date() })
  }

  /** Writes the events gathered as deliveries of the endpoints subscribed to them. */
  async flush (): Promise<void> {
    if (this.flushing !== undefined) return await this.flushing
    if (this.buffer.length === 0) return
    const events = this.buffer
    this.buffer = []
    this.flushing = this.write(events)
      .catch((err: unknown) => {
        this.buffer = [...events, ...this.buffer].slice(0, MAX_BUFFER)
        this.options.log.warn({ err, events: events.length }, 'queueing webhook events failed; will retry')
      })
      .finally(() => { this.flushing = undefined })
    await this.flushing
  }

  private async write (events: Array<{ type: WebhookEvent, data: Record<string, unknown>, at: Date }>): Promise<void> {
    const endpoints = await this.prisma.webhookEndpoint.findMany({ where: { enabled: true }, select: { id: true, events: true } })
    const rows: Array<{ id: string, endpoint: string, event: string, body: string }> = []
    for (const event of events) {
      const body = JSON.stringify({ type: event.type, timestamp: event.at.toISOString(), data: event.data })
      for (const endpoint of endpoints) if (endpoint.events.includes(event.type)) rows.push({ id: newMessageId(), endpoint: endpoint.id, event: event.type, body })
    }
    if (rows.length === 0) return
    const boss = await this.queue()
    const client = await this.options.pool.connect()
    try {
      await client.query('BEGIN')
      await client.query(`INSERT INTO webhook_delivery (id, endpoint_id, event, body)
        SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[])`, [rows.map((r) => r.id), rows.map((r) => r.endpoint), rows.map((r) => r.event), rows.map((r) => r.body)])
      await boss.insert(rows.map((r) => ({ name: QUEUE, data: { delivery: r.id }, ...this.jobOptions() })), { db: { executeSql: async (text, values) => await client.query(text, values) } })
      await client.query('COMMIT')
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {})
      throw err
    } finally {
      client.release()
    }
  }

  private jobOptions (): { retryLimit: number, retryDelay: number, retryBackoff: boolean, expireInSeconds: number } {
    const { retryLimit, retryDelaySeconds, timeoutMs } = this.options
    // A worker that died mid-delivery leaves its job active: it is retried once this has passed.
    return { retryLimit, retryDelay: retryDelaySeconds, retryBackoff: true, expireInSeconds: Math.ceil(timeoutMs / 1000) + 1 }
  }

  /** pg-boss, started once: its schema, the queue and the workers. */
  private async queue (): Promise<PgBoss> {
    this.boss ??= (async () => {
      const { pool, concurrency, log } = this.options
      const expire = this.jobOptions().expireInSeconds
      const boss = new PgBoss({
        db: { executeSql: async (text: string, values: unknown[]) => await pool.query(text, values) },
        schema: SCHEMA,
        schedule: false,
        // Expired jobs (a worker that died) are found by maintenance: as often as they can expire.
        maintenanceIntervalSeconds: Math.min(60, Math.max(1, expire))
      })
      boss.on('error', (err) => { log.warn({ err }, 'webhook queue error') })
      await boss.start()
      await boss.createQueue(QUEUE, { name: QUEUE, ...this.jobOptions() })
      for (let i = 0; i < concurrency; i++) {
        await boss.work<DeliveryJob>(QUEUE, { includeMetadata: true, batchSize: 1, pollingIntervalSeconds: 1 }, async ([job]) => { await this.deliver(job) })
      }
      return boss
    })()
    this.boss.catch(() => { this.boss = undefined })
    return await this.boss
  }

  /** One attempt; throws when it failed, for pg-boss to retry. A delivery done already is not sent again. */
  private async deliver (job: PgBoss.JobWithMetadata<DeliveryJob>): Promise<void> {
    const delivery = await this.prisma.webhookDelivery.findUnique({ where: { id: job.data.delivery }, include: { endpoint: true } })
    if (delivery === null || delivery.status === 'delivered') return
    if (!delivery.endpoint.enabled) {
      await this.prisma.webhookDelivery.update({ where: { id: delivery.id }, data: { status: 'failed', lastError: 'endpoint disabled' } })
      return
    }
    const timestamp = Math.floor(Date.now() / 1000)
    let status: number | null = null
    let error: string | null = null
    try {
      const res = await fetch(delivery.endpoint.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'iupdate-server webhooks', ...signatureHeaders(delivery.endpoint.secret, delivery.id, timestamp, delivery.body) },
        body: delivery.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.options.timeoutMs)
      })
      status = res.status
      const text = await res.text().catch(() => '')
      if (status < 200 || status >= 300) error = `HTTP ${status}${text === '' ? '' : `: ${text.slice(0, ERROR_TEXT)}`}`
    } catch (err) {
      error = err instanceof Error ? `${err.name}: ${(err.cause as Error | undefined)?.message ?? err.message}` : String(err)
    }
    const delivered = error === null
    const final = !delivered && job.retryCount >= job.retryLimit
    await this.prisma.webhookDelivery.update({
      where: { id: delivery.id },
      data: { attempts: { increment: 1 }, lastStatus: status, lastError: error, attemptedAt: new Date(), status: delivered ? 'delivered' : final ? 'failed' : 'pending', ...(delivered ? { deliveredAt: new Date() } : {}) }
    })
    if (!delivered) throw new Error(`webhook delivery ${delivery.id} failed: ${error ?? ''}`)
  }

  // The admin API's side.

  async list (): Promise<Array<Omit<EndpointRow, 'secret'>>> {
    return await this.prisma.webhookEndpoint.findMany({ orderBy: { createdAt: 'asc' }, omit: { secret: true } })
  }

  async find (id: string): Promise<EndpointRow> {
    const row = await this.prisma.webhookEndpoint.findUnique({ where: { id } })
    if (row === null) throw notFound(`Webhook ${id}`)
    return row
  }

  async create (fields: EndpointFields): Promise<EndpointRow> {
    const secret = fields.secret ?? newSecret()
    if (!isSecret(secret)) throw badRequest('The secret must be whsec_ followed by the base64 of 24 to 64 bytes.', [{ field: 'body.secret', message: 'whsec_ and base64' }])
    const row = await this.prisma.webhookEndpoint.create({ data: { url: fields.url, secret, events: fields.events, enabled: fields.enabled ?? true } })
    await this.queue()
    return row
  }

  async update (id: string, fields: Partial<EndpointFields>): Promise<EndpointRow> {
    await this.find(id)
    if (fields.secret !== undefined && !isSecret(fields.secret)) throw badRequest('The secret must be whsec_ followed by the base64 of 24 to 64 bytes.', [{ field: 'body.secret', message: 'whsec_ and base64' }])
    return await this.prisma.webhookEndpoint.update({ where: { id }, data: fields })
  }

  async remove (id: string): Promise<void> {
    await this.find(id)
    await this.prisma.webhookEndpoint.delete({ where: { id } })
  }

  async deliveries (endpointId: string, page: { limit: number, offset: number }): Promise<{ total: number, items: DeliveryRow[] }> {
    await this.find(endpointId)
    const where = { endpointId }
    const [total, items] = await Promise.all([
      this.prisma.webhookDelivery.count({ where }),
      this.prisma.webhookDelivery.findMany({ where, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], take: page.limit, skip: page.offset })
    ])
    return { total, items }
  }

  /** Sends a delivery again (same id and body, a new signature), whatever its state. */
  async redeliver (endpointId: string, deliveryId: string): Promise<DeliveryRow> {
    const row = await this.prisma.webhookDelivery.findFirst({ where: { id: deliveryId, endpointId } })
    if (row === null) throw notFound(`Delivery ${deliveryId} of webhook ${endpointId}`)
    const boss = await this.queue()
    const updated = await this.prisma.webhookDelivery.update({ where: { id: deliveryId }, data: { status: 'pending' } })
    await boss.send(QUEUE, { delivery: deliveryId }, this.jobOptions())
    return updated
  }
}

export type EndpointRow = Awaited<ReturnType<PrismaClient['webhookEndpoint']['create']>>
export type DeliveryRow = Awaited<ReturnType<PrismaClient['webhookDelivery']['create']>>
