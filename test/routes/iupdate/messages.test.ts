import { createHash, randomBytes } from 'node:crypto'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import iconv from 'iconv-lite'
import t, { type Test } from 'tap'
import { unescapeValue } from '../../../src/protocol/text.js'
import { buildTestApp, listen } from '../../helpers/app.js'
import { adminQuery } from '../../helpers/db.js'

const ADMIN = 'bootstrap-admin-token-0123456789abcdef'
const URL_PATH = '/myweb/iupdate.php'

/** A multipart body whose text fields are given as raw bytes (in the client's charset). */
function multipartBytes (fields: Record<string, Buffer | string>, files: Array<[string, Buffer]>): { body: Buffer, type: string } {
  const boundary = `----imsg${randomBytes(6).toString('hex')}`
  const parts: Buffer[] = []
  for (const [name, value] of Object.entries(fields)) parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n`), Buffer.from(value), Buffer.from('\r\n'))
  for (const [filename, content] of files) parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`), content, Buffer.from('\r\n'))
  parts.push(Buffer.from(`--${boundary}--\r\n`))
  return { body: Buffer.concat(parts), type: `multipart/form-data; boundary=${boundary}` }
}

/** Percent-encodes bytes, as a client does for its charset. */
const pct = (bytes: Buffer): string => [...bytes].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')

async function world (t: Test, env: Record<string, string> = {}): Promise<{ base: string, app: Awaited<ReturnType<typeof buildTestApp>>['app'], databaseUrl: string, dataDir: string, pcid: (prog?: string) => Promise<string>, admin: (method: string, path: string, body?: unknown) => Promise<any> }> {
  const built = await buildTestApp(t, { ADMIN_TOKEN: ADMIN, ...env })
  const base = await listen(built.app)
  return {
    base,
    app: built.app,
    databaseUrl: built.databaseUrl,
    dataDir: built.config.DATA_DIR,
    pcid: async (prog?: string) => (await (await fetch(`${base}${URL_PATH}?f=getpcid${prog === undefined ? '' : `&prog=${prog}`}`)).text()).trim().slice(5),
    admin: async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${ADMIN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) })
      return { status: res.status, json: res.headers.get('content-type')?.includes('json') === true ? await res.json() : Buffer.from(await res.arrayBuffer()) }
    }
  }
}

t.test('a Greek message in windows-1253 with two same-named attachments round-trips byte for byte', async (t) => {
  const w = await world(t)
  const pcid = await w.pcid('ishop')
  const subject = 'Πρόβλημα με την εκτύπωση'
  const message = 'Καλημέρα,\r\nη εκτύπωση τιμολογίων σταμάτησε.\r\nΕυχαριστώ'
  const first = randomBytes(5000)
  const second = Buffer.concat([Buffer.from('δεύτερο'), randomBytes(3000)])
  const { body, type } = multipartBytes(
    { pcid, prog: 'ishop', userid: iconv.encode('Γιώργος', 'win1253'), subject: iconv.encode(subject, 'win1253'), message: iconv.encode(message, 'win1253'), msgid: 'client-1' },
    [['C:\\Users\\g\\a.txt', first], ['D:\\Backup\\a.txt', second]]
  )
  t.equal(iconv.encode(subject, 'win1253').includes(Buffer.from('Π', 'utf8')), false, 'the fields really are windows-1253 bytes')
  const res = await fetch(`${w.base}${URL_PATH}?f=sendmsg`, { method: 'POST', body, headers: { 'content-type': type } })
  t.equal(res.status, 200)
  const id = (await res.text()).match(/^MSGID=([0-9a-f-]{36})\r\n$/)?.[1]
  t.ok(id, 'the answer carries the message id')

  const inbox = await w.admin('GET', '/api/v1/messages/inbox')
  t.equal(inbox.json.total, 1)
  const stored = inbox.json.items[0]
  t.match(stored, { id, pcid, program: 'ishop', userId: 'Γιώργος', subject, text: message.replace(/\r\n/g, '\n'), charset: '928', clientMsgId: 'client-1' })
  t.same(stored.attachments.map((a: { name: string }) => a.name), ['a.txt', 'a2.txt'], 'same names kept apart, extension kept')
  const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')
  t.same(stored.attachments.map((a: { sha256: string }) => a.sha256), [sha(first), sha(second)])
  t.same((await w.admin('GET', stored.attachments[0].url)).json, first, 'attachment 1 byte for byte')
  t.same((await w.admin('GET', stored.attachments[1].url)).json, second, 'attachment 2 byte for byte')
  const files = await readdir(join(w.dataDir, 'messages', id!))
  t.same(files.sort(), ['a.txt', 'a2.txt'], 'stored under DATA_DIR, not ftp/')

  const again = await fetch(`${w.base}${URL_PATH}?f=sendmsg`, { method: 'POST', body, headers: { 'content-type': type } })
  t.equal(await again.text(), `MSGID=${id}\r\n`, 'a resend answers the same id')
  t.equal((await w.admin('GET', '/api/v1/messages/inbox')).json.total, 1, 'and is stored once')
})

