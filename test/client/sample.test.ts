import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { validateKey } from '../../src/license/key.js'
import { createLicense } from '../../src/license/licenses.js'
import { PACKAGE_ROOT } from '../../src/paths.js'
import { buildTestApp, listen } from '../helpers/app.js'
import { makePc } from '../helpers/client.js'

// Every DEST rule of the sample ftp/ (docs/protocol.md §5), placed by iupdate-client off Windows:
// %TEMP and %WIN32 are folders of settings.json, C:\ and D:\ paths land under drivesDir/c and /d.

const SAMPLE = join(PACKAGE_ROOT, 'ftp')
const SAMPLE_KEY = '1ND10-00G40-R40M3-0E209-18520'

t.test('the sample ftp/: updates, new versions, then updates of the new versions, each file where DEST says', async (t) => {
  const { app } = await buildTestApp(t, { FTP_ROOT: SAMPLE, REPO_SETTLE_MS: '0', RATE_LIMIT_MAX: '100000' })
  const prisma = app.prisma
  const ishop = await prisma.program.create({ data: { name: 'ishop' } })
  const taxspooler = await prisma.program.create({ data: { name: 'taxspooler' } })
  // The sample's serial folder is @1ND10-…: that customer's license.
  await prisma.license.create({ data: { key: (validateKey(SAMPLE_KEY) as { key: string }).key, programId: ishop.id, customerName: 'Sample', seatLimit: 5 } })
  const { key: taxKey } = await createLicense(prisma, { programId: taxspooler.id, programName: 'taxspooler', customerName: 'Sample', seatLimit: 5 })
  const yank = async (yanked: boolean): Promise<void> => {
    for (const [program, version] of [[ishop.id, '2.7.0.0'], [taxspooler.id, '3.2.1.1']] as const) {
      await prisma.programVersion.upsert({
        where: { programId_version: { programId: program, version } },
        create: { programId: program, version, releasedAt: new Date(), yankedAt: yanked ? new Date() : null },
        update: { yankedAt: yanked ? new Date() : null }
      })
    }
    await app.catalog.refresh()
  }
  const host = new URL(await listen(app)).host

  const pc = await makePc(t)
  const { temp, win32, drives } = pc.folders
  t.equal((await pc.run('add', 'ishop', '2.6.5.1', await pc.ini('ishop.ini', { Host: host, SN: SAMPLE_KEY, LocalPath: 'C:\\Program Files\\iShop' }))).code, 0)
  t.equal((await pc.run('add', 'taxspooler', '3.2.1.0', await pc.ini('tax.ini', { Host: host, SN: taxKey, LocalPath: 'D:\\TaxSpooler' }))).code, 0)
  const ishopProg = join(drives, 'c', 'Program Files', 'iShop')
  const taxProg = join(drives, 'd', 'TaxSpooler')

  const expectPlaced = async (placed: Record<string, string>): Promise<void> => {
    for (const [sample, local] of Object.entries(placed)) {
      t.same(await readFile(local).catch(() => null), await readFile(join(SAMPLE, sample)), `${sample} → ${local.slice(pc.root.length)}`)
    }
  }

  // With the new versions withdrawn, the installed ones get their updates.
  await yank(true)
  const updates = await pc.run('check')
  t.equal(updates.code, 0, updates.out + updates.err)
  await expectPlaced({
    'ishop/updates/2.6.5/ishop.exe': join(ishopProg, 'ishop.exe'), //                         %PROG
    'ishop/updates/2.6.5/@win32/ishopx.dll': join(win32, 'ishopx.dll'), //                    %WIN32
    'ishop/updates/2.6.5/Πρότυπα/τιμολόγιο.frm': join(drives, 'c', 'iShop', 'Πρότυπα', 'τιμολόγιο.frm'), // @rename.txt
    [`ishop/updates/@${SAMPLE_KEY}/custom.rpt`]: join(ishopProg, 'custom.rpt'), //            the serial's folder
    'taxspooler/updates/3.2.1.0/Help/el/βοήθεια.chm': join(taxProg, 'Help', 'el', 'βοήθεια.chm') // %PROG\Help, FILE el\βοήθεια.chm
  })
  t.equal((await pc.state()).programs.ishop.version, '2.6.5.1', 'updates leave the version as it is')

  await yank(false)
  const versions = await pc.run('check')
  t.equal(versions.code, 0, versions.out + versions.err)
  await expectPlaced({
    'ishop/2.7.0.0/ishopinst.exe': join(temp, 'ishopinst.exe'), //                           %TEMP
    'ishop/2.7.0.0/@win32/ishopx.dll': join(win32, 'ishopx.dll'), //                         %WIN32, replacing the update's
    'ishop/2.7.0.0/extras/readme.txt': join(temp, 'extras', 'readme.txt'), //                 %TEMP\extras
    'ishop/2.7.0.0/Reports/sales/monthly.rpt': join(drives, 'd', 'iShop', 'Αναφορές', 'sales', 'monthly.rpt'), // @rename.txt, FILE sales\monthly.rpt
    'ishop/2.7.0.0/Έγγραφα/Οδηγίες χρήσης.txt': join(drives, 'c', 'Documents and Settings', 'All Users', 'Έγγραφα', 'iShop', 'Οδηγίες χρήσης.txt'),
    'taxspooler/3.2.1.1/taxsetup.exe': join(temp, 'taxsetup.exe'),
    'taxspooler/3.2.1.1/Φόρμες/Ε1/έντυπο.frm': join(temp, 'Φόρμες', 'Ε1', 'έντυπο.frm') //    %TEMP\Φόρμες, FILE Ε1\έντυπο.frm
  })
  t.match(versions.out, 'ishop: RUN %TEMP\\ishopinst.exe not executed')
  const state = await pc.state()
  t.same([state.programs.ishop.version, state.programs.taxspooler.version], ['2.7.0.0', '3.2.1.1'])

  const next = await pc.run('check')
  t.equal(next.code, 0, next.out + next.err)
  await expectPlaced({
    'ishop/updates/2.7.0.0/ishop.exe': join(ishopProg, 'ishop.exe'),
    'taxspooler/updates/3.2/taxspooler.exe': join(taxProg, 'taxspooler.exe'),
    'taxspooler/updates/3.2/Φόρμες/Ε9.frm': join(taxProg, 'Φόρμες', 'Ε9.frm') //              %PROG\Φόρμες
  })
  t.match(next.out, 'ishop: new job for updates of 2.7.0.0, 1 of 2 listed file(s) to download', 'the serial\'s custom.rpt is in place already')
  t.match(next.out, 'ishop: RUN %PROG\\ishoppatch.exe not executed')
})
