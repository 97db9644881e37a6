import { createHash } from 'node:crypto'
import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { makePc } from '../helpers/client.js'
import { httpProxy } from '../helpers/http-proxy.js'
import { buildWorld, SETUP_SIZE } from '../helpers/world.js'

// iupdate-client against the server over a real socket (docs/client.md): a program installed
// from an ini file receives a new version, is cut off mid-file and resumes, then an update.

const sha = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex')
const CUT_AT = 3 * 1024 * 1024

t.test('add, a new version cut off mid-file and resumed with Range, placed by DEST; then an update', async (t) => {
  const world = await buildWorld(t)
  let cuts = 0
  const proxy = await httpProxy(t, world.base, {
    // The first download of the big installer loses its connection after 3 MiB.
    cutAfter: (req) => req.url?.includes('/setup.exe') === true && cuts++ === 0 ? CUT_AT : undefined
  })
  const pc = await makePc(t)
  const prog = join(pc.root, 'Πρόγραμμα iShop')
  const ini = await pc.ini('f1.ini', { Host: proxy.host, SSL: '0', SN: world.keys.entitled, LocalPath: prog })

  const added = await pc.run('add', 'ishop', '2.6.5.1', ini)
  t.equal(added.code, 0, added.err)
  t.match(added.out, `ishop 2.6.5.1 added: server http://${proxy.host}, LocalPath ${prog}`, 'the windows-1253 ini is read, Greek LocalPath included')
  const pcid = (await pc.state()).hosts[proxy.host].pcid
  t.match(pcid, /^[0-9A-Z]{26}$/, 'add asks for a PCID at once')
  t.match(added.out, `PCID ${pcid} for ${proxy.host}`)

  const first = await pc.run('check')
  t.equal(first.code, 1, 'the cut download fails the check')
  t.match(first.out, /ishop: new job for version 2\.7\.0\.0, 3 of 3 listed file\(s\) to download/)
  t.match(first.out, /setup\.exe: the download stopped at byte \d+ .*it resumes from there; trying again at /)
  const job = (await pc.state()).jobs.ishop
  t.equal(job.version, '2.7.0.0')
  t.equal(job.attempts, 1, 'the job waits an hour before the service tries again')
  const parts = await readdir(join(pc.data, 'downloads', 'ishop'))
  const setupPart = job.files.find((f) => f.file === 'setup.exe')!.part
  const partial = (await stat(join(pc.data, 'downloads', 'ishop', setupPart))).size
  t.ok(parts.includes(setupPart))
  t.ok(partial > 0 && partial <= CUT_AT, `kept ${partial} bytes of the installer`)

  // A new process (a restart): the state and the partial file are all it has.
  const second = await pc.run('check')
  t.equal(second.code, 0, second.out + second.err)
  t.match(second.out, `ishop: resuming setup.exe at byte ${partial}`)
  const resumed = proxy.seen.filter((r) => r.url.includes('/setup.exe'))
  t.same(resumed.map((r) => r.range), [undefined, `bytes=${partial}-`], 'the second request asked for the rest alone')
  t.match(second.out, 'ishop: setup.exe downloaded, SHA-256 verified')
  t.match(second.out, 'ishop: version 2.7.0.0 is in place')
  t.match(second.out, 'ishop: RUN %TEMP\\setup.exe /S not executed (allow with --run-installers)')
  const setup = await readFile(join(pc.folders.temp, 'setup.exe'))
  t.equal(setup.length, SETUP_SIZE)
  t.equal(sha(setup), sha(world.setup), 'the resumed installer is byte for byte the server\'s')
  t.equal(await readFile(join(pc.folders.win32, 'ishopx.dll'), 'utf8'), 'dll 2.7', '%WIN32')
  t.equal(await readFile(join(pc.folders.temp, 'docs', 'readme.txt'), 'utf8'), 'readme <2.7>', '%TEMP\\docs')
  t.equal((await stat(join(pc.folders.temp, 'setup.exe'))).mtime.getTime() % 1000, 0, 'placed with the listed DATE')
  const state = await pc.state()
  t.equal(state.programs.ishop.version, '2.7.0.0', 'completion moves the program to the new version')
  t.same(state.jobs, {})
  t.match(state.programs.ishop.license, { version: '2.7.0.0' }, 'the LICENSE string verified for this program and PC')
  t.same(await readdir(join(pc.data, 'downloads')), [], 'nothing left in the downloads folder')

  const update = await pc.run('check')
  t.equal(update.code, 0, update.out)
  t.match(update.out, 'ishop: new job for updates of 2.7.0.0, 1 of 1 listed file(s) to download')
  t.equal(await readFile(join(prog, 'fix.dll'), 'utf8'), 'fix for 2.7', 'the update goes to %PROG (LocalPath)')
  t.match(update.out, 'ishop: RUN %PROG\\patch.exe not executed')

  const downloads = proxy.seen.filter((r) => r.url.startsWith('/ftp/')).length
  const again = await pc.run('check')
  t.equal(again.code, 0)
  t.match(again.out, 'ishop 2.7.0.0: the update files are in place')
  t.equal(proxy.seen.filter((r) => r.url.startsWith('/ftp/')).length, downloads, 'a file whose DATE and SHA256 match is not fetched again')
  t.ok(proxy.seen.every((r) => !r.url.includes('f=qrymaxver') || /&nonce=[A-Za-z0-9_-]{32}(&|$)/.test(r.url)), 'every poll carries a nonce')

  const status = await pc.run('status')
  t.match(status.out, `ishop 2.7.0.0  http://${proxy.host}  PCID ${pcid}`)
  const log = await pc.log()
  t.match(log, /^\d\d:\d\d:\d\d\.\d{3} ishop 2\.6\.5\.1 added/m, 'the day log: hh:mm:ss.ms message')
  t.match(log, /^\d\d:\d\d:\d\d\.\d{3} ishop: resuming setup\.exe at byte/m)
})

