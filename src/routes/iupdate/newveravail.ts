import { latestRelease, programExists } from '../../catalog/catalog.js'
import { preferredLanguage } from '../../pages/html.js'
import { renderNewVersion, renderUnknownProgram } from '../../pages/newveravail.js'
import { scalar } from '../../protocol/fields.js'
import { parseVersion } from '../../storage/version.js'
import type { IupdateFunction } from './types.js'

/** f=newveravail&prog=<program>[&version=<current>] (docs/protocol.md §4): an HTML page, Greek or English. */
export const newveravail: IupdateFunction = async ({ request, reply, fields, app }) => {
  const program = (scalar(fields, 'prog') ?? '').trim().slice(0, 64)
  const lang = preferredLanguage(request.headers['accept-language'])
  reply.type('text/html; charset=utf-8').header('content-language', lang).header('cache-control', 'no-store')
  if (program === '' || !programExists(app.repository, app.catalog, program)) {
    await reply.status(404).send(renderUnknownProgram(program, lang))
    return null
  }
  const info = app.catalog.program(program)
  const release = latestRelease(app.repository, app.catalog, program)
  const current = scalar(fields, 'version')
  const html = renderNewVersion({
    program,
    displayName: (lang === 'el' ? info?.displayNameEl ?? info?.displayNameEn : info?.displayNameEn ?? info?.displayNameEl) ?? null,
    version: release?.folder.name ?? null,
    releasedAt: release?.releasedAt ?? null,
    notes: (lang === 'el' ? release?.notesEl ?? release?.notesEn : release?.notesEn ?? release?.notesEl) ?? null,
    purchaseUrl: info?.purchaseUrl ?? null,
    currentVersion: current !== undefined && parseVersion(current) !== null ? current : null
  }, lang)
  await reply.send(html)
  return null
}
