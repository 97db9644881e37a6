import type { PrismaClient } from '../db/prisma.js'
import { isProgramName } from '../catalog/program-name.js'
import { latestRelease, programExists, type Catalog, type Release } from '../catalog/catalog.js'
import type { TokenSigner } from '../downloads/tokens.js'
import type { Contacts } from '../license/contacts.js'
import { decideEntitlement, type Entitlement, type LicenseReason, type SeatState } from '../license/entitlement.js'
import type { LicenseCache } from '../license/cache.js'
import type { LicenseForPcid } from '../license/licenses.js'
import { MAX_KEY_INPUT, validateKey, type KeyCheck } from '../license/key.js'
import { bindSeat } from '../license/seats.js'
import type { LicenseSigner } from '../license/signing.js'
import type { Repository } from '../storage/repository.js'
import type { RepoFile } from '../storage/scan.js'
import { compareVersions, parseVersion, type Version } from '../storage/version.js'

/**
 * f=qrymaxver, the decision of PROTOCOL.md §3 for each program of a request.
 * Nothing here writes to the database per listed file: links are signed tokens, contacts
 * are batched, and only taking a new seat is a write.
 */
export const MAX_PROGRAMS = 32

export type Reason = LicenseReason | 'UNKNOWN_PROGRAM' | 'BAD_VERSION'
export type Kind = 'version' | 'update' | 'none'

export interface ListedFile {
  file: RepoFile
  url: string
}

export interface ProgramAnswer {
  program: string
  /** OK[i]: the highest offered version, or empty. */
  ok: string
  /** LICENSE[i]: a signed LICENSE string, or empty. */
  license: string
  kind: Kind
  reason: Reason | undefined
  files: ListedFile[]
  run: readonly string[]
}

export interface ProgramQuery {
  program: string | undefined
  version: string | undefined
  serial: string | undefined
}

export interface QueryDeps {
  prisma: PrismaClient
  repository: Repository
  catalog: Catalog
  signer: LicenseSigner
  tokens: TokenSigner
  contacts: Contacts
  licenses: LicenseCache
  linkTtlMs: number
  now?: Date
}

/** A program of the request with its serial trimmed and checked (once: it is needed twice). */
interface CheckedQuery extends ProgramQuery {
  serial: string | undefined
  check: KeyCheck | undefined
}

/**
 * The answers for the programs of one request, in order. Without a promise when everything
 * needed is in memory (the PCID's licenses, its LICENSE strings): a poll with nothing new
 * usually is. Reading a license, taking a seat or signing a new LICENSE string waits, and the
 * programs after it are answered once it is done, one after another as before.
 */
export function answerQuery (deps: QueryDeps, pcid: string, queries: ProgramQuery[], linkBase: LinkBase): ProgramAnswer[] | Promise<ProgramAnswer[]> {
  const now = deps.now ?? new Date()
  const checked: CheckedQuery[] = queries.map((query) => {
    const serial = query.serial?.trim()
    return serial === undefined || serial === ''
      ? { program: query.program, version: query.version, serial: undefined, check: undefined }
      : { program: query.program, version: query.version, serial, check: checkKey(serial) }
  })
  // A plain loop: flatMap and a Set were a measurable part of a poll (DEVELOPERS.md).
  const keys: string[] = []
  for (const { check } of checked) if (check?.valid === true && !keys.includes(check.key)) keys.push(check.key)
  // Only when some program names a well-formed serial: an unlicensed poll reads nothing.
  const licenses = keys.length === 0 ? new Map<string, LicenseForPcid>() : deps.licenses.cached(keys, pcid)
  if (licenses === undefined) return deps.licenses.lookup(keys, pcid).then((read) => answerFrom(deps, pcid, checked, read, now, linkBase, 0, []))
  return answerFrom(deps, pcid, checked, licenses, now, linkBase, 0, [])
}

/**
 * validateKey, remembered: an installed program sends the same serial with every poll, and
 * checking it (29 symbols, a CRC) took more time than finding it again. The answer depends
 * on the text alone. Bounded: only texts validateKey reads (MAX_KEY_INPUT characters at most),
 * emptied when full. The checks handed out are shared, read only.
 */
const keyChecks = new Map<string, KeyCheck>()
const KEPT_KEY_CHECKS = 50_000

export function checkKey (serial: string): KeyCheck {
  if (serial.length > MAX_KEY_INPUT) return validateKey(serial)
  let check = keyChecks.get(serial)
  if (check === undefined) {
    check = validateKey(serial)
    if (keyChecks.size >= KEPT_KEY_CHECKS) keyChecks.clear()
    keyChecks.set(serial, check)
  }
  return check
}

/**
 * Base of download URLs, without a trailing slash (`https://updates.example.com`): asked for
 * only when a link is built, so a poll with nothing to fetch never works it out. May throw
 * (a Host header that names no host).
 */
export type LinkBase = () => string

/** Answers the programs from index `from` on into `answers`, waiting where one has to. */
function answerFrom (deps: QueryDeps, pcid: string, checked: CheckedQuery[], licenses: Map<string, LicenseForPcid>, now: Date, linkBase: LinkBase, from: number, answers: ProgramAnswer[]): ProgramAnswer[] | Promise<ProgramAnswer[]> {
  for (let i = from; i < checked.length; i++) {
    const answer = answerOne(deps, pcid, checked[i], licenses, now, linkBase)
    if (answer instanceof Promise) {
      return answer.then((done) => {
        answers.push(done)
        return answerFrom(deps, pcid, checked, licenses, now, linkBase, i + 1, answers)
      })
    }
    answers.push(answer)
  }
  return answers
}

