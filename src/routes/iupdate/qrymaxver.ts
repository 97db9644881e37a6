import { ProtocolError } from '../../errors.js'
import { isLegacyPcid } from '../../license/serial.js'
import { array, scalar } from '../../protocol/fields.js'
import { qrymaxverLines } from '../../protocol/qrymaxver.js'
import { answerQuery, MAX_PROGRAMS, type ProgramQuery } from '../../updates/qrymaxver.js'
import { publicBase } from './base-url.js'
import type { IupdateFunction } from './types.js'

/** f=qrymaxver (docs/protocol.md §3): newer version, entitlement and files, per program. */
export const qrymaxver: IupdateFunction = async ({ request, fields, app }) => {
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
  // Ours or imported from an earlier system (docs/protocol.md, "Legacy serials and PCIDs").
  if (!isLegacyPcid(pcid)) throw unknownPcid()
  const queries: ProgramQuery[] = programs.map((program, i) => ({ program, version: versions[i], serial: serials[i] }))
  const answers = await answerQuery(
    { repository: app.repository, catalog: app.catalog, signer: app.signer, tokens: app.tokens, contacts: app.contacts, licenses: app.licenses, events: app.webhooks, linkTtlMs: app.config.LINK_TTL_HOURS * 3_600_000 },
    pcid,
    queries,
    () => publicBase(request, app.config.PUBLIC_URL)
  )
  if (answers === null) throw unknownPcid()
  app.metrics.polled(answers)
  request.log.info({ pcid, programs: answers.map((a) => `${a.program}:${a.kind}:${a.files.length}`) }, 'qrymaxver answered')
  return qrymaxverLines(pcid, answers, scalar(fields, 'v') === '1')
}

function unknownPcid (): ProtocolError {
  return new ProtocolError('UNKNOWN_PCID', 'This PC id is not known here; ask f=getpcid for a new one.')
}
