import { createHash } from 'node:crypto'
import { request as httpRequest } from 'node:http'
import { connect } from 'node:net'
import t from 'tap'
import { LinkTokens, TOKEN_LENGTH } from '../../../src/downloads/link-tokens.js'
import { buildTestApp, listen } from '../../helpers/app.js'
import { adminQuery } from '../../helpers/db.js'
import { buildWorld, SETUP_SIZE, TOKEN_SECRET, type World } from '../../helpers/world.js'

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

async function setupUrl (world: World): Promise<{ url: string, pcid: string }> {
  const pcid = await world.pcid()
  const { map } = await world.query(`prog[]=ishop&version[]=2.6.5.1&serial[]=${encodeURIComponent(world.keys.entitled)}&pcid=${pcid}`)
  return { url: map.get('URL[0][2]') ?? '', pcid }
}

/** A raw GET, for paths that fetch would normalise and for cutting a transfer short. */
async function raw (base: string, path: string, headers: Record<string, string> = {}, stopAfter?: number): Promise<{ status: number, headers: Record<string, string | string[] | undefined>, body: Buffer }> {
  const url = new URL(base)
  return await new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path, headers, method: 'GET' }, (res) => {
      const chunks: Buffer[] = []
      let length = 0
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk)
        length += chunk.length
        if (stopAfter !== undefined && length >= stopAfter) {
          req.destroy()
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).subarray(0, stopAfter) })
        }
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }))
      res.on('error', () => {})
    })
    req.on('error', (err) => { if (stopAfter === undefined) reject(err) })
    req.end()
  })
}

async function waitForRecord (world: World, predicate: (row: { completed: boolean, confirmed: boolean, bytes: string }) => boolean): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const rows = await adminQuery('SELECT completed_at IS NOT NULL AS completed, confirmed_at IS NOT NULL AS confirmed, bytes_served::text AS bytes FROM download', [], world.databaseUrl)
    if (rows.length > 0 && predicate(rows[0] as never)) return
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error('download record not as expected')
}

t.test('a full download, then the link is spent', async (t) => {
  const world = await buildWorld(t)
  const { url, pcid } = await setupUrl(world)
  const res = await fetch(url)
  t.equal(res.status, 200)
  t.equal(res.headers.get('content-length'), String(SETUP_SIZE))
  t.equal(res.headers.get('transfer-encoding'), null, 'not chunked')
  t.equal(res.headers.get('content-encoding'), null, 'not compressed')
  t.equal(res.headers.get('accept-ranges'), 'bytes')
  t.equal(res.headers.get('etag'), `"${sha(world.setup)}"`, 'a strong ETag')
  t.ok(res.headers.get('last-modified'))
  t.equal(sha(Buffer.from(await res.arrayBuffer())), sha(world.setup))
  await waitForRecord(world, (row) => row.completed)
  const [record] = await adminQuery('SELECT pcid, program, folder, path, size::text, license_id IS NOT NULL AS licensed, token_hash FROM download', [], world.databaseUrl)
  t.match(record, { pcid, program: 'ishop', folder: '2.7.0.0', path: 'ishop/2.7.0.0/setup.exe', size: String(SETUP_SIZE), licensed: true })
  const token = new URL(url).searchParams.get('t') ?? ''
  t.equal(record.token_hash, world.app.tokens.open(token)?.key, 'the record is keyed by the token\'s id, hashed')
  t.notMatch(JSON.stringify(record), token, 'the token is never stored in clear')
  const again = await fetch(url)
  t.equal(again.status, 410)
  t.equal((await again.text()).split('\r\n')[0], 'ERROR=GONE')
})

t.test('a link listed again in the same second is a new link: a spent one is never handed out again', async (t) => {
  const world = await buildWorld(t)
  const pcid = await world.pcid()
  const query = `prog[]=ishop&version[]=2.6.5.1&serial[]=${encodeURIComponent(world.keys.entitled)}&pcid=${pcid}`
  const first = (await world.query(query)).map.get('URL[0][2]') ?? ''
  t.equal((await fetch(first).then(async (res) => { await res.arrayBuffer(); return res })).status, 200)
  await waitForRecord(world, (row) => row.completed)
  const second = (await world.query(query)).map.get('URL[0][2]') ?? ''
  t.not(second, first, 'another token')
  const res = await fetch(second)
  t.equal(res.status, 200, 'which downloads')
  t.equal(sha(Buffer.from(await res.arrayBuffer())), sha(world.setup))
})

