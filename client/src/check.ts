import { createHash, randomBytes } from 'node:crypto'
import { verifyLicense } from '../../src/license/client.js'
import { compareVersions, parseVersion } from '../../src/storage/version.js'
import type { ListedFile, ProgramListing } from './answer.js'
import { isServerError, type Connection } from './connection.js'
import { foldersOf, retryAt, type Context } from './context.js'
import { AnswerRefused, messageOf } from './errors.js'
import { matchesLocal } from './local-files.js'
import { destinationPath } from './places.js'
import type { Job, JobFile, ProgramEntry } from './state.js'

/**
 * One poll of the servers (the seed's "Service examines if a newer EXE version is available"):
 * for each program, a newer version with a LICENSE → a job for its files; a newer version
 * without one → recorded, with the newveravail page to show; else the update files that the
 * local copies do not match → a job. Jobs are the seed's BITS jobs, one per program (jobs.ts).
 */

/** The server answers at most 32 programs per request (docs/protocol.md §3). */
const PROGRAMS_PER_REQUEST = 32

export interface CheckResult {
  /** Servers that could not be asked, or whose answer was refused. */
  failed: string[]
}

/** Asks every server (or those of `hosts`) about its programs. */
export async function checkServers (context: Context, hosts?: readonly string[]): Promise<CheckResult> {
  const state = await context.store.read()
  const groups = new Map<string, ProgramEntry[]>()
  for (const entry of Object.values(state.programs)) {
    if (hosts !== undefined && !hosts.includes(entry.host)) continue
    const key = `${entry.ssl ? 'https' : 'http'}://${entry.host}`
    groups.set(key, [...(groups.get(key) ?? []), entry])
  }
  const failed: string[] = []
  for (const entries of groups.values()) {
    const { host, ssl } = entries[0]
    try {
      for (let i = 0; i < entries.length; i += PROGRAMS_PER_REQUEST) await checkPrograms(context, context.connection(host, ssl), entries.slice(i, i + PROGRAMS_PER_REQUEST))
      const now = Date.now()
      await context.store.update((s) => {
        s.hosts[host] = { ...s.hosts[host], lastCheckAt: new Date(now).toISOString(), nextCheckAt: new Date(now + context.settings.pollingPeriodMs).toISOString(), lastError: undefined }
      })
    } catch (err) {
      failed.push(host)
      const next = retryAt(context)
      context.log.write(`check of ${host} failed: ${messageOf(err)}; next try at ${next}`)
      await context.store.update((s) => { s.hosts[host] = { ...s.hosts[host], nextCheckAt: next, lastError: messageOf(err) } })
    }
  }
  return { failed }
}

/** This server's PCID for this PC, asked for once (docs/protocol.md §2) and kept per host. */
export async function ensurePcid (context: Context, connection: Connection, program: string, renew = false): Promise<string> {
  const known = (await context.store.read()).hosts[connection.host]?.pcid
  if (known !== undefined && !renew) return known
  const pcid = await connection.getpcid(program)
  const kept = await context.store.update((s) => {
    const current = s.hosts[connection.host]?.pcid
    // Another process (the service, a command beside it) may have asked at the same time: keep its PCID.
    if (current !== undefined && current !== known) return current
    s.hosts[connection.host] = { ...s.hosts[connection.host], pcid }
    return pcid
  })
  context.log.write(`PCID ${kept} for ${connection.host}`)
  return kept
}

async function checkPrograms (context: Context, connection: Connection, entries: ProgramEntry[]): Promise<void> {
  const queries = entries.map((e) => ({ program: e.name, version: e.version, serial: e.serial }))
  let pcid = await ensurePcid(context, connection, entries[0].name)
  let listing
  try {
    listing = await connection.qrymaxver(pcid, queries)
  } catch (err) {
    if (!isServerError(err, 'UNKNOWN_PCID')) throw err
    context.log.write(`${connection.host} does not know PCID ${pcid}; asking for a new one`)
    pcid = await ensurePcid(context, connection, entries[0].name, true)
    listing = await connection.qrymaxver(pcid, queries)
  }
  for (const [i, entry] of entries.entries()) {
    try {
      await decide(context, connection, entry, listing.programs[i], pcid)
    } catch (err) {
      context.log.write(`${entry.name}: ${messageOf(err)}`)
    }
  }
}

