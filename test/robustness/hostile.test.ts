import { readdir, stat } from 'node:fs/promises'
import { connect } from 'node:net'
import { join } from 'node:path'
import { adminQuery } from '../helpers/db.js'
import t from 'tap'
import { buildWorld } from '../helpers/world.js'

/**
 * A generated corpus of hostile requests (malformed query strings, oversized arrays, bad
 * versions, keys and charsets, path traversal in every field and token, truncated and
 * malformed multipart bodies). Whatever comes in: never a 5xx but 503, never a stack trace
 * or a file system path in a body, never a file from outside ftp/.
 */
const CORPUS_SIZE = 10_500

// A small deterministic generator, so that a failure can be replayed.
function prng (seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let x = s
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

const TRAVERSAL = ['..', '../..', '../../../../etc/passwd', '..%2f..%2fetc%2fpasswd', '%2e%2e%2f%2e%2e', '..\\..\\windows\\win.ini', '/etc/passwd', 'C:\\Windows\\win.ini', '%00', 'a%00b', '....//....//', '%c0%ae%c0%ae/', '\u0000', '$' + '{jndi:ldap://x}', '<script>', "' OR 1=1 --", '%ff%fe', '%', '%zz', '\\\\server\\share']
const FUNCTIONS = ['getpcid', 'qrymaxver', 'newveravail', 'dlconfirm', 'sendmsg', 'getmsg', 'ansmsg', 'nosuch', '', '__proto__', 'constructor', 'toString']
const SECRET = /root:x:|\[extensions\]|at [\w.<>]+ \(|node_modules|\/work\/|\/tmp\/|\/srv\/|prisma|SELECT |ECONN|Error:/

t.test(`a corpus of ${CORPUS_SIZE} hostile requests`, async (t) => {
  const world = await buildWorld(t, { RATE_LIMIT_MAX: '1000000', MAX_QUERY_BYTES: '4096' })
  const pcid = await world.pcid()
  const { map } = await world.query(`prog[]=ishop&version[]=2.6.5.1&serial[]=${encodeURIComponent(world.keys.entitled)}&pcid=${pcid}`)
  const url = new URL(map.get('URL[0][0]') ?? '')
  const token = url.searchParams.get('t') ?? ''
  const random = prng(20261122)
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]
  const junk = (): string => pick([
    pick(TRAVERSAL),
    encodeURIComponent(pick(TRAVERSAL)),
    'x'.repeat(Math.floor(random() * 3000)),
    String(Math.floor(random() * 1e12)),
    '1.' + '9'.repeat(20),
    '-1.-2',
    '1..2',
    world.keys.entitled.slice(0, Math.floor(random() * 29)),
    world.keys.entitled.replace(/-/g, pick(['', '--', ' ', '%00'])),
    pcid.toLowerCase(),
    token.slice(0, Math.floor(random() * token.length)),
    'Ω'.repeat(Math.floor(random() * 50)),
    '%E1%E2%E3',
    // Line breaks that would forge lines of an answer, NUL bytes Postgres cannot store.
    pick(['x%0d%0aPCID=EVIL%0d%0aOK[0]=9.9.9', '%0aERROR=NONE', '%0d', '%00', 'a%00b']),
    ''
  ])
  const field = (): string => pick(['f', 'prog', 'prog[]', `prog[${Math.floor(random() * 100)}]`, 'prog[][]', 'prog[x]', 'version[]', 'serial[]', 'pcid', 'v', 'cs', 't', 'ok', 'err', 'msgid', 'message', 'subject', junk()])

  const statuses = new Map<number, number>()
  const problems: string[] = []
  const check = (label: string, status: number, body: string): void => {
    statuses.set(status, (statuses.get(status) ?? 0) + 1)
    if (status >= 500 && status !== 503) problems.push(`${status} for ${label.slice(0, 200)}`)
    if (SECRET.test(body)) problems.push(`leak for ${label.slice(0, 200)}: ${body.slice(0, 200)}`)
    // An error answer is its code and one description line: request text never forges a line.
    if (status >= 400 && body.startsWith('ERROR=') && body.split('\r\n').filter((line) => line !== '').length !== 2) problems.push(`forged lines for ${label.slice(0, 200)}: ${body.slice(0, 200)}`)
  }

  // The corpus is drawn first (the generator's order is what makes a failure replayable), then
  // sent a few at a time.
  const corpus: Array<{ method: 'GET' | 'POST' | 'HEAD', path: string, headers: Record<string, string>, payload: string | Buffer | undefined }> = []
  for (let i = 0; i < CORPUS_SIZE; i++) {
    const kind = random()
    let method: 'GET' | 'POST' | 'HEAD' = 'GET'
    let path: string
    let payload: string | Buffer | undefined
    const headers: Record<string, string> = {}
    if (kind < 0.55) {
      // The protocol endpoint with random, repeated and oversized fields.
      const parts = [`f=${pick(FUNCTIONS)}`]
      const n = Math.floor(random() * (random() < 0.05 ? 80 : 8))
      for (let j = 0; j < n; j++) parts.push(`${field()}=${junk()}`)
      if (random() < 0.3) parts.push(`pcid=${pcid}`)
      if (random() < 0.05) parts.push('prog[]=ishop', 'version[]=2.6.5.1', `serial[]=${pick(['%00', 'AB%00CD', world.keys.entitled + '%00'])}`)
      if (random() < 0.2) parts.push(`cs=${pick(['utf8', '437', '928', 'klingon', '', '%00'])}`)
      path = `/myweb/iupdate.php?${parts.join('&')}`
      if (random() < 0.3) {
        method = 'POST'
        headers['content-type'] = pick(['application/x-www-form-urlencoded', 'application/json', 'text/plain', 'multipart/form-data', 'application/xml'])
        payload = parts.reverse().join('&')
      }
    } else if (kind < 0.85) {
      // Downloads: traversal in every segment and in the token.
      const segments = ['ishop', '2.7.0.0', 'setup.exe'].map((s) => (random() < 0.3 ? pick(TRAVERSAL) : s))
      const t = random() < 0.5 ? token : pick([junk(), token.slice(1), token + 'A', token.replace(/[A-M]/g, 'z')])
      path = `/ftp/${segments.join('/')}?t=${encodeURIComponent(t)}`
      if (random() < 0.2) method = 'HEAD'
      if (random() < 0.2) headers.range = pick(['bytes=0-', 'bytes=-1', 'bytes=99999999999-', 'bytes=5-1', 'bytes=0-1,2-3,' + '4-5,'.repeat(50), 'garbage'])
    } else {
      // Truncated and malformed multipart bodies for messages.
      method = 'POST'
      const boundary = pick(['b', 'xyz', '', '-'.repeat(80)])
      headers['content-type'] = `multipart/form-data; boundary=${boundary}`
      const filename = pick([...TRAVERSAL, 'Ω'.repeat(200) + '.txt', 'a\u0000b.txt'])
      const full = `--${boundary}\r\nContent-Disposition: form-data; name="pcid"\r\n\r\n${pcid}\r\n--${boundary}\r\nContent-Disposition: form-data; name="subject"\r\n\r\n${pick(['s', 'a\u0000b', 'Θέμα'])}\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\n\r\n${junk()}\r\n--${boundary}--\r\n`
      payload = Buffer.from(full.slice(0, Math.floor(random() * full.length)))
      path = `/myweb/iupdate.php?f=${pick(['sendmsg', 'ansmsg', 'getpcid'])}&prog=ishop&subject=x`
    }
    corpus.push({ method, path, headers, payload })
  }
  let sent = 0
  let next = 0
  const sender = async (): Promise<void> => {
    while (next < corpus.length) {
      const { method, path, headers, payload } = corpus[next++]
      const res = await world.app.inject({ method, url: path, headers, ...(payload === undefined ? {} : { payload }) })
      sent++
      check(`${method} ${path}`, res.statusCode, res.body)
      if (res.statusCode === 200 && path.startsWith('/ftp/') && res.rawPayload.length > 0) {
        if (!world.setup.subarray(0, 16).equals(res.rawPayload.subarray(0, 16)) && res.rawPayload.length !== 16 && !path.includes('bytes')) {
          // Only the one file the token is for can ever be served.
          const served = res.rawPayload
          if (!world.setup.includes(served.subarray(0, Math.min(64, served.length)))) problems.push(`unexpected bytes for ${path}`)
        }
      }
    }
  }
  await Promise.all(Array.from({ length: 8 }, sender))

  // Request lines no client library would send, on a raw socket.
  const port = Number(new URL(world.base).port)
  const rawLines = [
    'GET /ftp/../../../../etc/passwd HTTP/1.1', 'GET /ftp/ishop/2.7.0.0/../../../package.json?t=x HTTP/1.1', 'GET /myweb/../../etc/passwd HTTP/1.1',
    'GET /myweb/iupdate.php?f=getpcid&prog=%ZZ HTTP/1.1', `GET /myweb/iupdate.php?${'a'.repeat(20000)} HTTP/1.1`, 'GET \\ftp\\ishop HTTP/1.1', 'GARBAGE', 'GET / HTTP/9.9'
  ]
  for (const line of rawLines) {
    const response = await new Promise<string>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => socket.end(`${line}\r\nHost: localhost\r\nConnection: close\r\n\r\n`))
      let text = ''
      socket.on('data', (d) => { text += d.toString('latin1') })
      socket.on('end', () => resolve(text))
      socket.on('error', () => resolve(text))
    })
    sent++
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 400)
    check(line, status, response)
  }

  t.ok(sent >= 10_000, `${sent} requests sent`)
  t.same(problems, [], 'no 5xx, no leak, no stray file')
  t.ok((statuses.get(200) ?? 0) > 100 && (statuses.get(400) ?? 0) > 1000, `statuses seen: ${JSON.stringify(Object.fromEntries(statuses))}`)
  // Some bodies were cut after a complete part and still made a valid message: each stored
  // one is whole (its attachments on disk, byte for byte), and no broken one left files.
  const rows = await adminQuery('SELECT m.id, a.name, a.size::int AS size FROM client_message m LEFT JOIN client_attachment a ON a.message_id = m.id', [], world.databaseUrl)
  for (const row of rows.filter((r) => r.name !== null)) {
    t.equal((await stat(join(world.config.DATA_DIR, 'messages', row.id, row.name))).size, row.size, `attachment ${row.name} is whole`)
  }
  t.same(await readdir(join(world.config.DATA_DIR, 'messages', '.staging')).catch(() => []), [], 'no staging leftovers')

  // After all that, a normal poll's contact is still written.
  const after = await world.pcid()
  t.equal((await world.query(`prog[]=ishop&version[]=2.6.5.1&serial[]=${encodeURIComponent(world.keys.entitled)}&pcid=${after}`)).status, 200)
  await world.app.contacts.flush()
  t.same(await adminQuery('SELECT version, serial FROM pcid_program WHERE pcid = $1', [after], world.databaseUrl), [{ version: '2.6.5.1', serial: world.keys.entitled }], 'the contact of a normal poll is written')
})