t.test('a spent link answers 403 in every other spelling of its token, and links of the earlier formats answer 403', async (t) => {
  const world = await buildWorld(t)
  const { url } = await setupUrl(world)
  const token = new URL(url).searchParams.get('t') ?? ''
  const path = new URL(url).pathname
  t.equal((await fetch(url).then(async (res) => { await res.arrayBuffer(); return res })).status, 200)
  await waitForRecord(world, (row) => row.completed)
  t.equal((await fetch(url)).status, 410, 'spent')
  // The same bytes spelled otherwise: the unused low bits of the last character (Node's
  // decoder ignores them), a character the decoder skips, padding, standard base64.
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const last = alphabet.indexOf(token[token.length - 1])
  const spareBits = Array.from({ length: 15 }, (_, bits) => token.slice(0, -1) + alphabet[last ^ (bits + 1)])
  for (const spelling of spareBits) t.ok(Buffer.from(spelling, 'base64url').equals(Buffer.from(token, 'base64url')), 'the same bytes')
  for (const spelling of [...spareBits, `${token.slice(0, 50)}.${token.slice(50)}`, `${token}=`, Buffer.from(token, 'base64url').toString('base64')]) {
    t.equal((await fetch(`${world.base}${path}?t=${encodeURIComponent(spelling)}`)).status, 403, `spelled …${spelling.slice(-6)}`)
  }
  // A link of the builds before (format 4, 115 characters) is no link any more.
  t.equal((await fetch(`${world.base}${path}?t=${'BA'.repeat(57)}B`)).status, 403)
})

t.test('a link is opaque: neither the PCID, the license nor the path can be read from it', async (t) => {
  const world = await buildWorld(t)
  const { url, pcid } = await setupUrl(world)
  const token = new URL(url).searchParams.get('t') ?? ''
  t.equal(token.length, TOKEN_LENGTH)
  const bytes = Buffer.from(token, 'base64url')
  const [license] = await adminQuery<{ id: string }>('SELECT id::text FROM license WHERE key = $1', [world.keys.entitled], world.databaseUrl)
  for (const [what, needle] of [['PCID', Buffer.from(pcid)], ['license id', Buffer.from(license.id.replace(/-/g, ''), 'hex')], ['path digest', createHash('sha256').update('ishop/2.7.0.0/setup.exe').digest().subarray(0, 8)], ['file hash', Buffer.from(sha(world.setup).slice(0, 16), 'hex')]] as const) {
    t.equal(bytes.indexOf(needle), -1, `no ${what} in the token's bytes`)
  }
  t.notMatch(token, pcid)
})

t.test('interrupted, then resumed with Range on a second instance', async (t) => {
  const world = await buildWorld(t)
  const second = await buildTestApp(t, { FTP_ROOT: world.root, REPO_SETTLE_MS: '0', TOKEN_SECRET }, { databaseUrl: world.databaseUrl })
  const secondBase = await listen(second.app)
  const { url } = await setupUrl(world)
  const path = url.slice(world.base.length)
  const first = await raw(world.base, path, {}, 1_000_000)
  t.equal(first.status, 200)
  t.equal(first.body.length, 1_000_000)
  await waitForRecord(world, (row) => Number(row.bytes) > 0)
  const rows = await adminQuery('SELECT completed_at FROM download', [], world.databaseUrl)
  t.equal(rows[0].completed_at, null, 'not complete after the cut')
  const rest = await raw(secondBase, path, { range: 'bytes=1000000-' })
  t.equal(rest.status, 206)
  t.equal(rest.headers['content-range'], `bytes 1000000-${SETUP_SIZE - 1}/${SETUP_SIZE}`)
  t.equal(sha(Buffer.concat([first.body, rest.body])), sha(world.setup), 'the pieces make the file')
  await waitForRecord(world, (row) => row.completed)
  t.equal((await raw(world.base, path, { range: 'bytes=0-9' })).status, 410, 'spent: the bytes served cover the file')
})

