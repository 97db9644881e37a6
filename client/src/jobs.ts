import { createWriteStream } from 'node:fs'
import { copyFile, mkdir, rename, rm, stat, truncate, utimes } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { answerLines, charsetOf } from './answer.js'
import type { Connection } from './connection.js'
import { foldersOf, retryAt, type Context } from './context.js'
import { ClientError, messageOf, ServerError } from './errors.js'
import { NetworkError, open, readBody } from './http.js'
import { runInstallers } from './installers.js'
import { matchesLocal, sha256File } from './local-files.js'
import { destinationPath } from './places.js'
import type { Job, JobFile, State } from './state.js'

/**
 * The download jobs (the seed's BITS jobs): each file is fetched into the job's folder under
 * `<data>/downloads/<program>/`, resumed with `Range` (and `If-Range`) after an interruption
 * or a restart, checked against SIZE and SHA256 and confirmed with f=dlconfirm. When every
 * file is in, the job completes: the files are placed by DEST, a new version becomes the
 * program's version, and the RUN lines follow. What fails is tried again in an hour.
 */

/** A download link the server refused: expired, spent, or its file replaced (403, 410): the next poll renews it. */
class LinkRefused extends ClientError {
  constructor (readonly status: number, message: string) {
    super(message)
  }
}

export interface JobsResult {
  completed: string[]
  failed: string[]
}

/** Works on the jobs that are due (all of them with `force`), then sends confirmations still owed. */
export async function processJobs (context: Context, force = false): Promise<JobsResult> {
  const state = await context.store.read()
  const result: JobsResult = { completed: [], failed: [] }
  for (const job of Object.values(state.jobs)) {
    if (!force && job.nextAttemptAt !== undefined && Date.parse(job.nextAttemptAt) > Date.now()) continue
    if (await processJob(context, job)) result.completed.push(job.program)
    else result.failed.push(job.program)
  }
  await sendPendingConfirms(context)
  return result
}

export function jobFolder (context: Context, program: string): string {
  return join(context.settings.dataDir, 'downloads', program)
}

/** Applies a change to the job in the state, if it is still the same job. */
async function saveJob (context: Context, job: Job, change: (kept: Job, state: State) => void = () => {}): Promise<void> {
  await context.store.update((s) => {
    const kept = s.jobs[job.program]
    if (kept?.id !== job.id) return
    kept.files = job.files
    change(kept, s)
  })
}

async function processJob (context: Context, job: Job): Promise<boolean> {
  const connection = context.connection(job.host, job.ssl)
  const folder = jobFolder(context, job.program)
  try {
    for (const file of job.files) {
      if (file.state !== 'pending') continue
      await download(context, connection, job, file, folder)
      file.state = 'downloaded'
      await saveJob(context, job)
    }
    await complete(context, job, folder)
    return true
  } catch (err) {
    const next = retryAt(context)
    context.log.write(`${job.program}: ${messageOf(err)}; trying again at ${next}`)
    await saveJob(context, job, (kept, s) => {
      kept.attempts++
      kept.lastError = messageOf(err)
      kept.nextAttemptAt = next
      // Dead links are renewed by a poll: the server is asked again then, not a day later.
      const host = s.hosts[job.host]
      if (err instanceof LinkRefused && host !== undefined && (host.nextCheckAt === undefined || host.nextCheckAt > next)) host.nextCheckAt = next
    })
    return false
  }
}

async function download (context: Context, connection: Connection, job: Job, file: JobFile, folder: string): Promise<void> {
  const part = join(folder, file.part)
  await mkdir(folder, { recursive: true })
  let have = (await stat(part).catch(() => undefined))?.size ?? 0
  if (file.size !== undefined && have > file.size) {
    await truncate(part, 0)
    have = 0
  }
  if (file.size === undefined || have < file.size) {
    const headers: Record<string, string> = have > 0 ? { range: `bytes=${have}-`, ...(file.etag === undefined ? {} : { 'if-range': file.etag }) } : {}
    const res = await open(file.url, { headers, timeoutMs: context.settings.requestTimeoutMs })
    const status = res.statusCode ?? 0
    if (status !== 200 && status !== 206) {
      // An ERROR= answer (docs/protocol.md §7): 410 is an expired or spent link, which the next poll renews.
      let failure: unknown
      try {
        answerLines(status, await readBody(res, new URL(file.url).host), charsetOf(res.headers['content-type']))
      } catch (err) {
        failure = err
      }
      await report(connection, file, `${file.file}: HTTP ${status}`)
      throw new LinkRefused(status, `${file.file}: ${messageOf(failure ?? `HTTP ${status}`)}`)
    }
    const resumed = status === 206
    if (resumed && Number(/^bytes (\d+)-/.exec(String(res.headers['content-range']))?.[1]) !== have) {
      res.destroy()
      throw new ClientError(`${file.file}: the server resumed at another byte than ${have}`)
    }
    if (typeof res.headers.etag === 'string' && res.headers.etag !== file.etag) {
      file.etag = res.headers.etag
      await saveJob(context, job)
    }
    context.log.write(`${job.program}: ${resumed ? `resuming ${file.file} at byte ${have}` : `downloading ${file.file}`}${file.size === undefined ? '' : ` (${file.size} bytes)`}`)
    try {
      await pipeline(res, createWriteStream(part, { flags: resumed ? 'a' : 'w' }))
    } catch (err) {
      const got = (await stat(part).catch(() => undefined))?.size ?? 0
      throw new NetworkError(`${file.file}: the download stopped at byte ${got} (${messageOf(err)}); it resumes from there`, { cause: err })
    }
  }
  const size = (await stat(part)).size
  if (file.size !== undefined && size < file.size) throw new NetworkError(`${file.file}: the download stopped at byte ${size} of ${file.size}; it resumes from there`)
  let wrong: string | undefined
  if (file.size !== undefined && size !== file.size) wrong = `${size} bytes instead of ${file.size}`
  else if (file.sha256 !== undefined && await sha256File(part) !== file.sha256) wrong = 'its SHA-256 is not the listed one'
  if (wrong !== undefined) {
    await rm(part, { force: true })
    await report(connection, file, `${file.file}: ${wrong}`)
    throw new ClientError(`${file.file}: downloaded, but ${wrong}; it is fetched again`)
  }
  context.log.write(`${job.program}: ${file.file} downloaded${file.sha256 === undefined ? '' : ', SHA-256 verified'}`)
  await confirm(context, connection, file, true)
}