t.test('cp437 and utf8 messages, sent as form fields', async (t) => {
  const w = await world(t)
  const pcid = await w.pcid()
  const dos = 'Grüße ½ ░▒▓ │┤'
  const res437 = await fetch(`${w.base}${URL_PATH}?f=sendmsg`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `pcid=${pcid}&prog=ishop&cs=437&subject=${pct(iconv.encode(dos, 'cp437'))}&message=${pct(iconv.encode('line1\r\nline2', 'cp437'))}` })
  t.equal(res437.status, 200)
  const resUtf8 = await fetch(`${w.base}${URL_PATH}?f=sendmsg&pcid=${pcid}&prog=ishop&cs=utf8&subject=${encodeURIComponent('Ω ✓ 日本')}&message=x`)
  t.equal(resUtf8.status, 200)
  const items = (await w.admin('GET', '/api/v1/messages/inbox')).json.items
  t.same(items.map((m: { subject: string, charset: string }) => [m.subject, m.charset]).sort(), [[dos, '437'], ['Ω ✓ 日本', 'utf8']].sort())
})

t.test('bad charsets, oversize and too many attachments: clear errors, nothing stored', async (t) => {
  const w = await world(t, { MESSAGE_MAX_ATTACHMENT_BYTES: '10000', MESSAGE_MAX_ATTACHMENTS: '2' })
  const pcid = await w.pcid()
  const send = async (fields: Record<string, string | Buffer>, files: Array<[string, Buffer]>): Promise<{ status: number, lines: string[] }> => {
    const { body, type } = multipartBytes({ pcid, prog: 'ishop', subject: 'x', ...fields }, files)
    const res = await fetch(`${w.base}${URL_PATH}?f=sendmsg`, { method: 'POST', body, headers: { 'content-type': type } })
    return { status: res.status, lines: (await res.text()).split('\r\n') }
  }
  const charset = await send({ cs: '1251' }, [['a.txt', Buffer.from('a')]])
  t.equal(charset.status, 400)
  t.equal(charset.lines[0], 'ERROR=BAD_CHARSET')
  t.match(charset.lines[1], /928.*437.*utf8/)
  const big = await send({}, [['a.txt', Buffer.alloc(5000)], ['big.bin', Buffer.alloc(20000)]])
  t.equal(big.status, 413)
  t.equal(big.lines[0], 'ERROR=PAYLOAD_TOO_LARGE')
  const many = await send({}, [['a', Buffer.from('1')], ['b', Buffer.from('2')], ['c', Buffer.from('3')]])
  t.equal(many.status, 413)
  t.equal((await fetch(`${w.base}${URL_PATH}?f=sendmsg&pcid=7Q2M9K4XWJ3HN8RT5VCZ6DPA1E&prog=ishop&subject=x`)).status, 404, 'unknown PCID')
  t.equal((await fetch(`${w.base}${URL_PATH}?f=sendmsg&pcid=${pcid}&prog=../x&subject=x`)).status, 400, 'bad program')
  t.equal((await adminQuery('SELECT count(*)::int AS n FROM client_message', [], w.databaseUrl))[0].n, 0, 'no message stored')
  t.same((await readdir(join(w.dataDir, 'messages')).catch(() => [])).filter((n) => n !== '.staging'), [], 'no attachment stored')
  t.same(await readdir(join(w.dataDir, 'messages', '.staging')).catch(() => []), [], 'no staging leftovers')
})