t.test('HEAD, single and multiple ranges, If-Range, unsatisfiable', async (t) => {
  const world = await buildWorld(t)
  const { url } = await setupUrl(world)
  const path = url.slice(world.base.length)
  const head = await fetch(url, { method: 'HEAD' })
  t.equal(head.status, 200)
  t.equal(head.headers.get('content-length'), String(SETUP_SIZE))
  t.equal(head.headers.get('etag'), `"${sha(world.setup)}"`)
  t.equal((await head.arrayBuffer()).byteLength, 0)

  const one = await raw(world.base, path, { range: 'bytes=10-19' })
  t.equal(one.status, 206)
  t.same(one.body, world.setup.subarray(10, 20))
  t.equal(one.headers['content-length'], '10')

  const suffix = await raw(world.base, path, { range: 'bytes=-5' })
  t.same(suffix.body, world.setup.subarray(SETUP_SIZE - 5))

  const multi = await raw(world.base, path, { range: `bytes=0-3, 100-103,${SETUP_SIZE - 4}-` })
  t.equal(multi.status, 206)
  const type = String(multi.headers['content-type'])
  t.match(type, /^multipart\/byteranges; boundary=/)
  t.equal(Number(multi.headers['content-length']), multi.body.length, 'Content-Length matches the body')
  const boundary = type.split('boundary=')[1]
  const parts = multi.body.toString('latin1').split(`--${boundary}`).slice(1, -1)
  t.equal(parts.length, 3)
  const expect = [[0, 3], [100, 103], [SETUP_SIZE - 4, SETUP_SIZE - 1]]
  parts.forEach((part, i) => {
    const [head, body] = part.split('\r\n\r\n')
    t.match(head, `Content-Range: bytes ${expect[i][0]}-${expect[i][1]}/${SETUP_SIZE}`)
    t.same(Buffer.from(body.replace(/\r\n$/, ''), 'latin1'), world.setup.subarray(expect[i][0], expect[i][1] + 1))
  })

  const stale = await raw(world.base, path, { range: 'bytes=0-9', 'if-range': '"someotheretag"' })
  t.equal(stale.status, 200, 'If-Range not matching: the whole file')
  t.equal(stale.body.length, SETUP_SIZE)
  // The whole file was delivered: the link is spent now. A fresh one for the rest.
  const fresh = (await setupUrl(world)).url.slice(world.base.length)
  const bad = await raw(world.base, fresh, { range: `bytes=${SETUP_SIZE}-${SETUP_SIZE + 100}` })
  t.equal(bad.status, 416)
  t.equal(bad.headers['content-range'], `bytes */${SETUP_SIZE}`)
})

t.test('forged, altered, misplaced, missing and expired tokens', async (t) => {
  const world = await buildWorld(t)
  const { url, pcid } = await setupUrl(world)
  const token = new URL(url).searchParams.get('t') ?? ''
  const path = new URL(url).pathname
  const flip = token.slice(0, 40) + (token[40] === 'A' ? 'B' : 'A') + token.slice(41)
  t.equal((await fetch(`${world.base}${path}`)).status, 403, 'no token')
  t.equal((await fetch(`${world.base}${path}?t=${flip}`)).status, 403, 'altered')
  t.equal((await fetch(`${world.base}${path}?t=${'A'.repeat(TOKEN_LENGTH)}`)).status, 403, 'forged')
  t.equal((await fetch(`${world.base}${path}?t=short`)).status, 403, 'malformed')
  t.equal((await fetch(`${world.base}/ftp/ishop/2.7.0.0/@win32/ishopx.dll?t=${token}`)).status, 403, 'for another file')
  const other = new LinkTokens(Buffer.from('another-secret-another-secret-another-secret'))
  const file = world.app.repository.file('ishop/2.7.0.0/setup.exe')!
  const foreign = other.issue({ pcid, licenseId: null, expiresAt: new Date(Date.now() + 3_600_000) }, [file])[0]
  t.equal((await fetch(`${world.base}${path}?t=${foreign}`)).status, 403, 'signed with another secret')
  const ours = new LinkTokens(Buffer.from(TOKEN_SECRET))
  const expired = ours.issue({ pcid, licenseId: null, expiresAt: new Date(Date.now() - 1000) }, [file])[0]
  const gone = await fetch(`${world.base}${path}?t=${expired}`)
  t.equal(gone.status, 410, 'expired')
  t.equal((await gone.text()).split('\r\n')[0], 'ERROR=GONE')
  t.equal((await adminQuery('SELECT count(*)::int AS n FROM download', [], world.databaseUrl))[0].n, 0, 'no record for refused requests')
})