function tokenOf (file: JobFile): string {
  return new URL(file.url).searchParams.get('t') ?? ''
}

/** Tells the server that a download failed (f=dlconfirm&ok=0); best effort: the failure itself is what is logged. */
async function report (connection: Connection, file: JobFile, error: string): Promise<void> {
  await connection.dlconfirm(tokenOf(file), false, error).catch(() => {})
}

/** f=dlconfirm; one that cannot be sent now is kept and sent later. */
async function confirm (context: Context, connection: Connection, file: JobFile, ok: boolean): Promise<void> {
  try {
    await connection.dlconfirm(tokenOf(file), ok)
  } catch (err) {
    if (err instanceof ServerError && err.status < 500) return
    await context.store.update((s) => { s.confirms.push({ host: connection.host, ssl: connection.ssl, token: tokenOf(file), ok, since: new Date().toISOString() }) })
  }
}

/** Confirmations kept for a server that could not be reached; dropped after the link's life (72 hours). */
async function sendPendingConfirms (context: Context): Promise<void> {
  const { confirms } = await context.store.read()
  for (const pending of confirms) {
    let done = Date.now() - Date.parse(pending.since) > 72 * 3_600_000
    if (!done) {
      try {
        await context.connection(pending.host, pending.ssl).dlconfirm(pending.token, pending.ok, pending.error)
        done = true
      } catch (err) {
        done = err instanceof ServerError && err.status < 500
      }
    }
    if (done) await context.store.update((s) => { s.confirms = s.confirms.filter((c) => c.token !== pending.token) })
  }
}

/** The seed's BITS completion: places every file, then moves the program to the new version and runs the RUN lines. */
async function complete (context: Context, job: Job, folder: string): Promise<void> {
  const entry = (await context.store.read()).programs[job.program]
  if (entry === undefined) {
    await dropJob(context, job)
    return
  }
  const folders = foldersOf(context, entry)
  for (const file of job.files) {
    if (file.state !== 'downloaded') continue
    const target = destinationPath(file.dest, file.file, folders, context.rules)
    await place(join(folder, file.part), target, file)
    file.state = 'placed'
    await saveJob(context, job)
    context.log.write(`${job.program}: ${file.file} placed in ${dirname(target)}`)
  }
  await saveJob(context, job, (_kept, s) => {
    delete s.jobs[job.program]
    const program = s.programs[job.program]
    if (job.kind === 'version' && program !== undefined) {
      program.version = job.version
      delete program.newer
    }
  })
  await rm(folder, { recursive: true, force: true })
  context.log.write(job.kind === 'version' ? `${job.program}: version ${job.version} is in place` : `${job.program}: updates of ${job.version} are in place`)
  await runInstallers(context, job.program, job.run, folders)
}

/** Moves a verified download to its place, with the listed DATE as its modification time (checkServers compares it). */
async function place (part: string, target: string, file: JobFile): Promise<void> {
  await mkdir(dirname(target), { recursive: true })
  try {
    await rename(part, target)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    // Placed already by an attempt that stopped before it was recorded.
    if (code === 'ENOENT' && await matchesLocal(target, file)) return
    if (code !== 'EXDEV') throw new ClientError(`${file.file} cannot be placed in ${dirname(target)}: ${messageOf(err)}`)
    await copyFile(part, target)
    await rm(part, { force: true })
  }
  const date = new Date(file.date)
  if (!Number.isNaN(date.getTime())) await utimes(target, new Date(), date)
}

export async function dropJob (context: Context, job: Pick<Job, 'program'>): Promise<void> {
  await context.store.update((s) => { delete s.jobs[job.program] })
  await rm(jobFolder(context, job.program), { recursive: true, force: true })
}