async function decide (context: Context, connection: Connection, entry: ProgramEntry, answer: ProgramListing, pcid: string): Promise<void> {
  const { name } = entry
  if (answer.program !== name) throw new AnswerRefused(`the answer names ${answer.program} instead of ${name}`)
  const offered = parseVersion(answer.ok)
  const current = parseVersion(entry.version)
  if (offered === null) {
    context.log.write(`${name}: the server offers nothing (${answer.reason ?? 'no version'})`)
    return
  }
  if (current === null || compareVersions(offered, current) > 0) {
    if (answer.license === '') {
      const url = connection.url(`f=newveravail&prog=${encodeURIComponent(name)}&version=${encodeURIComponent(entry.version)}`)
      await context.store.update((s) => {
        const program = s.programs[name]
        if (program !== undefined && program.newer?.version !== answer.ok) program.newer = { version: answer.ok, url, since: new Date().toISOString() }
      })
      context.log.write(`${name}: version ${answer.ok} is available (${answer.reason ?? 'not licensed'}): ${url}`)
      return
    }
    await checkLicense(context, connection, entry, answer, pcid, answer.ok)
    await plan(context, entry, 'version', answer.ok, answer)
    return
  }
  await context.store.update((s) => { if (s.programs[name] !== undefined) delete s.programs[name].newer })
  if (answer.license !== '') await checkLicense(context, connection, entry, answer, pcid)
  if (answer.files.length > 0) await plan(context, entry, 'update', entry.version, answer)
  else context.log.write(`${name} ${entry.version}: nothing new`)
}

/** The LICENSE string, verified offline with the server's key set: for this program and this PC (and, for a new version, that version). */
async function checkLicense (context: Context, connection: Connection, entry: ProgramEntry, answer: ProgramListing, pcid: string, version?: string): Promise<void> {
  const claims = await verifyLicense(answer.license, await connection.keys(), { program: entry.name, pcid })
  if (version !== undefined && claims.ver !== version) throw new AnswerRefused(`the LICENSE string is for version ${claims.ver}, not ${version}`)
  await context.store.update((s) => {
    const program = s.programs[entry.name]
    if (program !== undefined) program.license = { version: claims.ver, expires: new Date(claims.exp * 1000).toISOString(), maintenanceEnd: claims.mnt }
  })
}

/** The partial download's name: the same for the same file and content, so a job renewed with new links resumes it. */
function partName (file: ListedFile): string {
  return createHash('sha256').update(`${file.dest}\n${file.file}\n${file.sha256 ?? ''}\n${file.size ?? ''}`).digest('hex').slice(0, 24) + '.part'
}

/** Creates or renews the program's job for these files; files the local copy already matches are not fetched again. */
async function plan (context: Context, entry: ProgramEntry, kind: Job['kind'], version: string, answer: ProgramListing): Promise<void> {
  const folders = foldersOf(context, entry)
  const files: JobFile[] = []
  for (const listed of answer.files) {
    const url = new URL(listed.url)
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.searchParams.get('t') === null) throw new AnswerRefused(`${listed.file}: not a download link`)
    const local = destinationPath(listed.dest, listed.file, folders, context.rules)
    const have = await matchesLocal(local, listed)
    // An update already in place is skipped; a new version's files stay in its job (placed), which completes it.
    if (have && kind === 'update') continue
    files.push({ ...listed, part: partName(listed), state: have ? 'placed' : 'pending' })
  }
  const name = entry.name
  if (files.length === 0) {
    await context.store.update((s) => { if (s.jobs[name]?.kind === 'update') delete s.jobs[name] })
    context.log.write(`${name} ${version}: the update files are in place`)
    return
  }
  const renewed = await context.store.update((s) => {
    const existing = s.jobs[name]
    if (existing !== undefined && existing.kind === kind && existing.version === version) {
      // The seed adds files to a job that exists: it keeps what was fetched and takes the new links.
      existing.files = files.map((file) => {
        const before = existing.files.find((f) => f.part === file.part)
        return before === undefined || before.state === 'pending' ? { ...file, etag: before?.etag } : before
      })
      existing.run = answer.run
      existing.nextAttemptAt = undefined
      return true
    }
    s.jobs[name] = { id: randomBytes(8).toString('hex'), program: name, kind, version, host: entry.host, ssl: entry.ssl, files, run: answer.run, createdAt: new Date().toISOString(), attempts: 0 }
    return false
  })
  const pending = files.filter((f) => f.state === 'pending').length
  context.log.write(`${name}: ${renewed ? 'job renewed' : 'new job'} for ${kind === 'version' ? `version ${version}` : `updates of ${version}`}, ${pending} of ${answer.files.length} listed file(s) to download`)
}
