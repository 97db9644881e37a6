import { connect } from 'node:net'
import { Writable } from 'node:stream'
import Fastify, { type FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import t, { type Test } from 'tap'
import app, { redactUrl, serverOptions } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { buildTestApp } from './helpers/app.js'
import { adminQuery } from './helpers/db.js'

t.test('healthz and readyz', async (t) => {
  const { app, databaseUrl } = await buildTestApp(t)
  t.same((await app.inject({ url: '/healthz' })).json(), { status: 'ok' })
  const ready = await app.inject({ url: '/readyz' })
  t.equal(ready.statusCode, 200)
  t.match(ready.json(), { status: 'ready', database: 'reachable' })
  await adminQuery('DELETE FROM "_prisma_migrations"', [], databaseUrl)
  const pending = await app.inject({ url: '/readyz' })
  t.equal(pending.statusCode, 503, 'not ready while a migration is missing')
  t.match(pending.json(), { status: 'unavailable', pendingMigrations: [/_init$/] })
  await adminQuery('DROP TABLE "_prisma_migrations"', [], databaseUrl)
  t.equal((await app.inject({ url: '/readyz' })).statusCode, 503, 'nor on a database never migrated')
})

t.test('download tokens never reach the logs', async (t) => {
  t.equal(redactUrl('/ftp/ishop/2.7/a.exe?t=SECRET&x=1'), '/ftp/ishop/2.7/a.exe?t=[REDACTED]&x=1')
  t.equal(redactUrl('/myweb/iupdate.php?f=dlconfirm&t=SECRET'), '/myweb/iupdate.php?f=dlconfirm&t=[REDACTED]')
  t.equal(redactUrl('/myweb/iupdate.php?f=getpcid'), '/myweb/iupdate.php?f=getpcid')
})

/** The app on the server options of src/server.ts at LOG_LEVEL `level`, its log lines kept; `extend` adds routes first. */
async function loggedApp (t: Test, level: string, extend: (f: FastifyInstance) => void = () => {}): Promise<{ instance: FastifyInstance, logged: () => string }> {
  const { databaseUrl } = await buildTestApp(t)
  let logged = ''
  const stream = new Writable({ write (chunk, _enc, cb) { logged += chunk.toString(); cb() } })
  const config = { ...loadConfig({ LOG_LEVEL: level }), DATABASE_URL: databaseUrl }
  const options = serverOptions(config)
  const instance = Fastify({ ...options, logger: { ...(options.logger as object), stream } })
  extend(instance)
  await instance.register(fp(app), { config })
  t.teardown(async () => { await instance.close() })
  return { instance, logged: () => logged }
}

t.test('request ids: honoured from a proxy when sane, else generated; logs redact secrets', async (t) => {
  const { instance, logged: log } = await loggedApp(t, 'info')
  const given = await instance.inject({ url: '/healthz?t=SECRETTOKEN', headers: { 'x-request-id': 'abc-123', authorization: 'Bearer SECRETBEARER' } })
  t.equal(given.headers['x-request-id'], undefined)
  const bad = await instance.inject({ url: '/healthz', headers: { 'x-request-id': 'no spaces allowed' } })
  t.equal(bad.statusCode, 200)
  const logged = log()
  const lines = logged.trim().split('\n').map((line) => JSON.parse(line))
  t.ok(lines.some((line) => line.reqId === 'abc-123'), 'the proxy id is used')
  t.ok(lines.some((line) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(line.reqId)), 'a bad id is replaced by one of ours')
  t.same(lines.filter((line) => line.reqId === 'abc-123').map((line) => line.msg), ['incoming request', 'request completed'], 'Fastify\'s request lines at info')
  t.notMatch(logged, /SECRETTOKEN|SECRETBEARER/)
})

t.test('polls on a socket log their lines under one request id each', async (t) => {
  const { instance, logged } = await loggedApp(t, 'info')
  const base = await instance.listen({ port: 0, host: '127.0.0.1' })
  const pcid = (await (await fetch(`${base}/myweb/iupdate.php?f=getpcid`)).text()).trim().slice(5)
  const poll = async (id: string, who: string): Promise<number> => (await fetch(`${base}/myweb/iupdate.php?f=qrymaxver&prog[]=nosuch&version[]=1.0&pcid=${who}`, { headers: { 'x-request-id': id } })).status
  t.equal(await poll('first-1', pcid), 200)
  t.equal(await poll('again-1', pcid), 200)
  t.equal(await poll('error-1', 'Z'.repeat(26)), 404)
  const lines = logged().trim().split('\n').map((line) => JSON.parse(line))
  for (const id of ['first-1', 'again-1']) {
    const own = lines.filter((line) => line.reqId === id)
    t.same(own.map((line) => line.msg), ['incoming request', 'qrymaxver answered', 'request completed'], `${id}: its lines`)
    t.match(own[0], { req: { method: 'GET', url: /^\/myweb\/iupdate\.php\?f=qrymaxver&/, remoteAddress: '127.0.0.1' } })
    t.match(own[2], { res: { statusCode: 200 }, responseTime: Number })
  }
  t.same(lines.filter((line) => line.reqId === 'error-1').map((line) => line.msg), ['incoming request', 'request completed'])
  t.match(lines.find((line) => line.reqId === 'error-1' && line.msg === 'request completed'), { res: { statusCode: 404 } })
})

t.test('a root onRequest hook and onSend hook see every poll, whatever its answer', async (t) => {
  const seen = { request: 0, send: 0 }
  const { instance } = await loggedApp(t, 'silent', (f) => {
    f.addHook('onRequest', async () => { seen.request++ })
    f.addHook('onSend', async () => { seen.send++ })
  })
  const base = await instance.listen({ port: 0, host: '127.0.0.1' })
  const pcid = (await (await fetch(`${base}/myweb/iupdate.php?f=getpcid`)).text()).trim().slice(5)
  const urls = [
    `f=qrymaxver&prog[]=nosuch&version[]=1.0&pcid=${pcid}`,
    `f=qrymaxver&prog[]=nosuch&version[]=1.0&pcid=${pcid}`,
    `f=qrymaxver&prog[]=nosuch&version[]=1.0&pcid=${'Z'.repeat(26)}`,
    'f=qrymaxver',
    'f=nosuch'
  ]
  for (const query of urls) await (await fetch(`${base}/myweb/iupdate.php?${query}`)).arrayBuffer()
  t.same(seen, { request: urls.length + 1, send: urls.length + 1 }, 'every request, the getpcid included')
})

t.test('at LOG_LEVEL=warn, a request that goes well writes nothing, a failure is logged with its request id', async (t) => {
  const { instance, logged } = await loggedApp(t, 'warn', (f) => f.get('/boom', async () => { throw new Error('broken on purpose') }))
  t.equal((await instance.inject({ url: '/healthz' })).statusCode, 200)
  t.equal((await instance.inject({ url: '/myweb/iupdate.php?f=getpcid' })).statusCode, 200)
  t.equal(logged(), '', 'nothing for answers that went well')
  t.equal((await instance.inject({ url: '/boom?t=SECRETTOKEN', headers: { 'x-request-id': 'boom-1' } })).statusCode, 500)
  const lines = logged().trim().split('\n').map((line) => JSON.parse(line))
  t.match(lines, [{ level: 50, reqId: 'boom-1', err: { message: 'broken on purpose' } }])
  t.notMatch(logged(), /SECRETTOKEN/)
})

t.test('a client that goes away mid-body is logged as such, not as the database being away', async (t) => {
  const { instance, logged } = await loggedApp(t, 'info')
  const base = new URL(await instance.listen({ port: 0, host: '127.0.0.1' }))
  await new Promise<void>((resolve) => {
    const socket = connect(Number(base.port), '127.0.0.1', () => {
      socket.write('POST /myweb/iupdate.php HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 5000\r\n\r\nf=getpcid&x=')
      setTimeout(() => { socket.resetAndDestroy(); resolve() }, 100)
    })
  })
  for (let i = 0; i < 50 && !logged().includes('client went away'); i++) await new Promise((resolve) => setTimeout(resolve, 20))
  t.match(logged(), /client went away/)
  t.notMatch(logged(), /database unavailable/)
})

t.test('an unexpected failure is a 500 with no details', async (t) => {
  const { app } = await buildTestApp(t, {}, {
    extend: async (f) => {
      f.get('/boom', async () => { throw new Error('secret internal detail /srv/x') })
      f.get('/myweb/boom', async () => { throw new Error('secret internal detail /srv/x') })
    }
  })
  const json = await app.inject({ url: '/boom' })
  t.equal(json.statusCode, 500)
  t.equal(json.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.same(json.json(), { type: 'about:blank', title: 'INTERNAL', status: 500, detail: 'Internal server error.' })
  const text = await app.inject({ url: '/myweb/boom' })
  t.equal(text.statusCode, 500)
  t.equal(text.body, 'ERROR=INTERNAL\r\nInternal server error.\r\n')
  const missing = await app.inject({ url: '/nothing-here' })
  t.equal(missing.statusCode, 404)
  t.match(missing.json(), { title: 'NOT_FOUND', status: 404 })
})

t.test('a path that is not valid percent-encoding: 400 in the surface\'s format, the URL not echoed', async (t) => {
  const { app } = await buildTestApp(t)
  const protocol = await app.inject({ url: '/myweb/%E0%A4%A?f=getpcid&t=SECRETTOKEN' })
  t.equal(protocol.statusCode, 400)
  t.equal(protocol.body.split('\r\n')[0], 'ERROR=BAD_REQUEST')
  t.notMatch(protocol.body, 'SECRETTOKEN')
  const api = await app.inject({ url: '/api/v1/programs/%E0%A4%A' })
  t.equal(api.statusCode, 400)
  t.equal(api.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.match(api.json(), { title: 'BAD_REQUEST', status: 400 })
})
