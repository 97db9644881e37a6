import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify from 'fastify'
import t from 'tap'
import consoleRoutes from '../../../src/routes/console/index.js'
import { ADMIN, adminApi } from '../../helpers/admin.js'
import { buildTestApp } from '../../helpers/app.js'

// The web console's sessions (docs/console.md): a token turned into a cookie, CSRF on
// changes, every request checked against the token store; and the tokens API.

interface Session { cookie: string, csrf: string, setCookie: string }

async function signIn (app: Awaited<ReturnType<typeof buildTestApp>>['app'], token: string, headers: Record<string, string> = {}): Promise<Session> {
  const res = await app.inject({ method: 'POST', url: '/admin/session', payload: { token }, headers })
  if (res.statusCode !== 200) throw new Error(`sign-in answered ${res.statusCode}: ${res.body}`)
  const setCookie = String(res.headers['set-cookie'])
  return { cookie: setCookie.split(';')[0], csrf: res.json().csrf, setCookie }
}

t.test('signing in turns an admin token into an HttpOnly, SameSite=Strict session cookie; changes need its CSRF value', async (t) => {
  const { app } = await buildTestApp(t, { ADMIN_TOKEN: ADMIN, SESSION_HOURS: '2' })
  const made = await adminApi(app, 'POST', '/api/v1/tokens', { name: 'release-manager' })
  t.equal(made.status, 201)
  t.match(made.json, { name: 'release-manager', token: /^iua_[A-Za-z0-9_-]{40}$/ })

  const unknown = await app.inject({ method: 'POST', url: '/admin/session', payload: { token: 'iua_nope' } })
  t.equal(unknown.statusCode, 401)
  t.same(unknown.json().errors, [{ field: 'body.token', message: 'Unknown token.' }], 'named beside the field')
  t.equal(unknown.headers['set-cookie'], undefined, 'no cookie')
  t.equal((await app.inject({ method: 'POST', url: '/admin/session', payload: {} })).statusCode, 400)

  const session = await signIn(app, made.json.token)
  t.match(session.setCookie, /^iupdate_session=[^;]+;/)
  t.match(session.setCookie, /; HttpOnly/)
  t.match(session.setCookie, /; SameSite=Strict/)
  t.match(session.setCookie, /; Path=\//)
  t.match(session.setCookie, /; Max-Age=7200/, 'SESSION_HOURS')
  t.notMatch(session.setCookie, /Secure/, 'not Secure over plain HTTP')
  t.notMatch(session.setCookie, new RegExp(made.json.token), 'the token is not in the cookie')

  const who = await app.inject({ method: 'GET', url: '/admin/session', headers: { cookie: session.cookie } })
  t.same(who.json(), { name: 'release-manager', csrf: session.csrf, hours: 2 })
  t.equal((await app.inject({ method: 'GET', url: '/api/v1/programs', headers: { cookie: session.cookie } })).statusCode, 200, 'the cookie authenticates a read')

  const create = async (headers: Record<string, string>): Promise<number> =>
    (await app.inject({ method: 'POST', url: '/api/v1/programs', payload: { name: 'taxspooler' }, headers: { cookie: session.cookie, ...headers } })).statusCode
  t.equal(await create({}), 403, 'a change without the CSRF value is refused')
  t.equal(await create({ 'x-csrf-token': 'x'.repeat(session.csrf.length) }), 403, 'and with a wrong one')
  t.equal(await create({ 'x-csrf-token': session.csrf }), 201, 'with it, made')
  const audit = await adminApi(app, 'GET', '/api/v1/audit?action=program.create')
  t.equal(audit.json.items[0].actor, 'release-manager', 'audited with the token\'s name')
  t.equal((await adminApi(app, 'GET', '/api/v1/audit?action=session.signin')).json.items[0].actor, 'release-manager', 'the sign-in is audited')
  t.equal((await app.inject({ method: 'GET', url: '/api/v1/programs', headers: { cookie: session.cookie, authorization: 'Bearer nope' } })).statusCode, 401, 'an Authorization header is used before the cookie')

  const other = await signIn(app, ADMIN)
  t.not(other.csrf, session.csrf, 'each session has its own CSRF value')
  t.equal(await create({ 'x-csrf-token': other.csrf }), 403, 'another session\'s value does not do')
})

t.test('revoking the token signs its sessions out; signing out drops the cookie', async (t) => {
  const { app } = await buildTestApp(t, { ADMIN_TOKEN: ADMIN })
  const made = (await adminApi(app, 'POST', '/api/v1/tokens', { name: 'temp' })).json
  const session = await signIn(app, made.token)
  t.equal((await adminApi(app, 'DELETE', '/api/v1/tokens/temp')).status, 204)
  const after = await app.inject({ method: 'GET', url: '/api/v1/programs', headers: { cookie: session.cookie } })
  t.equal(after.statusCode, 403)
  t.match(String(after.headers['set-cookie']), /^iupdate_session=;.*Max-Age=0/, 'the session cookie is cleared')
  t.equal((await app.inject({ method: 'GET', url: '/admin/session', headers: { cookie: session.cookie } })).statusCode, 403)
  t.equal((await app.inject({ method: 'POST', url: '/admin/session', payload: { token: made.token } })).statusCode, 403, 'a revoked token cannot sign in')

  const mine = await signIn(app, ADMIN)
  const out = await app.inject({ method: 'DELETE', url: '/admin/session', headers: { cookie: mine.cookie } })
  t.equal(out.statusCode, 204)
  t.match(String(out.headers['set-cookie']), /^iupdate_session=;.*Max-Age=0/)
  t.equal((await app.inject({ method: 'GET', url: '/admin/session' })).statusCode, 401, 'no cookie: signed out')
  t.equal((await app.inject({ method: 'GET', url: '/admin/session', headers: { cookie: 'iupdate_session=forged' } })).statusCode, 401, 'a forged cookie is no session')
})

t.test('Secure behind an HTTPS proxy; the generated secret is private, a shared SESSION_SECRET works on every instance', async (t) => {
  const proxied = await buildTestApp(t, { ADMIN_TOKEN: ADMIN, TRUST_PROXY: 'true' })
  t.match((await signIn(proxied.app, ADMIN, { 'x-forwarded-proto': 'https' })).setCookie, /; Secure/)
  t.notMatch((await signIn(proxied.app, ADMIN)).setCookie, /; Secure/)
  t.equal((await stat(join(proxied.config.DATA_DIR, 'session-secret'))).mode & 0o777, 0o600, 'DATA_DIR/session-secret is the server user\'s alone')

  const SESSION_SECRET = 'shared-session-secret-0123456789abcdef'
  const one = await buildTestApp(t, { ADMIN_TOKEN: ADMIN, SESSION_SECRET })
  const two = await buildTestApp(t, { ADMIN_TOKEN: ADMIN, SESSION_SECRET }, { databaseUrl: one.databaseUrl })
  const session = await signIn(one.app, ADMIN)
  t.equal((await two.app.inject({ method: 'GET', url: '/api/v1/programs', headers: { cookie: session.cookie } })).statusCode, 200, 'a session of one instance is valid on another')
  await t.rejects(stat(join(one.config.DATA_DIR, 'session-secret')), 'no file with SESSION_SECRET')
  t.equal((await proxied.app.inject({ method: 'GET', url: '/api/v1/programs', headers: { cookie: session.cookie } })).statusCode, 401, 'not on an instance with another secret')
})

t.test('the tokens API lists, refuses a name twice, revokes once, and audits', async (t) => {
  const { app } = await buildTestApp(t, { ADMIN_TOKEN: ADMIN })
  const made = await adminApi(app, 'POST', '/api/v1/tokens', { name: 'deploy' })
  t.equal((await adminApi(app, 'POST', '/api/v1/tokens', { name: 'deploy' })).status, 409)
  const list = await adminApi(app, 'GET', '/api/v1/tokens')
  t.match(list.json.items, [{ id: made.json.id, name: 'deploy', lastUsedAt: null, revokedAt: null }])
  t.notMatch(JSON.stringify(list.json), /iua_|tokenHash/, 'never a secret or its hash')
  const used = await app.inject({ method: 'GET', url: '/api/v1/tokens', headers: { authorization: `Bearer ${made.json.token}` } })
  t.equal(used.statusCode, 200, 'the new token works')
  t.not((await adminApi(app, 'GET', '/api/v1/tokens')).json.items[0].lastUsedAt, null, 'and its last use shows')
  t.equal((await adminApi(app, 'DELETE', '/api/v1/tokens/deploy')).status, 204)
  t.equal((await adminApi(app, 'DELETE', '/api/v1/tokens/deploy')).status, 404, 'revoked already')
  t.equal((await adminApi(app, 'DELETE', '/api/v1/tokens/nobody')).status, 404)
  t.not((await adminApi(app, 'GET', '/api/v1/tokens')).json.items[0].revokedAt, null)
  t.equal((await app.inject({ method: 'GET', url: '/api/v1/tokens', headers: { authorization: `Bearer ${made.json.token}` } })).statusCode, 403)
  const audit = (await adminApi(app, 'GET', '/api/v1/audit?action=token.')).json.items
  t.match(audit, [{ actor: 'bootstrap', action: 'token.revoke', target: 'deploy' }, { actor: 'bootstrap', action: 'token.create', target: 'deploy' }])
})

t.test('the console is served at /admin, its own addresses load index.html, with a strict content security policy', async (t) => {
  const { app } = await buildTestApp(t, { ADMIN_TOKEN: ADMIN })
  for (const url of ['/admin', '/admin/', '/admin/licenses', '/admin/programs/ishop']) {
    const res = await app.inject({ method: 'GET', url })
    t.equal(res.statusCode, 200, url)
    t.match(res.headers['content-type'], /^text\/html/)
    t.match(res.body, /<script type="module" src="\/admin\/app.js">/)
    t.match(res.headers['content-security-policy'], /default-src 'self'.*frame-ancestors 'none'/)
    t.equal(res.headers['cache-control'], 'no-cache')
  }
  const script = await app.inject({ method: 'GET', url: '/admin/app.js' })
  t.equal(script.statusCode, 200)
  t.match(script.headers['content-type'], /javascript/)
  t.ok(script.body.length > 10_000, 'the bundle')

  const empty = await mkdtemp(join(tmpdir(), 'iupdate-console-'))
  t.teardown(async () => { await rm(empty, { recursive: true, force: true }) })
  const bare = Fastify({ logger: false })
  await bare.register(consoleRoutes, { dir: empty })
  t.teardown(async () => { await bare.close() })
  const missing = await bare.inject({ method: 'GET', url: '/admin/licenses' })
  t.equal(missing.statusCode, 503, 'not built: said so')
  t.match(missing.body, /npm run build/)
})
