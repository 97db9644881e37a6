import { createHash } from 'node:crypto'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import iconv from 'iconv-lite'
import t, { type Test } from 'tap'
import { buildTestApp, listen } from '../helpers/app.js'
import { makePc, type Pc } from '../helpers/client.js'

// Imessage, Imessagesnd and Imessagerd as iupdate-client does them (docs/client.md), against
// the server's f=sendmsg, f=getmsg and f=ansmsg over a real socket.

const ADMIN = 'bootstrap-admin-token-0123456789abcdef'
const sha = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex')

async function server (t: Test): Promise<{ host: string, admin: (method: string, path: string, body?: unknown) => Promise<any> }> {
  const { app } = await buildTestApp(t, { ADMIN_TOKEN: ADMIN })
  const base = await listen(app)
  return {
    host: new URL(base).host,
    admin: async (method, path, body) => {
      const res = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${ADMIN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) })
      return await res.json()
    }
  }
}

async function installed (t: Test, host: string): Promise<Pc> {
  const pc = await makePc(t)
  const added = await pc.run('add', 'ishop', '2.6.5.1', await pc.ini('f1.ini', { Host: host, LocalPath: pc.root }))
  t.equal(added.code, 0, added.err)
  return pc
}

t.test('a Greek message in windows-1253 with same-named attachments is queued, sent and stored as written', async (t) => {
  const { host, admin } = await server(t)
  const pc = await installed(t, host)
  const first = join(pc.root, 'C', 'a.txt')
  const second = join(pc.root, 'D', 'backup', 'a.txt')
  const greek = join(pc.root, 'Αναφορά σφάλματος.log')
  await mkdir(join(pc.root, 'C'))
  await mkdir(join(pc.root, 'D', 'backup'), { recursive: true })
  await writeFile(first, 'πρώτο αρχείο')
  await writeFile(second, Buffer.from([0, 1, 2, 255]))
  await writeFile(greek, 'γραμμή 1\r\nγραμμή 2')
  const subject = 'Πρόβλημα με την εκτύπωση'
  const message = 'Καλημέρα,\nη εκτύπωση τιμολογίων σταμάτησε.'

  const sent = await pc.run('message', 'ishop', '-u', 'Γιώργος', '-s', subject, '-m', message, '-f', first, '-f', second, '-f', greek)
  t.equal(sent.code, 0, sent.err)
  const id = /message (\S+) for ishop queued with a\.txt, a2\.txt, Αναφορά σφάλματος\.log/.exec(sent.out)?.[1]
  t.ok(id, 'same base names kept apart: a.txt, a2.txt')
  const msgid = new RegExp(`message ${id} sent to ${host} as ([0-9a-f-]{36})`).exec(sent.out)?.[1]
  t.ok(msgid, 'sent at once, with the server\'s id')

  const folder = join(pc.data, 'imessage', id!)
  t.same((await readdir(folder)).sort(), ['.imessage.sent', 'a.txt', 'a2.txt', 'Αναφορά σφάλματος.log'].sort(), '.imessage.new became .imessage.sent')
  const file = await readFile(join(folder, '.imessage.sent'))
  t.ok(file.includes(iconv.encode(`Subject=${subject}\r\n`, 'win1253')), 'the message file is windows-1253 (the default 928)')
  t.ok(file.includes(iconv.encode('Message=Καλημέρα,\\nη εκτύπωση', 'win1253')), 'line breaks as \\n')
  t.ok(file.includes(Buffer.from(`Msgid=${msgid}\r\n`)))

  const inbox = await admin('GET', '/api/v1/messages/inbox')
  t.equal(inbox.total, 1)
  const stored = inbox.items[0]
  t.match(stored, { id: msgid, program: 'ishop', userId: 'Γιώργος', subject, text: message, charset: '928', clientMsgId: id })
  t.same(stored.attachments.map((a: { name: string }) => a.name), ['a.txt', 'a2.txt', 'Αναφορά σφάλματος.log'])
  t.same(stored.attachments.map((a: { sha256: string }) => a.sha256), [sha(await readFile(first)), sha(await readFile(second)), sha(await readFile(greek))])

  const utf8 = await pc.run('message', 'ishop', '-utf8', '-s', 'Ω ✓ 日本', '-m', 'x')
  const dos = await pc.run('message', 'ishop', '-437', '-s', 'Grüße ½ ░▒▓')
  t.same([utf8.code, dos.code], [0, 0])
  const items = (await admin('GET', '/api/v1/messages/inbox')).items
  t.same(items.map((m: { subject: string, charset: string }) => [m.subject, m.charset]).sort(), [[subject, '928'], ['Ω ✓ 日本', 'utf8'], ['Grüße ½ ░▒▓', '437']].sort())
})

