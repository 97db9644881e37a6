import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { adminQuery } from '../../helpers/db.js'
import { buildWorld } from '../../helpers/world.js'

// Polls answered before Fastify routes them (src/routes/iupdate/fast-path.ts) must be the same
// answers as through Fastify's route; what the fast path cannot finish, Fastify finishes once.

const enc = encodeURIComponent

/** Counts the iUpdate requests that reach Fastify's routing (the fast path's never do). */
function countFastify (): { extend: (f: FastifyInstance) => Promise<void>, count: () => number } {
  let n = 0
  return {
    extend: async (f) => { f.addHook('onRequest', (request, _reply, done) => { if (request.url.startsWith('/myweb/iupdate.php')) n++; done() }) },
    count: () => n
  }
}

/** A response as the client sees it, with the random part of download links masked. */
function shape (status: number, headers: Headers | Record<string, unknown>, body: string): unknown {
  const get = (name: string): unknown => headers instanceof Headers ? headers.get(name) : headers[name]
  return { status, type: get('content-type'), cache: get('cache-control'), length: String(get('content-length')), body: body.replace(/\?t=[A-Za-z0-9_-]+/g, '?t=TOKEN') }
}

t.test('a poll answered on the socket is byte for byte the answer of Fastify\'s route', async (t) => {
  const fastify = countFastify()
  const world = await buildWorld(t, {}, { extend: fastify.extend })
  const pcid = await world.pcid()
  const polls = [
    `prog[]=ishop&version[]=2.6.5.1&serial[]=${enc(world.keys.entitled)}&pcid=${pcid}&v=1`,
    `prog[]=ishop&version[]=2.7.0.0&serial[]=${enc(world.keys.entitled)}&pcid=${pcid}`,
    `prog[]=ishop&version[]=2.7.0.0&serial[]=${enc(world.keys.expired)}&pcid=${pcid}&v=1&cs=437`,
    `prog[]=ishop&version[]=2.7.0.0&pcid=${pcid}&v=1&cs=1253`,
    `prog[0]=ishop&version[0]=2.7.0.0&prog[1]=nosuch&version[1]=1.0&prog[2]=ishop&version[2]=x.y&pcid=${pcid}&v=1`
  ]
  // The first poll of each license reads it and takes a seat: Fastify's route finishes those
  // (counted below); after that both paths answer from memory.
  for (const poll of polls) await fetch(`${world.base}/myweb/iupdate.php?f=qrymaxver&${poll}`)
  const before = fastify.count()
  for (const poll of polls) {
    const url = `/myweb/iupdate.php?f=qrymaxver&${poll}`
    const socket = await fetch(`${world.base}${url}`)
    const socketShape = shape(socket.status, socket.headers, Buffer.from(await socket.arrayBuffer()).toString('latin1'))
    const routed = await world.app.inject({ url, headers: { host: new URL(world.base).host } })
    t.same(socketShape, shape(routed.statusCode, routed.headers, routed.rawPayload.toString('latin1')), poll)
  }
  t.equal(fastify.count() - before, polls.length, 'only the injected polls went through Fastify\'s routing')
})

t.test('what the fast path cannot finish, Fastify finishes once: errors, answers that wait, refusals', async (t) => {
  const fastify = countFastify()
  const world = await buildWorld(t, { RATE_LIMIT_MAX: '5' }, { extend: fastify.extend })
  const pcid = await world.pcid()
  const poll = `prog[]=ishop&version[]=2.6.5.1&serial[]=${enc(world.keys.single)}&pcid=${pcid}`

  const unknown = await world.query(`prog[]=ishop&version[]=2.7.0.0&pcid=${'Z'.repeat(26)}`)
  t.same([unknown.status, unknown.lines[0]], [404, 'ERROR=UNKNOWN_PCID'], 'an error is the error handler\'s answer')
  const missing = await world.query('prog[]=ishop&version[]=2.7.0.0')
  t.same([missing.status, missing.lines[0]], [400, 'ERROR=BAD_REQUEST'])
  t.equal(fastify.count(), 3, 'getpcid and the two errors went through Fastify')

  const first = await world.query(poll)
  t.match(first.map.get('LICENSE[0]'), /^ey/, 'the first poll of a license waits for it to be read and a seat taken')
  t.equal(fastify.count(), 4, 'and Fastify finished it')
  const again = await world.query(poll)
  t.equal(again.map.get('LICENSE[0]'), first.map.get('LICENSE[0]'))
  t.equal(fastify.count(), 4, 'the next one is answered from memory before Fastify')
  const seats = await adminQuery('SELECT s.pcid FROM seat s JOIN license l ON l.id = s.license_id WHERE l.key = $1', [world.keys.single], world.databaseUrl)
  t.same(seats, [{ pcid }], 'one seat: nothing was done twice')

  // Six requests so far: getpcid, two errors, two polls... and this one is the sixth.
  const refused = await fetch(`${world.base}/myweb/iupdate.php?f=qrymaxver&cs=utf8&${poll}`)
  t.equal(refused.status, 429, 'each request was counted once by the rate limit, whichever path took it')
  t.match(await refused.text(), /^ERROR=RATE_LIMITED\r\n/)
  t.ok(Number(refused.headers.get('retry-after')) > 0)
})

t.test('behind a trusted proxy every poll takes Fastify\'s route (X-Forwarded-* are its to read)', async (t) => {
  const fastify = countFastify()
  const world = await buildWorld(t, { TRUST_PROXY: 'true' }, { extend: fastify.extend })
  const pcid = await world.pcid()
  const res = await fetch(`${world.base}/myweb/iupdate.php?f=qrymaxver&prog[]=ishop&version[]=2.6.5.1&serial[]=${enc(world.keys.entitled)}&pcid=${pcid}`, { headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'updates.example.com' } })
  t.match(await res.text(), /URL\[0\]\[0\]=https:\/\/updates\.example\.com\/ftp\//)
  t.equal(fastify.count(), 2)
})
