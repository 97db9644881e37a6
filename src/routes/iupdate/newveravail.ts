import { offeredRelease, programExists } from '../../catalog/catalog.js'
import type { Seeker } from '../../catalog/release-control.js'
import { preferredLanguage } from '../../pages/html.js'
import { renderNewVersion, renderUnknownProgram } from '../../pages/newveravail.js'
import { isLegacyPcid } from '../../license/serial.js'
import { scalar } from '../../protocol/fields.js'
import { compareVersions, parseVersion } from '../../storage/version.js'
import type { IupdateFunction } from './types.js'

/**
 * f=newveravail&prog=<program>[&version=<current>][&pcid=<pcid>] (docs/protocol.md §4): an HTML
 * page, Greek or English, naming the version release control offers that PC (§3).
 */
export const newveravail: IupdateFunction = async ({ request, reply, fields, app }) => {
  const program = (scalar(fields, 'prog') ?? '').trim().slice(0, 64)
  const lang = preferredLanguage(request.headers['accept-language'])
  reply.type('text/html; charset=utf-8').header('content-language', lang).header('cache-control', 'no-store')
  if (program === '' || !programExists(app.repository, app.catalog, program)) {
    await reply.status(404).send(renderUnknownProgram(program, lang))
    return null
  }
  const info = app.catalog.program(program)
  const current = scalar(fields, 'version')
  const seeker: Seeker = { pcid: undefined, current: current === undefined ? null : parseVersion(current), channel: 'stable', pin: null }
  const pcid = scalar(fields, 'pcid')?.trim()
  // An unknown or malformed pcid is no PC: the page names what every PC is offered. Legacy
  // PCIDs too (docs/protocol.md, "Legacy serials and PCIDs").
  if (pcid !== undefined && isLegacyPcid(pcid)) {
    const facts = await app.licenses.releaseFacts(pcid, program)
    if (facts !== undefined) {
      const pins = facts.pins.map(parseVersion).filter((pin) => pin !== null).sort(compareVersions)
      Object.assign(seeker, { pcid: facts.pcid, channel: facts.channel, pin: pins[0] ?? null })
    }
  }
  const release = offeredRelease(app.repository, app.catalog, program, seeker, new Date())
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
