import { offeredRelease, programExists, type Catalog, type Release } from '../catalog/catalog.js'
import type { Channel } from '../catalog/release-control.js'
import { isProgramName } from '../catalog/program-name.js'
import type { LinkTokens } from '../downloads/link-tokens.js'
import type { Contacts } from '../license/contacts.js'
import { decideEntitlement, type Entitlement, type LicenseReason, type SeatState } from '../license/entitlement.js'
import type { LicenseCache, PollFacts } from '../license/cache.js'
import type { LicenseForPcid } from '../license/licenses.js'
import { validateKey, type KeyCheck } from '../license/key.js'
import { isLegacySerial } from '../license/serial.js'
import type { LicenseSigner } from '../license/signing.js'
import type { Repository } from '../storage/repository.js'
import type { EventSink } from '../webhooks/webhooks.js'
import type { RepoFile } from '../storage/scan.js'
import { compareVersions, parseVersion, type Version } from '../storage/version.js'

/**
 * f=qrymaxver, the decision of docs/protocol.md §3 for each program of a request.
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

/** What the decision reads: the repository and catalog in memory, licenses, signing, links. */
export interface QrymaxverDeps {
  repository: Repository
  catalog: Catalog
  signer: LicenseSigner
  tokens: LinkTokens
  contacts: Contacts
  licenses: LicenseCache
  linkTtlMs: number
  /** Webhook events (seat.bound): gathered in memory, never awaited. */
  events: EventSink
}

/**
 * Base of download URLs, without a trailing slash (`https://updates.example.com`): asked for
 * only when a link is built, so a poll with nothing to fetch never works it out. May throw
 * (a Host header that names no host).
 */
export type LinkBase = () => string

/** A program of the request with its serial trimmed and checked. */
interface CheckedQuery extends ProgramQuery {
  check: KeyCheck | undefined
  /** The serial as licenses are looked up by: the canonical key, or a legacy serial as sent (serial.ts). */
  lookup: string | undefined
}

/**
 * The answers for the programs of one request, in order; null when the PCID was never issued
 * here. The PCID and the licenses the serials name are read in one statement (cache.ts).
 */
export async function answerQuery (deps: QrymaxverDeps, pcid: string, queries: ProgramQuery[], linkBase: LinkBase, now = new Date()): Promise<ProgramAnswer[] | null> {
  const checked: CheckedQuery[] = queries.map((query) => {
    const serial = query.serial?.trim()
    return serial === undefined || serial === ''
      ? { ...query, serial: undefined, check: undefined, lookup: undefined }
      : checkSerial(query, serial)
  })
  // Legacy serials are looked up by the same statement as keys of ours (docs/protocol.md, "Legacy serials and PCIDs").
  const keys = [...new Set(checked.flatMap(({ lookup }) => lookup === undefined ? [] : [lookup]))]
  // The PCID's channel matters only to programs with a beta version (docs/protocol.md §3).
  const needChannel = checked.some(({ program }) => program !== undefined && deps.catalog.hasBeta(program.trim()))
  const facts = await deps.licenses.facts(pcid, keys, deps.contacts.isKnown(pcid), needChannel)
  if (!facts.known) return null
  deps.contacts.remember(pcid)
  const answers: ProgramAnswer[] = []
  // One after another: two programs of one request may take seats of the same license.
  for (const query of checked) answers.push(await answerOne(deps, pcid, query, facts, now, linkBase))
  return answers
}

function checkSerial (query: ProgramQuery, serial: string): CheckedQuery {
  const check = validateKey(serial)
  return { ...query, serial, check, lookup: check.valid ? check.key : isLegacySerial(serial) ? serial : undefined }
}

async function answerOne (deps: QrymaxverDeps, pcid: string, query: CheckedQuery, facts: PollFacts, now: Date, linkBase: LinkBase): Promise<ProgramAnswer> {
  const program = query.program?.trim() ?? ''
  const answer: ProgramAnswer = { program, ok: '', license: '', kind: 'none', reason: undefined, files: [], run: [] }
  if (!isProgramName(program) || !programExists(deps.repository, deps.catalog, program)) {
    answer.reason = 'UNKNOWN_PROGRAM'
    return answer
  }
  // A parsed version has no leading zeros or empty parts, so its text is already canonical.
  const versionText = query.version?.trim() ?? ''
  const current = parseVersion(versionText)
  const { serial, check, lookup } = query
  const license = lookup === undefined ? undefined : facts.licenses.get(lookup)
  // The license's channel and pin count only when it is this program's (docs/protocol.md §3).
  const own = license?.program === program ? license : undefined
  const channel: Channel = own?.channel === 'beta' || facts.channel === 'beta' ? 'beta' : 'stable'
  const pin = own?.pin == null ? null : parseVersion(own.pin)
  const release = offeredRelease(deps.repository, deps.catalog, program, { pcid, current, channel, pin }, now)
  answer.ok = release?.folder.name ?? ''
  if (current === null) {
    answer.reason = 'BAD_VERSION'
    return answer
  }
  const canonicalSerial = lookup ?? serial
  const contact = { pcid, program, version: versionText, serial: canonicalSerial?.slice(0, 64) ?? null, offered: answer.ok === '' ? null : answer.ok, channel }
  deps.contacts.record(contact)
  const seat: SeatState = license === undefined ? 'free' : license.bound ? 'bound' : license.used < license.seatLimit ? 'free' : 'full'

  const newer = release !== undefined && compareVersions(release.folder.version, current) > 0 ? release : undefined
  let decision = decideEntitlement({ serial, program, license, seat, releasedAt: newer?.releasedAt, check })
  if (decision.entitled && decision.bindSeat && license !== undefined) {
    const bound = await deps.licenses.takeSeat(license, pcid)
    if (bound === 'bound') deps.events.emit('seat.bound', { key: license.key, program, pcid })
    if (bound === 'full') decision = { entitled: false, reason: 'SEAT_LIMIT' }
    if (bound === 'gone') decision = { entitled: false, reason: 'LICENSE_UNKNOWN' }
  }
  await listFiles(deps, { answer, pcid, versionText, current, newer, license, serial: canonicalSerial, linkBase }, decision, now)
  if (answer.kind === 'version' && answer.files.length > 0) deps.contacts.record({ ...contact, linked: true })
  return answer
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

/** The files of the offer (docs/protocol.md §3), with the LICENSE string and links when entitled. */
async function listFiles (deps: QrymaxverDeps, offer: Offer, decision: Entitlement, now: Date): Promise<ProgramAnswer> {
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
  const stored = license.token
  answer.license = await deps.signer.issue({ prog: program, sub: license.key, pcid, ver: newer?.folder.name ?? offer.versionText, mnt: license.maintenanceEndIso }, now, stored)
  if (answer.license !== stored) {
    // Signed now: stored by seat with the next contacts flush, and kept here meanwhile.
    deps.contacts.recordLicenseString(license.id, pcid, answer.license)
    deps.licenses.tokenIssued(license, pcid, answer.license)
  }
  if (files.length === 0) return answer
  const base = offer.linkBase()
  const tokens = deps.tokens.issue({ pcid, licenseId: license.id, expiresAt: new Date(now.getTime() + deps.linkTtlMs) }, files)
  answer.files = files.map((file, j) => ({ file, url: `${base}/ftp/${urlPath(file)}?t=${tokens[j]}` }))
  return answer
}

/** A listed file's path as it appears in its link, each segment percent-encoded as UTF-8. */
function urlPath (file: RepoFile): string {
  return file.path.split('/').map(encodeURIComponent).join('/')
}