t.test('a question to a program reaches each of its PCIDs once, and not others; answers are stored once', async (t) => {
  const w = await world(t)
  const viaGetpcid = await w.pcid('ishop')
  const viaPoll = await w.pcid()
  const oldVersion = await w.pcid()
  const other = await w.pcid('taxspooler')
  w.app.contacts.record({ pcid: viaPoll, program: 'ishop', version: '2.7.0.0', serial: null })
  w.app.contacts.record({ pcid: oldVersion, program: 'ishop', version: '2.6.5.1', serial: null })
  w.app.contacts.record({ pcid: other, program: 'taxspooler', version: '3.2.1.1', serial: null })
  const sent = await w.admin('POST', '/api/v1/messages/questions', { program: 'ishop', subject: 'Έρευνα', text: 'Είστε ικανοποιημένοι;\nΑπαντήστε με ναι ή όχι.' })
  t.equal(sent.status, 201)
  t.equal(sent.json.recipients, 3)
  const versioned = await w.admin('POST', '/api/v1/messages/questions', { program: 'ishop', version: '2.6.5.1', subject: 'Αναβάθμιση', text: 'Νέα έκδοση' })
  t.equal(versioned.json.recipients, 1)

  const poll = async (pcid: string, cs = ''): Promise<{ status: number, body: Buffer }> => {
    const res = await fetch(`${w.base}${URL_PATH}?f=getmsg&pcid=${pcid}${cs}`)
    return { status: res.status, body: Buffer.from(await res.arrayBuffer()) }
  }
  const lines = (body: Buffer, charset = 'win1253'): Map<string, string> => new Map(iconv.decode(body, charset).split('\r\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]))

  const first = lines((await poll(viaGetpcid)).body)
  t.equal(first.get('COUNT'), '1')
  t.equal(first.get('SUBJECT[0]'), 'Έρευνα')
  t.equal(first.get('TEXT[0]'), 'Είστε ικανοποιημένοι;\\nΑπαντήστε με ναι ή όχι.', 'line breaks escaped')
  t.equal(unescapeValue(first.get('TEXT[0]') ?? ''), 'Είστε ικανοποιημένοι;\r\nΑπαντήστε με ναι ή όχι.')
  t.equal(lines((await poll(viaGetpcid)).body).get('COUNT'), '0', 'delivered once')
  t.equal(lines((await poll(viaPoll, '&cs=utf8')).body, 'utf8').get('SUBJECT[0]'), 'Έρευνα', 'in the charset asked for')
  t.equal(lines((await poll(oldVersion)).body).get('COUNT'), '2', 'the version question too')
  t.equal(lines((await poll(other)).body).get('COUNT'), '0', 'not to another program')
  t.equal((await poll(other, '&cs=klingon')).status, 400)

  const id = first.get('MSGID[0]') ?? ''
  const answer = async (pcid: string, text: string): Promise<{ status: number, text: string }> => {
    const res = await fetch(`${w.base}${URL_PATH}?f=ansmsg`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `pcid=${pcid}&msgid=${id}&message=${pct(iconv.encode(text, 'win1253'))}` })
    return { status: res.status, text: await res.text() }
  }
  t.same(await answer(viaGetpcid, 'Ναι, πολύ.'), { status: 200, text: `MSGID=${id}\r\nANSWERED=1\r\n` })
  const twice = await answer(viaGetpcid, 'Όχι')
  t.equal(twice.status, 409)
  t.match(twice.text, /^ERROR=ALREADY_ANSWERED\r\n/)
  t.equal((await answer(other, 'not mine')).status, 404)
  const questions = (await w.admin('GET', '/api/v1/messages/questions')).json.items
  const survey = questions.find((q: { subject: string }) => q.subject === 'Έρευνα')
  t.equal(survey.deliveries.length, 3)
  const mine = survey.deliveries.find((d: { pcid: string }) => d.pcid === viaGetpcid)
  t.match(mine, { messageId: id, answer: 'Ναι, πολύ.' })
  t.ok(mine.deliveredAt && mine.answeredAt)
  t.equal(survey.deliveries.filter((d: { answer: string | null }) => d.answer !== null).length, 1, 'stored once')
  t.equal((await w.admin('POST', '/api/v1/messages/questions', { pcid: other, subject: 's', text: 't' })).json.recipients, 1, 'to one PCID')
  t.equal((await w.admin('POST', '/api/v1/messages/questions', { subject: 's', text: 't' })).status, 400)
})
