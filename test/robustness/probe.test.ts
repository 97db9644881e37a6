import { stat } from 'node:fs/promises'
import { connect } from 'node:net'
import { join } from 'node:path'
import t from 'tap'
import { buildTestApp, listen } from '../helpers/app.js'
import { adminQuery } from '../helpers/db.js'
import { multipart } from '../helpers/multipart.js'
import { buildWorld, SETUP_SIZE, TOKEN_SECRET } from '../helpers/world.js'

/**
 * What a probe of the running server broke (hostile input, local abuse), item by item: each
 * test reproduces the probe's request and states what a vendor sees now.
 */
const ADMIN = 'bootstrap-admin-token-0123456789abcdef'
const P = '/myweb/iupdate.php'
const enc = encodeURIComponent

async function messageApp (t: Parameters<typeof buildTestApp>[0], env: Record<string, string>): Promise<{ base: string, databaseUrl: string, dataDir: string, pcid: string }> {
  const built = await buildTestApp(t, env)
  const base = await listen(built.app)
  const pcid = (await (await fetch(`${base}${P}?f=getpcid`)).text()).trim().slice(5)
  return { base, databaseUrl: built.databaseUrl, dataDir: built.config.DATA_DIR, pcid }
}

async function send (base: string, fields: Record<string, string>, files: Record<string, string | Buffer>): Promise<{ status: number, body: string }> {
  const { body, contentType } = multipart(fields, files)
  const res = await fetch(`${base}${P}?f=sendmsg`, { method: 'POST', body, headers: { 'content-type': contentType } })
  return { status: res.status, body: await res.text() }
}

const stored = async (url: string): Promise<number> => (await adminQuery<{ n: number }>('SELECT count(*)::int AS n FROM client_message', [], url))[0].n

t.test('a NUL in a serial is refused, and the contacts of every other PC are still written', async (t) => {
  const world = await buildWorld(t)
  const pcid = await world.pcid()
  const bad = await world.query(`prog[]=ishop&version[]=2.6.5.1&serial[]=%00&pcid=${pcid}`)
  t.equal(bad.status, 400)
  t.equal(bad.lines[0], 'ERROR=BAD_REQUEST')
  const good = await world.query(`prog[]=ishop&version[]=2.6.5.1&serial[]=${enc(world.keys.entitled)}&pcid=${pcid}`)
  t.equal(good.status, 200)
  await world.app.contacts.flush()
  t.same(await adminQuery('SELECT version, serial FROM pcid_program WHERE pcid = $1', [pcid], world.databaseUrl), [{ version: '2.6.5.1', serial: world.keys.entitled }])
})

