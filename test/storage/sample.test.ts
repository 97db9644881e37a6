import { join } from 'node:path'
import t from 'tap'
import { PACKAGE_ROOT } from '../../src/paths.js'
import { Repository } from '../../src/storage/repository.js'
import { parseVersion } from '../../src/storage/version.js'

// The sample repository that `npm start` serves exercises every rule of docs/protocol.md §5.
t.test('the sample ftp/ yields the listings docs/protocol.md shows', async (t) => {
  const quiet = { debug () {}, info () {}, warn () {}, error () {} }
  const repo = new Repository({ root: join(PACKAGE_ROOT, 'ftp'), log: quiet, settleMs: 0, watch: false, rescanMs: 0 })
  await repo.start()
  t.teardown(async () => { await repo.stop() })
  const show = (files: ReadonlyArray<{ file: string, dest: string }> | undefined): string[] => (files ?? []).map((f) => `${f.dest} ${f.file}`)

  t.same(repo.programNames(), ['ishop', 'taxspooler'])
  t.equal(repo.latest('ishop')?.name, '2.7.0.0')
  t.same(repo.program('ishop')?.install, ['%TEMP\\ishopinst.exe'])
  t.same(show(repo.latest('ishop')?.files), [
    '%WIN32 ishopx.dll',
    'D:\\iShop\\Αναφορές sales\\monthly.rpt',
    '%TEMP\\extras readme.txt',
    '%TEMP ishopinst.exe',
    'C:\\Documents and Settings\\All Users\\Έγγραφα\\iShop Οδηγίες χρήσης.txt'
  ])
  const update = repo.updates('ishop', parseVersion('2.6.5.1')!, '1nd1000g40r40m30e20918520')
  t.equal(update.part?.name, '2.6.5')
  t.same(update.install, ['%PROG\\ishoppatch.exe'])
  t.same(show(update.part?.files), ['%WIN32 ishopx.dll', '%PROG ishop.exe', 'C:\\iShop\\Πρότυπα τιμολόγιο.frm'])
  t.same(show(update.serial?.files), ['%PROG custom.rpt'], 'the serial folder, however the serial is typed')
  t.equal(repo.updates('ishop', parseVersion('2.6.1')!).part?.name, '2.6', '2.6.1 matches 2.6, never 2.6.12')
  t.equal(repo.updates('ishop', parseVersion('2.6.12.3')!).part?.name, '2.6.12')

  t.equal(repo.latest('taxspooler')?.name, '3.2.1.1')
  t.same(show(repo.latest('taxspooler')?.files), ['%TEMP taxsetup.exe', '%TEMP\\Φόρμες Ε1\\έντυπο.frm'])
  t.same(show(repo.updates('taxspooler', parseVersion('3.2.0.9')!).part?.files), ['%PROG taxspooler.exe', '%PROG\\Φόρμες Ε9.frm'])
  t.same(show(repo.updates('taxspooler', parseVersion('3.2.1.0')!).part?.files), ['%PROG\\Help el\\βοήθεια.chm'])
})
