import type { FastifyInstance } from 'fastify'
import { ProtocolError } from '../../errors.js'
import { logsInfo } from '../../log-level.js'
import { isPcidSyntax } from '../../license/pcid.js'
import { array, scalar, type Fields } from '../../protocol/fields.js'
import { qrymaxverLines } from '../../protocol/qrymaxver.js'
import type { Line } from '../../protocol/text.js'
import { answerQuery, MAX_PROGRAMS, type ProgramAnswer, type ProgramQuery, type QueryDeps } from '../../updates/query.js'
import { publicBase } from './base-url.js'
import type { IupdateFunction, PollRequest } from './types.js'

/**
 * f=qrymaxver (PROTOCOL.md §3): newer version, entitlement and files, per program. Answered
 * without a promise when the PCID and its licenses are known here (answerQuery).
 */
export const qrymaxver = ({ request, fields, app }: { request: PollRequest, fields: Fields, app: FastifyInstance }): ReturnType<IupdateFunction> => {
  const pcid = scalar(fields, 'pcid')?.trim()
  if (pcid === undefined || pcid === '') throw new ProtocolError('BAD_REQUEST', 'Missing pcid: ask f=getpcid for one first.')
  let programs: Array<string | undefined>, versions: Array<string | undefined>, serials: Array<string | undefined>
  try {
    programs = array(fields, 'prog', MAX_PROGRAMS - 1)
    versions = array(fields, 'version', MAX_PROGRAMS - 1)
    serials = array(fields, 'serial', MAX_PROGRAMS - 1)
  } catch {
    throw new ProtocolError('TOO_MANY_PROGRAMS', `At most ${MAX_PROGRAMS} programs per request.`)
  }
  if (programs.length > MAX_PROGRAMS) throw new ProtocolError('TOO_MANY_PROGRAMS', `At most ${MAX_PROGRAMS} programs per request.`)
  if (programs.length === 0) throw new ProtocolError('BAD_REQUEST', 'No programs: send prog[]=<name>&version[]=<version>&serial[]=<serial>.')
  if (!isPcidSyntax(pcid)) throw unknownPcid()
  const queries: ProgramQuery[] = programs.map((program, i) => ({ program, version: versions[i], serial: serials[i] }))
  if (app.contacts.isKnown(pcid)) return answer(app, request, fields, pcid, queries)
  return app.contacts.exists(pcid).then((known) => {
    if (!known) throw unknownPcid()
    return answer(app, request, fields, pcid, queries)
  })
}

/** What answerQuery needs from the app: the same for every request, so built once per app. */
const depsOfApp = new WeakMap<FastifyInstance, QueryDeps>()

function depsOf (app: FastifyInstance): QueryDeps {
  let deps = depsOfApp.get(app)
  if (deps === undefined) {
    deps = {
      prisma: app.prisma,
      repository: app.repository,
      catalog: app.catalog,
      signer: app.signer,
      tokens: app.tokens,
      contacts: app.contacts,
      licenses: app.licenses,
      linkTtlMs: app.config.LINK_TTL_HOURS * 3_600_000
    }
    depsOfApp.set(app, deps)
  }
  return deps
}

function answer (app: FastifyInstance, request: PollRequest, fields: Fields, pcid: string, queries: ProgramQuery[]): Line[] | Promise<Line[]> {
  const answers = answerQuery(depsOf(app), pcid, queries, () => publicBase(request, app.config.PUBLIC_URL))
  return answers instanceof Promise
    ? answers.then((done) => lines(request, fields, pcid, done))
    : lines(request, fields, pcid, answers)
}

function lines (request: PollRequest, fields: Fields, pcid: string, answers: ProgramAnswer[]): Line[] {
  // The summary is built only when it will be written: polls are the bulk of all requests.
  if (logsInfo(request.log)) request.log.info({ pcid, programs: answers.map((a) => `${a.program}:${a.kind}:${a.files.length}`) }, 'qrymaxver answered')
  return qrymaxverLines(pcid, answers, scalar(fields, 'v') === '1')
}

function unknownPcid (): ProtocolError {
  return new ProtocolError('UNKNOWN_PCID', 'This PC id is not known here; ask f=getpcid for a new one.')
}
