import t from 'tap'
import { makePc } from '../helpers/client.js'
import { httpProxy } from '../helpers/http-proxy.js'
import { buildWorld } from '../helpers/world.js'

// iupdate-client always sends a nonce and refuses a qrymaxver answer whose signature does not
// verify (docs/protocol.md §9): what a network between PC and server changes is caught.

t.test('an answer changed by one byte, unsigned or replayed is refused: no job, no download, a retry in an hour', async (t) => {
  const world = await buildWorld(t)
  let mode: 'pass' | 'flip' | 'strip' | 'replay' = 'flip'
  let recorded: Buffer | undefined
  const proxy = await httpProxy(t, world.base, {
    rewrite: (req, body) => {
      if (req.url?.includes('f=qrymaxver') !== true) return undefined
      const text = body.toString('latin1')
      if (mode === 'flip') {
        // One digit of the first file's DATE: a file the client would take for the one it has.
        const at = text.indexOf('DATE[0][0]=') + 'DATE[0][0]='.length + 3
        const changed = Buffer.from(body)
        changed[at] = changed[at] === 0x30 ? 0x31 : 0x30
        return changed
      }
      if (mode === 'strip') return Buffer.from(text.slice(0, text.indexOf('SIGKID=')), 'latin1')
      if (mode === 'replay') return recorded
      recorded = body
      return undefined
    }
  })
  const pc = await makePc(t)
  t.equal((await pc.run('add', 'ishop', '2.6.5.1', await pc.ini('f1.ini', { Host: proxy.host, SN: world.keys.entitled, LocalPath: pc.root }))).code, 0)

  const expectRefused = async (why: string): Promise<void> => {
    const before = Date.now()
    const check = await pc.run('check')
    t.equal(check.code, 1, `${mode}: the check fails`)
    t.match(check.out, `check of ${proxy.host} failed: answer refused: ${proxy.host}: ${why}; next try at `)
    const state = await pc.state()
    t.same(state.jobs, {}, `${mode}: no job`)
    t.ok(Date.parse(state.hosts[proxy.host].nextCheckAt!) >= before + 3_600_000 - 1000, `${mode}: asked again in an hour`)
  }
  await expectRefused('its signature does not verify (changed on the way?)')
  mode = 'strip'
  await expectRefused('it carries no signature')
  mode = 'pass'
  const good = await pc.run('check')
  t.equal(good.code, 0, good.out)
  t.match(good.out, 'ishop: version 2.7.0.0 is in place', 'the same answer unchanged is taken')
  t.equal(proxy.seen.filter((r) => r.url.startsWith('/ftp/')).length, 3, 'only the verified answer\'s files were fetched')

  await pc.run('update', 'ishop', '2.6.5.1')
  mode = 'replay'
  await expectRefused('its signature does not verify (changed on the way?)')
})
