import t from 'tap'
import iconv from 'iconv-lite'
import { buildTestApp, listen } from '../../helpers/app.js'
import { adminQuery } from '../../helpers/db.js'

t.test('getpcid issues an unguessable PCID and stores who asked', async (t) => {
  const { app, databaseUrl } = await buildTestApp(t)
  const base = await listen(app)
  const res = await fetch(`${base}/myweb/iupdate.php?f=getpcid&prog=ishop`, { headers: { 'user-agent': 'iUpdate/2.1' } })
  t.equal(res.status, 200)
  t.equal(res.headers.get('content-type'), 'text/plain; charset=windows-1253')
  const body = await res.text()
  t.match(body, /^PCID=[0-9A-HJKMNP-TV-Z]{26}\r\n$/)
  const pcid = body.slice(5, 31)
  const rows = await adminQuery('SELECT * FROM pcid WHERE id = $1', [pcid], databaseUrl)
  t.equal(rows.length, 1)
  t.equal(rows[0].program, 'ishop')
  t.equal(rows[0].user_agent, 'iUpdate/2.1')
  t.equal(rows[0].address, '127.0.0.1')
  t.ok(Date.now() - rows[0].created_at.getTime() < 60_000, 'stored with the time')
})

t.test('every PCID is new; prog is optional; POST form works too', async (t) => {
  const { app, databaseUrl } = await buildTestApp(t)
  const seen = new Set<string>()
  for (let i = 0; i < 20; i++) {
    const res = await app.inject({ url: '/myweb/iupdate.php?f=getpcid' })
    seen.add(res.body)
  }
  const post = await app.inject({ method: 'POST', url: '/myweb/iupdate.php', payload: 'f=getpcid&prog=taxspooler', headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  t.equal(post.statusCode, 200)
  seen.add(post.body)
  t.equal(seen.size, 21)
  const [{ count }] = await adminQuery('SELECT count(*)::int AS count FROM pcid', [], databaseUrl)
  t.equal(count, 21)
  const [{ program }] = await adminQuery('SELECT program FROM pcid WHERE id = $1', [post.body.slice(5, 31)], databaseUrl)
  t.equal(program, 'taxspooler')
})

t.test('cs=utf8 answers in UTF-8', async (t) => {
  const { app } = await buildTestApp(t)
  const res = await app.inject({ url: '/myweb/iupdate.php?f=getpcid&cs=utf8' })
  t.equal(res.headers['content-type'], 'text/plain; charset=utf-8')
})

t.test('errors are ERROR= lines with a 4xx status, never JSON or a stack', async (t) => {
  const { app, databaseUrl } = await buildTestApp(t)
  const cases: Array<[string, number, string]> = [
    ['/myweb/iupdate.php?f=nosuch', 400, 'UNKNOWN_FUNCTION'],
    ['/myweb/iupdate.php?f=__proto__', 400, 'UNKNOWN_FUNCTION'],
    ['/myweb/iupdate.php?f=constructor', 400, 'UNKNOWN_FUNCTION'],
    ['/myweb/iupdate.php', 400, 'BAD_REQUEST'],
    ['/myweb/iupdate.php?f=getpcid&prog=../../etc', 400, 'BAD_REQUEST'],
    ['/myweb/nosuch.php', 404, 'NOT_FOUND']
  ]
  for (const [url, status, code] of cases) {
    const res = await app.inject({ url })
    t.equal(res.statusCode, status, url)
    t.equal(res.headers['content-type'], 'text/plain; charset=windows-1253', url)
    const lines = res.body.split('\r\n')
    t.equal(lines[0], `ERROR=${code}`, url)
    t.ok(lines[1].length > 0, 'with a description')
    t.notMatch(res.body, /at .*\.(ts|js):\d+|node_modules|\/work\//, 'no stack or path')
  }
  const [{ count }] = await adminQuery('SELECT count(*)::int AS count FROM pcid', [], databaseUrl)
  t.equal(count, 0, 'nothing stored for a bad request')
})

t.test('an error in the client charset: windows-1253 Greek text survives', async (t) => {
  const { app } = await buildTestApp(t)
  const res = await app.inject({ url: '/myweb/iupdate.php?f=' + encodeURIComponent('αβγ') })
  t.equal(iconv.decode(res.rawPayload, 'win1253').split('\r\n')[1], 'Unknown function f=αβγ.')
})

t.test('abuse limits: rate limit per address, query and body sizes', async (t) => {
  const { app } = await buildTestApp(t, { RATE_LIMIT_MAX: '3', RATE_LIMIT_WINDOW_MS: '60000', MAX_QUERY_BYTES: '200', MAX_FORM_BYTES: '100' })
  for (let i = 0; i < 3; i++) {
    const res = await app.inject({ url: '/myweb/iupdate.php?f=getpcid' })
    t.equal(res.statusCode, 200)
    t.notOk(Object.keys(res.headers).some((name) => name.startsWith('x-ratelimit-')), 'an answer within the limit does not carry it')
  }
  const limited = await app.inject({ url: '/myweb/iupdate.php?f=getpcid' })
  t.equal(limited.statusCode, 429)
  t.equal(limited.body.split('\r\n')[0], 'ERROR=RATE_LIMITED')
  t.ok(Number(limited.headers['retry-after']) > 0, 'Retry-After given')
  t.equal(limited.headers['x-ratelimit-limit'], '3', 'the refusal says the limit')
  t.equal(limited.headers['x-ratelimit-remaining'], '0')
  t.ok(Number(limited.headers['x-ratelimit-reset']) > 0)
  const other = await app.inject({ url: '/myweb/iupdate.php?f=getpcid', remoteAddress: '10.9.9.9' })
  t.equal(other.statusCode, 200, 'another address has its own budget')

  const long = await app.inject({ url: '/myweb/iupdate.php?f=getpcid&x=' + 'a'.repeat(300), remoteAddress: '10.1.1.1' })
  t.equal(long.statusCode, 414)
  t.equal(long.body.split('\r\n')[0], 'ERROR=URI_TOO_LONG')
  const big = await app.inject({ method: 'POST', url: '/myweb/iupdate.php', remoteAddress: '10.1.1.2', payload: 'f=getpcid&x=' + 'a'.repeat(300), headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  t.equal(big.statusCode, 413)
  t.equal(big.body.split('\r\n')[0], 'ERROR=PAYLOAD_TOO_LARGE')
  const json = await app.inject({ method: 'POST', url: '/myweb/iupdate.php', remoteAddress: '10.1.1.3', payload: '{"f":"getpcid"}', headers: { 'content-type': 'application/json' } })
  t.equal(json.statusCode, 415)
  t.equal(json.body.split('\r\n')[0], 'ERROR=BAD_REQUEST')
})
