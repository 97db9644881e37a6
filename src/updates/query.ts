import type { PrismaClient } from '../db/prisma.js'
import { latestRelease, programExists, type Catalog } from '../catalog/catalog.js'
import type { TokenSigner } from '../downloads/tokens.js'
import type { Contacts } from '../license/contacts.js'
import { decideEntitlement, type LicenseReason, type SeatState } from '../license/entitlement.js'
import type { LicenseCache } from '../license/cache.js'
import type { LicenseForPcid } from '../license/licenses.js'
import { validateKey, type KeyCheck } from '../license/key.js'
import { bindSeat } from '../license/seats.js'
import type { LicenseSigner } from '../license/signing.js'
import type { Repository } from '../storage/repository.js'
import type { RepoFile } from '../storage/scan.js'
import { compareVersions, parseVersion } from '../storage/version.js'

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
  /** Base of download URLs, without a trailing slash: `https://updates.example.com`. */
  baseUrl: string
  linkTtlMs: number
  now?: Date
}

const PROGRAM_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

/** A program of the request with its serial trimmed and checked (once: it is needed twice). */
interface CheckedQuery extends ProgramQuery {
  serial: string | undefined
  check: KeyCheck | undefined
}

export async function answerQuery (deps: QueryDeps, pcid: string, queries: ProgramQuery[]): Promise<ProgramAnswer[]> {
  const now = deps.now ?? new Date()
  const checked: CheckedQuery[] = queries.map((query) => {
    const serial = query.serial?.trim()
    return serial === undefined || serial === ''
      ? { program: query.program, version: query.version, serial: undefined, check: undefined }
      : { program: query.program, version: query.version, serial, check: validateKey(serial) }
  })
  // A plain loop: flatMap and a Set were a measurable part of a poll (DEVELOPERS.md).
  const keys: string[] = []
  for (const { check } of checked) if (check?.valid === true && !keys.includes(check.key)) keys.push(check.key)
  // Only when some program names a well-formed serial: an unlicensed poll reads nothing.
  const licenses = keys.length === 0 ? new Map<string, LicenseForPcid>() : deps.licenses.cached(keys, pcid) ?? await deps.licenses.lookup(keys, pcid)
  const answers: ProgramAnswer[] = []
  for (const query of checked) answers.push(await answerOne(deps, pcid, query, licenses, now))
  return answers
}

async function answerOne (deps: QueryDeps, pcid: string, query: CheckedQuery, licenses: Map<string, LicenseForPcid>, now: Date): Promise<ProgramAnswer> {
  const program = query.program?.trim() ?? ''
  const answer: ProgramAnswer = { program, ok: '', license: '', kind: 'none', reason: undefined, files: [], run: [] }
  if (!PROGRAM_NAME.test(program) || !programExists(deps.repository, deps.catalog, program)) {
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

  const newer = release !== undefined && compareVersions(release.folder.version, current) > 0
  let decision = decideEntitlement({ serial, program, license, seat, releasedAt: newer ? release.releasedAt : undefined, check })
  if (decision.entitled && decision.bindSeat && license !== undefined) {
    const bound = await bindSeat(deps.prisma, license.id, pcid)
    if (bound === 'bound' || bound === 'already') deps.licenses.seatTaken(license.key, pcid)
    else deps.licenses.evict(license.key)
    if (bound === 'full') decision = { entitled: false, reason: 'SEAT_LIMIT' }
    if (bound === 'gone') decision = { entitled: false, reason: 'LICENSE_UNKNOWN' }
  }

  let files: RepoFile[] = []
  if (newer) {
    answer.kind = 'version'
    if (decision.entitled) {
      files = [...release.folder.files]
      answer.run = deps.repository.program(program)?.install ?? []
    }
  } else {
    const updates = deps.repository.updates(program, current, check?.valid === true ? check.key : serial)
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
  const version = newer ? release.folder.name : versionText
  const claims = { prog: program, sub: license.key, pcid, ver: version, mnt: license.maintenanceEnd?.toISOString() ?? null }
  answer.license = deps.signer.reused(claims, now) ?? await deps.signer.issue(claims, now)
  const tokens = deps.tokens.issue({ pcid, licenseId: license.id, expiresAt: new Date(now.getTime() + deps.linkTtlMs) }, files)
  answer.files = files.map((file, j) => ({ file, url: `${deps.baseUrl}/ftp/${urlPath(file)}?t=${tokens[j]}` }))
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
