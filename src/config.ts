import { z } from 'zod'

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

const booleanFlag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
  .transform((value) => value === 'true' || value === '1' || value === 'yes')

const postgresUrl = z
  .string()
  .regex(/^postgres(ql)?:\/\/\S+$/, { message: 'must be a postgresql:// URL' })

const httpUrl = z
  .string()
  .regex(/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/, { message: 'must be an http:// or https:// URL without query' })
  .transform((value) => value.replace(/\/+$/, ''))

const port = z.coerce
  .number({ message: 'must be a number' })
  .int({ message: 'must be a whole number' })
  .min(0, { message: 'must be between 0 and 65535' })
  .max(65535, { message: 'must be between 0 and 65535' })

const positiveInt = z.coerce
  .number({ message: 'must be a number' })
  .int({ message: 'must be a whole number' })
  .positive({ message: 'must be greater than 0' })

const nonNegativeInt = z.coerce
  .number({ message: 'must be a number' })
  .int({ message: 'must be a whole number' })
  .min(0, { message: 'must be 0 or more' })

/**
 * Every setting the server reads from the environment. Later features add theirs here,
 * so that one look at this file tells an operator what can be configured.
 */
export const configSchema = z.object({
  PORT: port.default(8080),
  HOST: z.string().min(1).default('0.0.0.0'),
  DATABASE_URL: postgresUrl.optional(),
  FTP_ROOT: z.string().min(1).default('./ftp'),
  DATA_DIR: z.string().min(1).default('./data'),
  PUBLIC_URL: httpUrl.optional(),
  LOG_LEVEL: z.enum(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
  /** Apply pending migrations when the server starts (the Docker image runs `prisma migrate deploy` instead). */
  MIGRATE_ON_START: booleanFlag.default(true),
  /** Port of the embedded Postgres started when DATABASE_URL is not set. */
  EMBEDDED_PG_PORT: port.default(54329),
  /** Restarts in a row of an embedded Postgres that exited by itself; when they fail, /healthz answers 503. */
  EMBEDDED_PG_RESTARTS: nonNegativeInt.default(5),
  /** At shutdown, how long requests still running (a download) may go on before their connections are closed, in ms. */
  SHUTDOWN_GRACE_MS: nonNegativeInt.default(10_000),
  /** Requests per address per window on the public iupdate.php endpoint. */
  RATE_LIMIT_MAX: positiveInt.default(120),
  RATE_LIMIT_WINDOW_MS: positiveInt.default(60_000),
  /** Requests per address per window on /ftp/ (downloads; BITS resumes with many ranges, offices share one address). */
  DOWNLOAD_RATE_LIMIT_MAX: positiveInt.default(600),
  /** Client addresses the rate limit counts at once, per instance (memory stays bounded; clients over their limit are kept). */
  RATE_LIMIT_CLIENTS: positiveInt.default(100_000),
  /** Longest request target (path and query) accepted on the public endpoint, in bytes. */
  MAX_QUERY_BYTES: positiveInt.default(8192),
  /** Largest form body accepted by POST iupdate.php, in bytes. */
  MAX_FORM_BYTES: positiveInt.default(65_536),
  /** Seconds a form body on the public endpoint may take to arrive. */
  BODY_TIMEOUT_SECONDS: positiveInt.default(30),
  /** Seconds a message with attachments (multipart, f=sendmsg) may take to arrive. */
  MESSAGE_BODY_TIMEOUT_SECONDS: positiveInt.default(900),
  /** Seconds an admin upload (multipart files, a CSV import) may take to arrive; other admin bodies have BODY_TIMEOUT_SECONDS. */
  UPLOAD_TIMEOUT_SECONDS: positiveInt.default(3600),
  /** Size of the Postgres connection pool of this instance. */
  DB_POOL_MAX: positiveInt.default(10),
  /** Seconds a client is told to wait (Retry-After) while the database is unreachable. */
  RETRY_AFTER_SECONDS: positiveInt.default(30),
  /** A repository file must be unchanged this long (ms) before it is listed: it may still be uploading. */
  REPO_SETTLE_MS: z.coerce.number({ message: 'must be a number' }).int({ message: 'must be a whole number' }).min(0, { message: 'must be 0 or more' }).default(2_000),
  /** Full rescan of ftp/ every so many seconds, for changes file system events miss (NFS); 0 = never. */
  REPO_RESCAN_SECONDS: z.coerce.number({ message: 'must be a number' }).int({ message: 'must be a whole number' }).min(0, { message: 'must be 0 or more' }).default(300),
  /** Watch ftp/ with file system events (inotify) so changes show within a second. */
  REPO_WATCH: booleanFlag.default(true),
  /** Ed25519 private keys signing LICENSE strings, as a JWK set in JSON; the first signs. */
  SIGNING_KEYS: z.string().optional(),
  /** A file holding that JWK set. Neither given: DATA_DIR/signing-keys.json, generated on first start. */
  SIGNING_KEYS_FILE: z.string().optional(),
  /** Lifetime of a LICENSE string, in days. */
  LICENSE_TTL_DAYS: positiveInt.default(30),
  /** Secret (32+ characters) signing download links; instances serving the same clients share it. Unset: DATA_DIR/token-secret, generated. */
  TOKEN_SECRET: z.string().min(32, { message: 'must be at least 32 characters' }).optional(),
  /** Lifetime of a download link, in hours. */
  LINK_TTL_HOURS: positiveInt.default(72),
  /** How often each instance reloads programs and versions (release dates, yanked) from the database, in ms. */
  CATALOG_REFRESH_MS: positiveInt.default(2_000),
  /** How long an instance reuses a license it read (status, maintenance, seats), in ms; changes through other instances apply within this. */
  LICENSE_CACHE_MS: positiveInt.default(10_000),
  /** How often what clients report (version, serial, last contact) is written, in ms. */
  CONTACTS_FLUSH_MS: positiveInt.default(5_000),
  /** How often each instance runs the release control job (scheduled rollout steps, automatic halts), in ms. */
  ROLLOUT_JOB_INTERVAL_MS: positiveInt.default(60_000),
  /** A download started this long ago, neither delivered nor confirmed, counts as failed for an automatic halt, in minutes. */
  DOWNLOAD_STALL_MINUTES: positiveInt.default(60),
  /** How often expired download links are cleaned up, in minutes. */
  CLEANUP_INTERVAL_MINUTES: positiveInt.default(60),
  /** A bootstrap admin API token (24+ characters), for the first steps before `npm run admin -- token create`. */
  ADMIN_TOKEN: z.string().min(24, { message: 'must be at least 24 characters' }).optional(),
  /** Bearer token GET /metrics requires; unset: /metrics is open (keep it off the public network). */
  /** Time a webhook receiver has to answer one delivery, in seconds. */
  WEBHOOK_TIMEOUT_SECONDS: positiveInt.default(10),
  /** Retries of a delivery that failed, with exponential backoff from WEBHOOK_RETRY_DELAY_SECONDS. */
  WEBHOOK_RETRY_LIMIT: nonNegativeInt.default(12),
  WEBHOOK_RETRY_DELAY_SECONDS: positiveInt.default(10),
  /** Deliveries sent at once per instance. */
  WEBHOOK_CONCURRENCY: positiveInt.default(4),
  /** How often the events gathered are queued as deliveries, in ms. */
  WEBHOOK_FLUSH_MS: positiveInt.default(1_000),
  METRICS_TOKEN: z.string().min(16, { message: 'must be at least 16 characters' }).optional(),
  /** Largest file accepted by an admin upload or CSV import, in bytes (default 2 GiB). */
  UPLOAD_MAX_BYTES: positiveInt.default(2 * 1024 ** 3),
  /** Attachments per message from a client, at most. */
  MESSAGE_MAX_ATTACHMENTS: positiveInt.default(10),
  /** Size of one attachment, at most, in bytes (default 10 MiB). */
  MESSAGE_MAX_ATTACHMENT_BYTES: positiveInt.default(10 * 1024 * 1024),
  /** A message's attachments together, at most, in bytes (default 20 MiB). */
  MESSAGE_MAX_BYTES: positiveInt.default(20 * 1024 * 1024),
  /** Messages one PCID may send in 24 hours. */
  MESSAGE_MAX_PER_PCID_PER_DAY: positiveInt.default(50),
  /** Bytes of attachments one PCID may send in 24 hours (default 100 MiB). */
  MESSAGE_MAX_BYTES_PER_PCID_PER_DAY: positiveInt.default(100 * 1024 * 1024),
  /** Free space that must remain on the disk of DATA_DIR; below it attachments are refused (default 1 GiB). */
  MESSAGE_MIN_FREE_DISK_BYTES: z.coerce.number({ message: 'must be a number' }).int({ message: 'must be a whole number' }).min(0, { message: 'must be 0 or more' }).default(1024 ** 3),
  /** Secret (32+ characters) sealing the web console's session cookies; instances behind one load balancer share it. Unset: DATA_DIR/session-secret, generated. */
  SESSION_SECRET: z.string().min(32, { message: 'must be at least 32 characters' }).optional(),
  /** Lifetime of a web console session, in hours (docs/console.md). */
  SESSION_HOURS: positiveInt.default(12),
  /** Trust X-Forwarded-* from a reverse proxy in front of the server. */
  TRUST_PROXY: booleanFlag.default(false)
})

export type Config = z.infer<typeof configSchema>

export class ConfigError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'ConfigError'
  }
}

/**
 * Parses the environment once. Empty values count as unset, as docker compose passes
 * `VAR=` through for variables that are declared but not given.
 */
export function loadConfig (env: NodeJS.ProcessEnv = process.env): Config {
  const input: Record<string, string> = {}
  for (const key of Object.keys(configSchema.shape)) {
    const value = env[key]
    if (value !== undefined && value.trim() !== '') input[key] = value.trim()
  }
  const result = configSchema.safeParse(input)
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const name = String(issue.path[0])
      return `${name} ${issue.message} (got ${JSON.stringify(input[name])})`
    })
    throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`)
  }
  return result.data
}