t.test('NUL bytes in any text field are a 400, never a 500', async (t) => {
  const w = await messageApp(t, {})
  const form = async (f: string, body: string): Promise<Response> => await fetch(`${w.base}${P}?f=${f}`, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  for (const [f, body] of [
    ['sendmsg', `pcid=${w.pcid}&prog=ishop&subject=a%00b&message=x`],
    ['sendmsg', `pcid=${w.pcid}&prog=ishop&subject=s&message=x%00`],
    ['ansmsg', `pcid=${w.pcid}&msgid=3f0c8a2e-5d1b-4c7a-9e55-0b7d2f1a9c44&message=%00`],
    ['dlconfirm', 't=x&ok=0&err=%00']
  ]) {
    const res = await form(f, body)
    t.equal(res.status, 400, `${f}: ${body}`)
    t.equal((await res.text()).split('\r\n')[0], 'ERROR=BAD_REQUEST')
  }
  const field = await send(w.base, { pcid: w.pcid, prog: 'ishop', subject: 'a\u0000b' }, {})
  t.equal(field.status, 400, 'a multipart field')
  const named = await send(w.base, { pcid: w.pcid, prog: 'ishop', subject: 's' }, { 'a\u0000b.txt': 'x' })
  t.equal(named.status, 200, 'an attachment name: its control characters become _')
  t.same(await adminQuery('SELECT name FROM client_attachment', [], w.databaseUrl), [{ name: 'a_b.txt' }])
})

t.test('an attachment name over the file system\'s limit in bytes is refused clearly, nothing stored', async (t) => {
  const w = await messageApp(t, {})
  const res = await send(w.base, { pcid: w.pcid, prog: 'ishop', subject: 'long name' }, { ['Ω'.repeat(200) + '.txt']: 'x' })
  t.equal(res.status, 400)
  t.match(res.body, /^ERROR=BAD_REQUEST\r\n.*longer than 240 bytes/)
  t.equal(await stored(w.databaseUrl), 0)
})

t.test('sendmsg limits: bytes per message, messages and bytes per PC per day, a floor of free disk', async (t) => {
  const w = await messageApp(t, { MESSAGE_MAX_BYTES: '1000', MESSAGE_MAX_PER_PCID_PER_DAY: '3', MESSAGE_MAX_BYTES_PER_PCID_PER_DAY: '1500' })
  const big = await send(w.base, { pcid: w.pcid, prog: 'ishop' }, { 'a.bin': Buffer.alloc(600), 'b.bin': Buffer.alloc(600) })
  t.equal(big.status, 413, 'two attachments over the message limit together')
  t.equal(await stored(w.databaseUrl), 0)
  // Sent at once, as from a script: the quota holds.
  const burst = await Promise.all(Array.from({ length: 6 }, async (_, i) => await send(w.base, { pcid: w.pcid, prog: 'ishop', subject: `s${i}` }, { 'a.bin': Buffer.alloc(400) })))
  t.equal(burst.filter((r) => r.status === 200).length, 3, 'at most 1500 bytes a day: three of 400 bytes')
  t.ok(burst.filter((r) => r.status !== 200).every((r) => r.status === 429 && r.body.startsWith('ERROR=QUOTA_EXCEEDED')), 'the others are told why')
  const text = await send(w.base, { pcid: w.pcid, prog: 'ishop', subject: 'no attachment' }, {})
  t.equal(text.status, 429, 'and three messages a day')
  t.equal(await stored(w.databaseUrl), 3)
  const [row] = await adminQuery<{ id: string, name: string }>('SELECT m.id, a.name FROM client_message m JOIN client_attachment a ON a.message_id = m.id LIMIT 1', [], w.databaseUrl)
  t.equal((await stat(join(w.dataDir, 'messages', row.id, row.name))).mode & 0o777, 0o600, 'an attachment is readable by the server\'s user alone')
  t.equal((await stat(join(w.dataDir, 'messages', row.id))).mode & 0o777, 0o700)

  const full = await messageApp(t, { MESSAGE_MIN_FREE_DISK_BYTES: String(Number.MAX_SAFE_INTEGER) })
  const refused = await send(full.base, { pcid: full.pcid, prog: 'ishop' }, { 'a.txt': 'x' })
  t.equal(refused.status, 507)
  t.match(refused.body, /^ERROR=STORAGE_FULL\r\n/)
  t.equal(await stored(full.databaseUrl), 0, 'nothing half-stored')
})

t.test('error answers never put request text on a line of its own', async (t) => {
  const w = await messageApp(t, {})
  const res = await fetch(`${w.base}${P}?f=x%0d%0aPCID=EVIL%0d%0aOK[0]=9.9.9`)
  const lines = (await res.text()).split('\r\n').filter((line) => line !== '')
  t.equal(res.status, 400)
  t.equal(lines.length, 2)
  t.equal(lines[0], 'ERROR=UNKNOWN_FUNCTION')
  t.notOk(lines.some((line) => line.startsWith('PCID=') || line.startsWith('OK[')))
})

t.test('a request body that trickles in is cut off at BODY_TIMEOUT_SECONDS', async (t) => {
  const w = await messageApp(t, { BODY_TIMEOUT_SECONDS: '1' })
  const started = Date.now()
  const closed = await new Promise<number>((resolve) => {
    const socket = connect(Number(new URL(w.base).port), '127.0.0.1', () => {
      socket.write(`POST ${P} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 60000\r\n\r\nf=getpcid`)
      const drip = setInterval(() => { if (!socket.destroyed) socket.write('a') }, 200)
      socket.on('close', () => { clearInterval(drip); resolve(Date.now() - started) })
      // Without a limit it would go on for minutes: give up after 8 s.
      setTimeout(() => { socket.destroy() }, 8000).unref()
    })
    socket.on('error', () => {})
  })
  t.ok(closed < 5000, `closed after ${closed} ms`)
})

/** Milliseconds until the server closes a connection whose body trickles in (a byte per 200 ms), or `giveUpMs`. */
async function trickle (base: string, head: string, giveUpMs: number): Promise<number> {
  const started = Date.now()
  return await new Promise<number>((resolve) => {
    const socket = connect(Number(new URL(base).port), '127.0.0.1', () => {
      socket.write(head)
      const drip = setInterval(() => { if (!socket.destroyed) socket.write('a') }, 200)
      const done = (): void => { clearInterval(drip); resolve(Date.now() - started) }
      socket.on('close', done)
      setTimeout(() => { socket.destroy() }, giveUpMs).unref()
    })
    socket.on('error', () => {})
  })
}

t.test('admin API bodies: JSON within BODY_TIMEOUT_SECONDS, uploads and imports within UPLOAD_TIMEOUT_SECONDS', async (t) => {
  const built = await buildTestApp(t, { ADMIN_TOKEN: ADMIN, BODY_TIMEOUT_SECONDS: '1', UPLOAD_TIMEOUT_SECONDS: '2' })
  const base = await listen(built.app)
  const head = (path: string, type: string): string => `POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN}\r\nContent-Type: ${type}\r\nContent-Length: 60000\r\n\r\n`
  const json = await trickle(base, head('/api/v1/licenses', 'application/json') + '{"program":"', 8000)
  t.ok(json < 1900, `a JSON body closed after ${json} ms`)
  const upload = await trickle(base, head('/api/v1/programs/ishop/versions', 'multipart/form-data; boundary=x') + '--x\r\n', 8000)
  t.ok(upload > 1900 && upload < 4500, `an upload closed after ${upload} ms (its own, longer limit)`)
  const csv = await trickle(base, head('/api/v1/licenses/import', 'text/csv') + 'ishop,', 8000)
  t.ok(csv > 1900 && csv < 4500, `a CSV import closed after ${csv} ms`)
})

t.test('the body deadline of an injected request whose body is never read does not throw', async (t) => {
  const built = await buildTestApp(t, { ADMIN_TOKEN: ADMIN, BODY_TIMEOUT_SECONDS: '1' })
  const res = await built.app.inject({ method: 'POST', url: '/api/v1/licenses', headers: { authorization: 'Bearer wrong', 'content-type': 'application/json' }, payload: '{"program":"ishop"}' })
  t.equal(res.statusCode, 401)
  // An uncaught TypeError from the timer (no socket to destroy) would fail this file.
  await new Promise((resolve) => setTimeout(resolve, 1500))
})

t.test('Range requests for all but the last byte spend a link within two answers, in a row or at once', async (t) => {
  const world = await buildWorld(t)
  const link = async (): Promise<string> => {
    const pcid = await world.pcid()
    return (await world.query(`prog[]=ishop&version[]=2.6.5.1&serial[]=${enc(world.keys.entitled)}&pcid=${pcid}`)).map.get('URL[0][2]') ?? ''
  }
  const range = { range: `bytes=0-${SETUP_SIZE - 2}` }
  const first = await link()
  const statuses: number[] = []
  for (let i = 0; i < 20; i++) {
    const res = await fetch(first, { headers: range })
    await res.arrayBuffer()
    statuses.push(res.status)
  }
  t.ok(statuses.filter((s) => s === 206).length <= 2, `answered: ${statuses.join(',')}`)
  t.equal(statuses.at(-1), 410)
  const second = await link()
  const parallel = await Promise.all(Array.from({ length: 8 }, async () => { const res = await fetch(second, { headers: range }); await res.arrayBuffer(); return res.status }))
  t.ok(parallel.filter((s) => s === 206).length <= 2, `at once: ${parallel.join(',')}`)
})

t.test('/ftp/ has a rate limit per address', async (t) => {
  const world = await buildWorld(t, { DOWNLOAD_RATE_LIMIT_MAX: '3' })
  const statuses: number[] = []
  for (let i = 0; i < 4; i++) statuses.push((await fetch(`${world.base}/ftp/ishop/2.7.0.0/setup.exe?t=x`)).status)
  t.same(statuses, [403, 403, 403, 429])
  const limited = await fetch(`${world.base}/ftp/ishop/2.7.0.0/setup.exe?t=x`)
  t.match(await limited.text(), /^ERROR=RATE_LIMITED\r\n/)
  t.ok(Number(limited.headers.get('retry-after')) > 0)
})

t.test('a suspended or revoked license\'s links answer 410, on every instance within LICENSE_CACHE_MS', async (t) => {
  const world = await buildWorld(t, { ADMIN_TOKEN: ADMIN, LICENSE_CACHE_MS: '300' })
  const other = await buildTestApp(t, { FTP_ROOT: world.root, REPO_SETTLE_MS: '0', TOKEN_SECRET, LICENSE_CACHE_MS: '300' }, { databaseUrl: world.databaseUrl })
  const otherBase = await listen(other.app)
  const pcid = await world.pcid()
  const url = (await world.query(`prog[]=ishop&version[]=2.6.5.1&serial[]=${enc(world.keys.entitled)}&pcid=${pcid}`)).map.get('URL[0][2]') ?? ''
  const path = url.slice(world.base.length)
  t.equal((await fetch(`${otherBase}${path}`, { method: 'HEAD' })).status, 200, 'the other instance has read the license: active')
  const patch = async (status: string): Promise<number> => (await fetch(`${world.base}/api/v1/licenses/${world.keys.entitled}`, { method: 'PATCH', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify({ status }) })).status
  t.equal(await patch('revoked'), 200)
  const here = await fetch(url, { headers: { range: 'bytes=0-9' } })
  t.equal(here.status, 410, 'at once on the instance that made the change')
  t.match(await here.text(), /^ERROR=GONE\r\n.*revoked/)
  await new Promise((resolve) => setTimeout(resolve, 400))
  t.equal((await fetch(`${otherBase}${path}`, { headers: { range: 'bytes=0-9' } })).status, 410, 'within LICENSE_CACHE_MS on another')
  t.equal(await patch('suspended'), 200)
  t.equal((await fetch(url, { method: 'HEAD' })).status, 410, 'suspended: the same')
  t.equal(await patch('active'), 200)
  t.equal((await fetch(url, { headers: { range: 'bytes=0-9' } })).status, 206, 'active again: the unspent link works again')
})
