import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'

/**
 * The Prometheus metrics of one server (docs/operations.md, "Metrics"). Counters are moved
 * in memory where things happen (no I/O on any request's path); what other parts hold
 * already (the database pool, the repository, caches, rollouts) is read when scraped.
 */
export interface MetricSources {
  pool: () => { totalCount: number, idleCount: number, waitingCount: number }
  repository: () => { files: number, scans: number }
  licenseCache: () => { hits: number, misses: number }
  rollouts: () => Array<{ program: string, version: string, rollout: number, halted: boolean }>
}

/** What a poll's decision reports, per program answered. */
export interface PollOutcome {
  kind: string
  reason: string | undefined
  files: readonly unknown[]
}

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

export class Metrics {
  readonly registry = new Registry()
  private readonly requests = new Counter({ name: 'iupdate_http_requests_total', help: 'HTTP requests answered, by method, route and status', labelNames: ['method', 'route', 'status'], registers: [this.registry] })
  private readonly latency = new Histogram({ name: 'iupdate_http_request_duration_seconds', help: 'Time to answer HTTP requests, by method and route', labelNames: ['method', 'route'], buckets: LATENCY_BUCKETS, registers: [this.registry] })
  private readonly polls = new Counter({ name: 'iupdate_polls_total', help: 'Programs answered by f=qrymaxver, by kind and reason (empty: entitled or nothing to fetch)', labelNames: ['kind', 'reason'], registers: [this.registry] })
  private readonly links = new Counter({ name: 'iupdate_links_issued_total', help: 'Download links listed by f=qrymaxver', registers: [this.registry] })
  private readonly bytes = new Counter({ name: 'iupdate_download_bytes_total', help: 'Bytes of repository files sent by /ftp/', registers: [this.registry] })
  private readonly inFlight = new Gauge({ name: 'iupdate_downloads_in_flight', help: 'Responses of /ftp/ sending bytes now', registers: [this.registry] })
  /** Metrics read from their sources when scraped. */
  private readonly observed: Array<Gauge | Counter>

  constructor (sources: MetricSources) {
    const registers = [this.registry]
    collectDefaultMetrics({ register: this.registry, prefix: 'iupdate_' })
    let scansSeen = 0
    this.observed = [
      new Gauge({
        name: 'iupdate_db_pool_connections',
        help: 'Database connections of this instance, by state (total, idle)',
        labelNames: ['state'],
        registers,
        collect () {
          const pool = sources.pool()
          this.set({ state: 'total' }, pool.totalCount)
          this.set({ state: 'idle' }, pool.idleCount)
        }
      }),
      new Gauge({ name: 'iupdate_db_pool_waiting', help: 'Queries waiting for a free database connection', registers, collect () { this.set(sources.pool().waitingCount) } }),
      new Gauge({ name: 'iupdate_repository_files', help: 'Files listed in the repository index', registers, collect () { this.set(sources.repository().files) } }),
      new Counter({
        name: 'iupdate_repository_scans_total',
        help: 'Program scans of the repository completed (at start, on change events and periodic rescans)',
        registers,
        collect () {
          const scans = sources.repository().scans
          if (scans > scansSeen) this.inc(scans - scansSeen)
          scansSeen = scans
        }
      }),
      new Gauge({
        name: 'iupdate_license_cache_lookups',
        help: 'Polls whose license facts came from memory (hit) or the database (miss), since start',
        labelNames: ['result'],
        registers,
        collect () {
          const cache = sources.licenseCache()
          this.set({ result: 'hit' }, cache.hits)
          this.set({ result: 'miss' }, cache.misses)
        }
      }),
      new Gauge({
        name: 'iupdate_rollout_percent',
        help: 'Share of PCs offered a version under release control',
        labelNames: ['program', 'version'],
        registers,
        collect () {
          this.reset()
          for (const r of sources.rollouts()) this.set({ program: r.program, version: r.version }, r.rollout)
        }
      }),
      new Gauge({
        name: 'iupdate_rollout_halted',
        help: '1 while the rollout of a version is halted',
        labelNames: ['program', 'version'],
        registers,
        collect () {
          this.reset()
          for (const r of sources.rollouts()) this.set({ program: r.program, version: r.version }, r.halted ? 1 : 0)
        }
      })
    ]
  }

  /** One HTTP answer; `route` is the route's pattern (never the path a client made up). */
  answered (method: string, route: string, status: number, seconds: number): void {
    this.requests.inc({ method, route, status })
    this.latency.observe({ method, route }, seconds)
  }

  polled (answers: readonly PollOutcome[]): void {
    for (const answer of answers) {
      this.polls.inc({ kind: answer.kind, reason: answer.reason ?? '' })
      if (answer.files.length > 0) this.links.inc(answer.files.length)
    }
  }

  downloadStarted (): void {
    this.inFlight.inc()
  }

  downloadEnded (): void {
    this.inFlight.dec()
  }

  bytesSent (bytes: number): void {
    this.bytes.inc(bytes)
  }

  get contentType (): string {
    return this.registry.contentType
  }

  async text (): Promise<string> {
    return await this.registry.metrics()
  }
}
