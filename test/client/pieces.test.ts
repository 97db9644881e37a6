import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import iconv from 'iconv-lite'
import t from 'tap'
import { decodeIni, parseFtpIni, parseIni } from '../../client/src/ini.js'
import { commandLine } from '../../client/src/installers.js'
import { DayLog } from '../../client/src/log.js'
import { destinationPath } from '../../client/src/places.js'
import { defaultDataDir, loadSettings } from '../../client/src/settings.js'

// The client's pieces on their own: DEST and FILE as local paths under Windows and POSIX rules,
// the ini file as Windows reads it, RUN lines, the day log, settings.json.

const windows = { windows: true, drivesDir: '' }
const posix = { windows: false, drivesDir: '/drives' }
const winFolders = { TEMP: 'C:\\Windows\\Temp', PROG: 'C:\\Program Files\\iShop', WIN32: 'C:\\Windows\\System32' }
const posixFolders = { TEMP: '/tmp/iu', PROG: '/opt/ishop', WIN32: '/var/lib/iu/win32' }

t.test('DEST and FILE as local paths, on Windows and off it', async (t) => {
  const cases: Array<[string, string, string, string]> = [
    ['%TEMP', 'ishopinst.exe', 'C:\\Windows\\Temp\\ishopinst.exe', '/tmp/iu/ishopinst.exe'],
    ['%TEMP\\extras', 'readme.txt', 'C:\\Windows\\Temp\\extras\\readme.txt', '/tmp/iu/extras/readme.txt'],
    ['%prog\\Φόρμες', 'Ε1\\έντυπο.frm', 'C:\\Program Files\\iShop\\Φόρμες\\Ε1\\έντυπο.frm', '/opt/ishop/Φόρμες/Ε1/έντυπο.frm'],
    ['%WIN32', 'drivers\\y.sys', 'C:\\Windows\\System32\\drivers\\y.sys', '/var/lib/iu/win32/drivers/y.sys'],
    ['D:\\iShop\\Αναφορές', 'sales\\monthly.rpt', 'D:\\iShop\\Αναφορές\\sales\\monthly.rpt', '/drives/d/iShop/Αναφορές/sales/monthly.rpt'],
    ['c:\\Documents and Settings\\All Users\\', 'a.txt', 'C:\\Documents and Settings\\All Users\\a.txt', '/drives/c/Documents and Settings/All Users/a.txt']
  ]
  for (const [dest, file, onWindows, offWindows] of cases) {
    t.equal(destinationPath(dest, file, winFolders, windows), onWindows, `${dest} ${file} (Windows)`)
    t.equal(destinationPath(dest, file, posixFolders, posix), offWindows, `${dest} ${file} (POSIX)`)
  }
  t.equal(destinationPath('\\\\server\\share\\iShop', 'x.dll', winFolders, windows), '\\\\server\\share\\iShop\\x.dll', 'UNC on Windows')
  t.equal(destinationPath('/srv/ishop', 'a/b.txt', posixFolders, posix), '/srv/ishop/a/b.txt', 'a POSIX path off Windows')
  const refused: Array<[string, string, typeof windows, RegExp]> = [
    ['%TEMP', '..\\..\\evil.exe', posix, /FILE "\.\.\\\.\.\\evil\.exe" has an unsafe part "\.\."/],
    ['%TEMP\\..\\x', 'a', windows, /DEST .* unsafe part "\.\."/],
    ['%PROG', '', windows, /FILE is empty/],
    ['ishop', 'a', windows, /DEST "ishop" is neither %TEMP, %PROG, %WIN32 nor an absolute path/],
    ['%TEMPORARY', 'a', posix, /neither/],
    ['/srv/x', 'a', windows, /neither/],
    ['\\\\server\\share', 'a', posix, /neither/],
    ['%TEMP', 'a:b.txt', windows, /unsafe part "a:b\.txt"/],
    ['%TEMP', 'a\u0001b', posix, /unsafe part/]
  ]
  for (const [dest, file, rules, message] of refused) t.throws(() => destinationPath(dest, file, rules.windows ? winFolders : posixFolders, rules), message, `${dest} ${file}`)
})

t.test('RUN lines: words, quotes, variables', async (t) => {
  t.same(commandLine('%TEMP\\ishopinst.exe /S', winFolders, windows), { file: 'C:\\Windows\\Temp\\ishopinst.exe', args: ['/S'] })
  t.same(commandLine('"C:\\Program Files\\Tool\\setup.exe"  %PROG\\data "a b"', winFolders, windows), { file: 'C:\\Program Files\\Tool\\setup.exe', args: ['C:\\Program Files\\iShop\\data', 'a b'] })
  t.same(commandLine('%PROG\\ishoppatch.exe', posixFolders, posix), { file: '/opt/ishop/ishoppatch.exe', args: [] })
  t.throws(() => commandLine('   ', winFolders, windows), /empty RUN line/)
})