t.test('path traversal never reaches a file outside ftp/', async (t) => {
  const world = await buildWorld(t)
  const { url } = await setupUrl(world)
  const token = new URL(url).searchParams.get('t') ?? ''
  const attempts = [
    '/ftp/../package.json', '/ftp/ishop/../../package.json', '/ftp/ishop/2.7.0.0/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
    '/ftp/ishop/..%2f..%2f..%2fetc%2fpasswd', '/ftp/ishop/2.7.0.0/..%5c..%5csetup.exe', '/ftp/%2Fetc%2Fpasswd',
    '/ftp/ishop/2.7.0.0/setup.exe%00.txt', '/ftp/ishop/2.7.0.0/@rename.txt', '/ftp/ishop/@install.txt', '/ftp/ishop/%E0%A4%A'
  ]
  for (const attempt of attempts) {
    const res = await raw(world.base, `${attempt}?t=${token}`)
    t.ok([400, 403, 404, 410].includes(res.status), `${attempt}: ${res.status}`)
    t.notMatch(res.body.toString(), /root:|"name": "iupdate-server"/, 'no file content')
    t.not(res.body.subarray(0, 2).toString(), 'MZ', 'no executable')
    t.equal(res.body.toString().split('\r\n')[0].slice(0, 6), 'ERROR=', 'answered in the protocol format')
    t.notMatch(res.body.toString(), token, 'the token is not echoed')
  }
  // A request line that no client library would send.
  const line = await new Promise<string>((resolve) => {
    const socket = connect(Number(new URL(world.base).port), '127.0.0.1', () => socket.end(`GET /ftp/ishop/2.7.0.0/../../../../etc/passwd?t=${token} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`))
    let text = ''
    socket.on('data', (d) => { text += d.toString() })
    socket.on('end', () => resolve(text))
  })
  t.match(line, /^HTTP\/1\.1 (400|403|404)/)
  t.notMatch(line, /root:/)
})

t.test('f=dlconfirm spends the link; a failure is recorded and the link stays', async (t) => {
  const world = await buildWorld(t)
  const { url } = await setupUrl(world)
  const token = new URL(url).searchParams.get('t') ?? ''
  const confirm = async (extra: string): Promise<Response> => await fetch(`${world.base}/myweb/iupdate.php?f=dlconfirm&t=${token}${extra}`, { method: 'POST' })
  t.equal((await confirm('')).status, 404, 'never used: nothing to confirm')
  await raw(world.base, new URL(url).pathname + `?t=${token}`, { range: 'bytes=0-99' })
  const failed = await confirm('&ok=0&err=' + encodeURIComponent('BITS error 0x80200010 Σφάλμα'))
  t.equal(await failed.text(), 'DLCONFIRM=FAILED\r\n')
  const [row] = await adminQuery('SELECT error, failed_at IS NOT NULL AS failed FROM download', [], world.databaseUrl)
  t.same(row, { error: 'BITS error 0x80200010 Σφάλμα', failed: true })
  t.equal((await raw(world.base, new URL(url).pathname + `?t=${token}`, { range: 'bytes=100-199' })).status, 206, 'still usable after a failure')
  t.equal(await (await confirm('')).text(), 'DLCONFIRM=CONFIRMED\r\n')
  t.equal((await fetch(url)).status, 410, 'confirmed: spent')
  t.equal((await fetch(`${world.base}/myweb/iupdate.php?f=dlconfirm&t=bogus`, { method: 'POST' })).status, 403)
  t.equal((await fetch(`${world.base}/myweb/iupdate.php?f=dlconfirm`, { method: 'POST' })).status, 400)
})