t.test('a message waits while its server cannot be reached, and goes with the next check', async (t) => {
  const { host, admin } = await server(t)
  const pc = await installed(t, '127.0.0.1:9')
  const queued = await pc.run('message', 'ishop', '-s', 'Ερώτηση', '-m', 'Πότε;')
  t.equal(queued.code, 1, 'not sent')
  t.match(queued.out, /message (\S+) not sent: .*127\.0\.0\.1:9/)
  const id = /message (\S+) for ishop queued/.exec(queued.out)?.[1]
  t.same(await readdir(join(pc.data, 'imessage', id!)), ['.imessage.new'], 'still queued')
  t.equal((await pc.run('message', 'nosuch', '-m', 'x')).err, 'iupdate-client: nosuch is not registered here (iupdate-client add nosuch <version> <file.ini>): its server is not known\n')

  t.equal((await pc.run('add', 'ishop', '2.6.5.1', await pc.ini('f2.ini', { Host: host, LocalPath: pc.root }))).code, 0)
  const check = await pc.run('check')
  t.match(check.out, `message ${id} sent to ${host}`)
  t.same(await readdir(join(pc.data, 'imessage', id!)), ['.imessage.sent'])
  t.match((await admin('GET', '/api/v1/messages/inbox')).items, [{ subject: 'Ερώτηση', text: 'Πότε;', clientMsgId: id }])
})

t.test('questions: fetched once from the server, kept until answered, answered by id', async (t) => {
  const { host, admin } = await server(t)
  const pc = await installed(t, host)
  const pcid = (await pc.state()).hosts[host].pcid
  t.equal((await pc.run('questions')).out, 'no questions waiting\n')
  const text = 'Είστε ικανοποιημένοι;\nΑπαντήστε με ναι ή όχι.'
  t.match(await admin('POST', '/api/v1/messages/questions', { pcid, subject: 'Έρευνα', text }), { recipients: 1 })

  const listed = await pc.run('questions')
  t.equal(listed.code, 0)
  const id = new RegExp(`^([0-9a-f-]{36})  \\S+  ${host}\\n  Έρευνα\\n  Είστε ικανοποιημένοι;\\n  Απαντήστε με ναι ή όχι\\.\\n$`, 'm').exec(listed.out)?.[1]
  t.ok(id, listed.out)
  t.match(listed.out, `question ${id} from ${host}: Έρευνα`, 'logged as it arrives')
  t.match((await pc.run('questions')).out, id!, 'still listed: the server hands a question out once, the client keeps it')

  const answered = await pc.run('questions', '--answer', id!, '-m', 'Ναι, πολύ.')
  t.equal(answered.code, 0, answered.err)
  const deliveries = (await admin('GET', '/api/v1/messages/questions')).items[0].deliveries
  t.match(deliveries, [{ messageId: id, pcid, answer: 'Ναι, πολύ.' }], 'the answer is stored beside the question')
  t.equal((await pc.run('questions')).out, 'no questions waiting\n')
  t.match((await pc.run('questions', '--all')).out, `${id}`)
  const twice = await pc.run('questions', '--answer', id!, '-m', 'Όχι')
  t.match(twice.out, 'was answered before; the first answer is kept')
  t.equal((await admin('GET', '/api/v1/messages/questions')).items[0].deliveries[0].answer, 'Ναι, πολύ.')
  t.match((await pc.run('questions', '--answer', 'nosuch', '-m', 'x')).err, 'no question nosuch here')
})
