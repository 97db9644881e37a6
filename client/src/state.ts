import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import lockfile from 'proper-lockfile'
import type { ListedFile } from './answer.js'
import { ClientError } from './errors.js'

/**
 * What the client keeps in its data folder (`state.json`): the programs registered with
 * `add`, a PCID per server (the seed keeps them in the registry, per host), the download jobs
 * (the seed's BITS jobs, one per program) and confirmations still to be sent. Written whole,
 * through a temporary file and a rename, under a lock (`state.lock`), so that the service
 * and a command run beside it do not lose each other's changes.
 */
export interface ProgramEntry {
  name: string
  version: string
  /** The ini's Host (`name[:port]`, lower case) and SSL. */
  host: string
  ssl: boolean
  /** The ini's SN; empty: an unlicensed install. */
  serial: string
  /** The ini's LocalPath: `%PROG`. */
  localPath: string
  addedAt: string
  /** A newer version this serial is not entitled to (the seed's new*.xml), with its newveravail page. */
  newer?: { version: string, url: string, since: string }
  /** The claims of the last LICENSE string that verified. */
  license?: { version: string, expires: string, maintenanceEnd: string | null }
}

export interface HostEntry {
  pcid?: string
  lastCheckAt?: string
  /** When the service asks this server next (a failed poll: in an hour). */
  nextCheckAt?: string
  lastError?: string
}

export type FileState = 'pending' | 'downloaded' | 'placed'

/** A listed file (URL, FILE, DEST, DATE, SIZE, SHA256) as its job keeps it. */
export interface JobFile extends ListedFile {
  /** The partial download's name in the job's folder (stable for the same file and content). */
  part: string
  /** The ETag of the first response, sent as If-Range when resuming. */
  etag?: string
  state: FileState
}

export interface Job {
  /** Tells a job from the one that replaced it while it was being worked on. */
  id: string
  program: string
  /** `version`: a new version's files (the program moves to `version` when they are placed); `update`: update files. */
  kind: 'version' | 'update'
  version: string
  host: string
  ssl: boolean
  files: JobFile[]
  /** The RUN lines (@install.txt) to execute when every file is placed. */
  run: string[]
  createdAt: string
  attempts: number
  nextAttemptAt?: string
  lastError?: string
}

/** A `f=dlconfirm` that could not be sent yet. */
export interface PendingConfirm {
  host: string
  ssl: boolean
  token: string
  ok: boolean
  error?: string
  since: string
}

/** A question from the vendor (f=getmsg): the server hands each out once, so it is kept here until answered. */
export interface Question {
  id: string
  host: string
  program: string
  date: string
  subject: string
  text: string
  receivedAt: string
  answeredAt?: string
  answer?: string
}

export interface State {
  programs: Record<string, ProgramEntry>
  hosts: Record<string, HostEntry>
  jobs: Record<string, Job>
  confirms: PendingConfirm[]
  questions: Question[]
  /** Until then the service polls every burstIntervalMs (`check --hour`). */
  burstUntil?: string
}

export const STATE_FILE = 'state.json'

function emptyState (): State {
  return { programs: {}, hosts: {}, jobs: {}, confirms: [], questions: [] }
}

export class Store {
  readonly file: string

  constructor (readonly dir: string) {
    this.file = join(dir, STATE_FILE)
  }

  async read (): Promise<State> {
    let text: string
    try {
      text = await readFile(this.file, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyState()
      throw new ClientError(`${this.file} cannot be read: ${(err as Error).message}`)
    }
    let parsed: Partial<State>
    try {
      parsed = JSON.parse(text) as Partial<State>
    } catch {
      throw new ClientError(`${this.file} is damaged (not JSON): move it away to start afresh`)
    }
    return { ...emptyState(), ...parsed }
  }

  /** Reads the state, lets `change` modify it, writes it back: all under the lock. */
  async update<T>(change: (state: State) => T | Promise<T>): Promise<T> {
    await mkdir(this.dir, { recursive: true })
    const release = await lockfile.lock(this.dir, {
      lockfilePath: join(this.dir, 'state.lock'),
      realpath: false,
      stale: 15_000,
      retries: { retries: 100, minTimeout: 20, maxTimeout: 250 }
    }).catch((err: Error) => { throw new ClientError(`the state in ${this.dir} is locked by another process: ${err.message}`) })
    try {
      const state = await this.read()
      const result = await change(state)
      const temporary = `${this.file}.${process.pid}.tmp`
      await writeFile(temporary, JSON.stringify(state, null, 2) + '\n')
      await rename(temporary, this.file)
      return result
    } finally {
      await release()
    }
  }
}