t.test('file.ini as Windows reads it, in windows-1253', async (t) => {
  const sections = parseIni('; comment\r\n[FTP]\r\nhost = a.example.com:8080 \r\nHost=second\r\nLocalPath="\\\\server\\share\\iShop; x"\r\n[Other]\r\nk=v\r\nno equals here\r\n')
  t.same([...sections.keys()], ['ftp', 'other'])
  t.same(sections.get('ftp')?.get('host'), 'a.example.com:8080', 'names in any case, value trimmed, the first wins')
  t.same(sections.get('ftp')?.get('localpath'), '\\\\server\\share\\iShop; x', 'backslashes and ; inside a value kept, quotes removed')
  t.equal(decodeIni(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('Ω')])), 'Ω', 'a UTF-8 byte order mark')
  t.equal(decodeIni(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('Ω', 'utf16le')])), 'Ω', 'UTF-16 (Notepad\'s "Unicode")')
  const ini = (text: string): Buffer => iconv.encode(text, 'win1253')
  t.same(parseFtpIni(ini('[Ftp]\r\nHost=Updates.Example.com\r\nSSL=1\r\nSN=1ND10-00G40-R40M3-0E209-18520\r\nLocalPath=C:\\Προγράμματα\\iShop\r\n'), 'f1.ini'),
    { host: 'updates.example.com', ssl: true, serial: '1ND10-00G40-R40M3-0E209-18520', localPath: 'C:\\Προγράμματα\\iShop' })
  t.same(parseFtpIni(ini('[Ftp]\nHost=[::1]:8080\nLocalPath=/opt/x\n'), 'f.ini'), { host: '[::1]:8080', ssl: false, serial: '', localPath: '/opt/x' })
  t.throws(() => parseFtpIni(ini('Host=x\n'), 'f.ini'), /f\.ini: no \[Ftp\] section/)
  t.throws(() => parseFtpIni(ini('[Ftp]\nHost=x:70000\nLocalPath=/x\n'), 'f.ini'), /Host must be a host name/)
  t.throws(() => parseFtpIni(ini('[Ftp]\nHost=http://x\nLocalPath=/x\n'), 'f.ini'), /Host must be a host name/)
  t.throws(() => parseFtpIni(ini('[Ftp]\nHost=x\n'), 'f.ini'), /LocalPath .* is missing/)
})

t.test('the day log: YYYYMMDD.log, hh:mm:ss.ms message, one line each', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'iupdate-log-'))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  const echoed: string[] = []
  const log = new DayLog(join(dir, 'new'), (line) => echoed.push(line), () => new Date(2026, 10, 22, 9, 5, 7, 42))
  log.write('ishop 2.6.5.1 added')
  log.write('two\r\nlines')
  t.same((await readFile(join(dir, 'new', '20261122.log'), 'utf8')).split(/\r?\n/), ['09:05:07.042 ishop 2.6.5.1 added', '09:05:07.042 two lines', ''])
  t.same(echoed, ['ishop 2.6.5.1 added', 'two lines'])
})

t.test('settings.json: the seed\'s defaults, and a clear error for a bad file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'iupdate-settings-'))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  const defaults = await loadSettings(dir, {}, {}, 'linux')
  t.match(defaults, { pollingPeriodMs: 86_400_000, jobPollingPeriodMs: 300_000, retryPeriodMs: 3_600_000, burstIntervalMs: 600_000, burstDurationMs: 3_600_000, sendIntervalMs: 300_000, questionIntervalMs: 900_000, runInstallers: false, windows: false })
  t.same([defaults.tempDir, defaults.win32Dir, defaults.drivesDir], [join(dir, 'temp'), join(dir, 'win32'), join(dir, 'drives')], 'off Windows %TEMP and %WIN32 are folders of the data folder')
  const onWindows = await loadSettings(dir, { runInstallers: true }, { TEMP: 'C:\\Windows\\Temp', SystemRoot: 'C:\\Windows' }, 'win32')
  t.match(onWindows, { tempDir: 'C:\\Windows\\Temp', windows: true, runInstallers: true })
  t.equal(onWindows.win32Dir, 'C:\\Windows\\System32')
  t.equal(defaultDataDir({ IUPDATE_CLIENT_DATA: '/srv/iu' }, 'linux'), '/srv/iu')
  t.equal(defaultDataDir({ ProgramData: 'C:\\ProgramData' }, 'win32'), 'C:\\ProgramData\\INCA Hellas\\iUpdate')
  for (const [text, message] of [
    ['{', /settings\.json is not valid JSON/],
    ['{"pollingPeriodMs": -5}', /settings\.json: pollingPeriodMs: /],
    ['{"tempDir": "relative"}', /settings\.json: tempDir: must be an absolute path/],
    ['{"pollingPeriod": 5}', /settings\.json: .*pollingPeriod/]
  ] as const) {
    await writeFile(join(dir, 'settings.json'), text)
    await t.rejects(loadSettings(dir), message, text)
  }
})