t.test('a newer version the serial is not entitled to is recorded with its newveravail page', async (t) => {
  const world = await buildWorld(t)
  const pc = await makePc(t)
  const host = new URL(world.base).host
  t.equal((await pc.run('add', 'ishop', '2.6.5.1', await pc.ini('f.ini', { Host: host, SN: world.keys.expired, LocalPath: pc.root }))).code, 0)
  const check = await pc.run('check')
  t.equal(check.code, 0, check.err)
  const url = `http://${host}/myweb/iupdate.php?f=newveravail&prog=ishop&version=2.6.5.1`
  t.match(check.out, `ishop: version 2.7.0.0 is available (MAINTENANCE_EXPIRED): ${url}`)
  const state = await pc.state()
  t.match(state.programs.ishop, { version: '2.6.5.1', newer: { version: '2.7.0.0', url } })
  t.same(state.jobs, {}, 'nothing is downloaded')
  const page = await fetch(url)
  t.equal(page.status, 200, 'the page exists')
  t.match((await pc.run('status')).out, `newer version 2.7.0.0 available: ${url}`)
})

t.test('bad command lines and ini files are refused with one clear line', async (t) => {
  const pc = await makePc(t)
  const cases: Array<[string[], number, RegExp]> = [
    [['frob'], 2, /unknown command frob/],
    [['add', 'ishop', '2.6'], 2, /usage: iupdate-client add <program> <version> <file\.ini>/],
    [['add', '../x', '1.0', 'f.ini'], 1, /"\.\.\/x" is not a program name/],
    [['add', 'ishop', '2.x', 'f.ini'], 1, /"2\.x" is not a version/],
    [['add', 'ishop', '1.0', join(pc.root, 'missing.ini')], 1, /missing\.ini cannot be read/],
    [['add', 'ishop', '1.0', await pc.ini('nohost.ini', { LocalPath: pc.root })], 1, /\[Ftp\] Host must be a host name/],
    [['add', 'ishop', '1.0', await pc.ini('ssl.ini', { Host: 'h', SSL: 'yes', LocalPath: pc.root })], 1, /SSL must be 0 or 1/],
    [['add', 'ishop', '1.0', await pc.ini('rel.ini', { Host: 'h', LocalPath: 'relative\\path' })], 1, /LocalPath "relative\\path" is not an absolute path/],
    [['update', 'ishop', '1.0'], 1, /ishop is not registered/],
    [['remove', 'ishop'], 1, /ishop is not registered/],
    [['message', 'ishop', '-437', '-utf8', '-m', 'x'], 2, /-437 and -utf8 exclude each other/],
    [['questions', '--answer', 'x'], 2, /an answer needs -m <text>/],
    [['check', '--nosuch'], 2, /Unknown option '--nosuch'/]
  ]
  for (const [args, code, message] of cases) {
    const result = await pc.run(...args)
    t.equal(result.code, code, args.join(' '))
    t.match(result.err, message, args.join(' '))
  }
})
