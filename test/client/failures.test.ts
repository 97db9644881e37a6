import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { makeContext } from '../../client/src/context.js'
import { processJobs } from '../../client/src/jobs.js'
import { loadSettings } from '../../client/src/settings.js'
import { buildToolServer, makePc } from '../helpers/client.js'
import { httpProxy } from '../helpers/http-proxy.js'

// What goes wrong with downloads, as iupdate-client meets it (docs/client.md "Downloads"):
// a link gone stale, bytes changed on the way, a confirmation that cannot be sent.

/** True for the first `times` requests that `test` picks. */
const firstOf = (test: (url: string) => boolean, times = 1): (req: { url?: string }) => boolean => {
  let left = times
  return (req) => {
    if (left === 0 || !test(req.url ?? '')) return false
    left--
    return true
  }
}

t.test('a file replaced after the poll: its link answers 410, the server is asked again within the hour, and the new file comes', async (t) => {
  const server = await buildToolServer(t, { '1.1/a.bin': 'first content' })
  const proxy = await httpProxy(t, server.base, { refuse: firstOf((url) => url.startsWith('/ftp/')) })
  const pc = await makePc(t)
  t.equal((await pc.run('add', 'tool', '1.0', await pc.ini('t.ini', { Host: proxy.host, SN: server.key, LocalPath: pc.root }))).code, 0)
  t.equal((await pc.run('check')).code, 1, 'the first download finds no network')
  t.equal((await pc.state()).jobs.tool.files[0].state, 'pending')

  await writeFile(join(server.root, 'tool', '1.1', 'a.bin'), 'second, longer content')
  await server.app.repository.rescan('tool')
  // The service's job round, between two polls.
  const context = makeContext(await loadSettings(pc.data), () => {})
  const round = await processJobs(context, true)
  t.same(round, { completed: [], failed: ['tool'] })
  t.match(await pc.log(), 'tool: a.bin: server answered GONE (410): This file is no longer offered; ask f=qrymaxver again.; trying again at')
  const state = await pc.state()
  t.ok(Date.parse(state.hosts[proxy.host].nextCheckAt!) < Date.now() + 2 * 3_600_000, 'the next poll is in an hour, not a day')

  const check = await pc.run('check')
  t.equal(check.code, 0, check.out)
  t.equal(await readFile(join(pc.folders.temp, 'a.bin'), 'utf8'), 'second, longer content', 'the renewed job fetched the file as it is now')
})

t.test('bytes changed on the way: SHA-256 fails, the failure is reported with ok=0, the file is fetched again', async (t) => {
  const server = await buildToolServer(t, { '1.1/a.bin': 'the real installer' })
  let flipped = false
  const proxy = await httpProxy(t, server.base, {
    rewrite: (req, body) => {
      if (flipped || req.url?.startsWith('/ftp/') !== true) return undefined
      flipped = true
      const changed = Buffer.from(body)
      changed[0] ^= 0x20
      return changed
    }
  })
  const pc = await makePc(t)
  t.equal((await pc.run('add', 'tool', '1.0', await pc.ini('t.ini', { Host: proxy.host, SN: server.key, LocalPath: pc.root }))).code, 0)
  const first = await pc.run('check')
  t.equal(first.code, 1)
  t.match(first.out, 'tool: a.bin: downloaded, but its SHA-256 is not the listed one; it is fetched again; trying again at')
  t.ok(proxy.seen.some((r) => r.method === 'POST' && r.url.includes('f=dlconfirm') && r.url.includes('&ok=0&err=a.bin')), 'reported to the server')
  t.same(await readdir(join(pc.data, 'downloads', 'tool')), [], 'the bad copy is deleted')
  const rows = await server.app.prisma.download.findMany({ where: { failedAt: { not: null } } })
  t.match(rows, [{ path: 'a.bin', error: 'a.bin: its SHA-256 is not the listed one' }], 'the vendor sees why')

  const second = await pc.run('check')
  t.equal(second.code, 0, second.out)
  t.equal(await readFile(join(pc.folders.temp, 'a.bin'), 'utf8'), 'the real installer')
})

t.test('a confirmation the network loses is kept and sent by the next run', async (t) => {
  const server = await buildToolServer(t, { '1.1/a.bin': 'content' })
  // Lost twice: right after the download, and when the same run tries again at its end.
  const proxy = await httpProxy(t, server.base, { refuse: firstOf((url) => url.includes('f=dlconfirm'), 2) })
  const pc = await makePc(t)
  t.equal((await pc.run('add', 'tool', '1.0', await pc.ini('t.ini', { Host: proxy.host, SN: server.key, LocalPath: pc.root }))).code, 0)
  t.equal((await pc.run('check')).code, 0, 'the download itself succeeded')
  t.equal((await pc.state()).confirms.length, 1, 'its confirmation is kept')
  t.equal((await pc.state()).programs.tool.version, '1.1')

  t.equal((await pc.run('check')).code, 0)
  const confirms = proxy.seen.filter((r) => r.url.includes('f=dlconfirm'))
  t.equal(confirms.length, 3)
  t.ok(confirms.every((r) => r.url === confirms[0].url), 'the same confirmation, sent again')
  t.same((await pc.state()).confirms, [])
  const rows = await server.app.prisma.download.findMany()
  t.ok(rows[0].confirmedAt !== null, 'the server counts the download once, confirmed')
})