function answerOne (deps: QueryDeps, pcid: string, query: CheckedQuery, licenses: Map<string, LicenseForPcid>, now: Date, linkBase: LinkBase): ProgramAnswer | Promise<ProgramAnswer> {
  const program = query.program?.trim() ?? ''
  const answer: ProgramAnswer = { program, ok: '', license: '', kind: 'none', reason: undefined, files: [], run: [] }
  if (!isProgramName(program) || !programExists(deps.repository, deps.catalog, program)) {
    answer.reason = 'UNKNOWN_PROGRAM'
    return answer
  }
  const release = latestRelease(deps.repository, deps.catalog, program)
  answer.ok = release?.folder.name ?? ''
  // A parsed version has no leading zeros or empty parts, so its text is already canonical.
  const versionText = query.version?.trim() ?? ''
  const current = parseVersion(versionText)
  if (current === null) {
    answer.reason = 'BAD_VERSION'
    return answer
  }
  const { serial, check } = query
  const license = check?.valid === true ? licenses.get(check.key) : undefined
  deps.contacts.record({ pcid, program, version: versionText, serial: check?.valid === true ? check.key : serial?.slice(0, 64) ?? null })
  const seat: SeatState = license === undefined ? 'free' : license.bound ? 'bound' : license.used < license.seatLimit ? 'free' : 'full'

  const newer = release !== undefined && compareVersions(release.folder.version, current) > 0 ? release : undefined
  const decision = decideEntitlement({ serial, program, license, seat, releasedAt: newer?.releasedAt, check })
  const offer: Offer = { answer, pcid, versionText, current, newer, license, serial: check?.valid === true ? check.key : serial, linkBase }
  if (!decision.entitled || !decision.bindSeat || license === undefined) return listFiles(deps, offer, decision, now)
  return bindSeat(deps.prisma, license.id, pcid).then((bound) => {
    if (bound === 'bound' || bound === 'already') deps.licenses.seatTaken(license.key, pcid)
    else deps.licenses.evict(license.key)
    if (bound === 'full') return listFiles(deps, offer, { entitled: false, reason: 'SEAT_LIMIT' }, now)
    if (bound === 'gone') return listFiles(deps, offer, { entitled: false, reason: 'LICENSE_UNKNOWN' }, now)
    return listFiles(deps, offer, decision, now)
  })
}

/** What answerOne decided about a program, for listFiles. */
interface Offer {
  answer: ProgramAnswer
  pcid: string
  versionText: string
  current: Version
  /** The release offered when it is newer than the client's version. */
  newer: Release | undefined
  license: LicenseForPcid | undefined
  /** The serial as it names its own update folder: the canonical key when it is one. */
  serial: string | undefined
  linkBase: LinkBase
}

/** The files of the offer (PROTOCOL.md §3), with the LICENSE string and links when entitled. */
function listFiles (deps: QueryDeps, offer: Offer, decision: Entitlement, now: Date): ProgramAnswer | Promise<ProgramAnswer> {
  const { answer, pcid, newer, license } = offer
  const program = answer.program
  let files: RepoFile[] = []
  if (newer !== undefined) {
    answer.kind = 'version'
    if (decision.entitled) {
      files = [...newer.folder.files]
      answer.run = deps.repository.program(program)?.install ?? []
    }
  } else {
    const updates = deps.repository.updates(program, offer.current, offer.serial)
    const available = [...(updates.part?.files ?? []), ...(updates.serial?.files ?? [])]
    answer.kind = available.length > 0 ? 'update' : 'none'
    if (decision.entitled && available.length > 0) {
      files = available
      answer.run = updates.install
    }
  }

  if (!decision.entitled || license === undefined) {
    answer.reason = decision.entitled ? 'LICENSE_UNKNOWN' : decision.reason
    return answer
  }
  const claims = { prog: program, sub: license.key, pcid, ver: newer?.folder.name ?? offer.versionText, mnt: license.maintenanceEndIso }
  const signed = deps.signer.reused(claims, now)
  if (signed !== undefined) return withLinks(deps, answer, signed, files, offer, license, now)
  return deps.signer.issue(claims, now).then((fresh) => withLinks(deps, answer, fresh, files, offer, license, now))
}

/** The answer with its LICENSE string and a link to each file. */
function withLinks (deps: QueryDeps, answer: ProgramAnswer, license: string, files: RepoFile[], offer: Offer, licensed: LicenseForPcid, now: Date): ProgramAnswer {
  answer.license = license
  if (files.length === 0) return answer
  const base = offer.linkBase()
  const tokens = deps.tokens.issue({ pcid: offer.pcid, licenseId: licensed.id, expiresAt: new Date(now.getTime() + deps.linkTtlMs) }, files)
  answer.files = files.map((file, j) => ({ file, url: `${base}/ftp/${urlPath(file)}?t=${tokens[j]}` }))
  return answer
}
const urlPaths = new WeakMap<RepoFile, string>()

/** A listed file's path as it appears in its link, percent-encoded; the same for every listing of it. */
function urlPath (file: RepoFile): string {
  let path = urlPaths.get(file)
  if (path === undefined) {
    path = file.path.split('/').map(encodeURIComponent).join('/')
    urlPaths.set(file, path)
  }
  return path
}
