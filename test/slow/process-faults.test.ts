import { createHash, randomBytes } from 'node:crypto'
import { readdir } from 'node:fs/promises'
import { request } from 'node:http'
import { join } from 'node:path'
import t from 'tap'
import { adminQuery, createTestDatabase } from '../helpers/db.js'
import { freePort, spawnServer, waitForOk, type ServerProcess } from '../helpers/process.js'
import { makeTree } from '../helpers/tree.js'

const ADMIN = 'bootstrap-admin-token-0123456789abcdef'
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

/**
 * The server killed with SIGKILL in the middle of an upload, a download and seat binding:
 * after a restart nothing is half-written and everything can be retried.
 */
t.test('SIGKILL mid-upload, mid-download and mid-seat-binding', async (t) => {
  const root = await makeTree(t, {})
  const databaseUrl = await createTestDatabase(t)
  const port = await freePort()
  const env = { DATABASE_URL: databaseUrl, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', FTP_ROOT: root, DATA_DIR: join(root, '.data'), ADMIN_TOKEN: ADMIN, TOKEN_SECRET: 'kill-test-secret-0123456789abcdef0123456789', REPO_SETTLE_MS: '0', RATE_LIMIT_MAX: '100000' }
  const base = `http://127.0.0.1:${port}`
  let server: ServerProcess | undefined
  const start = async (): Promise<void> => {
    server = spawnServer(env)
    await waitForOk(`${base}/readyz`)
  }
  const kill = async (): Promise<void> => {
    server?.child.kill('SIGKILL')
    await server?.exited
  }
  t.teardown(async () => { await kill() })
  const api = async (method: string, path: string, body?: unknown): Promise<{ status: number, json: any }> => {
    const res = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${ADMIN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) })
    return { status: res.status, json: await res.json().catch(() => undefined) }
  }
  await start()
  t.equal((await api('POST', '/api/v1/programs', { name: 'ishop' })).status, 201)

  // 1. An upload killed half-way.
  const boundary = 'killboundary'
  const file = randomBytes(30 * 1024 * 1024)
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="version"\r\n\r\n2.0\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="setup.exe"\r\n\r\n`),
    file,
    Buffer.from(`\r\n--${boundary}--\r\n`)
  ])
  const upload = (limit?: number): Promise<number> => new Promise((resolve) => {
    const req = request(`${base}/api/v1/programs/ishop/versions`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': body.length } }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)) })
    req.on('error', () => resolve(-1))
    if (limit === undefined) req.end(body)
    else req.write(body.subarray(0, limit))
  })
  const cut = upload(10 * 1024 * 1024)
  await new Promise((resolve) => setTimeout(resolve, 500))
  await kill()
  t.equal(await cut, -1, 'the upload broke with the server')
  t.ok((await readdir(join(root, '.staging'))).length > 0, 'the killed upload left a staging folder (invisible to clients)')
  await start()
  t.same(await readdir(join(root, '.staging')), [], 'removed at restart: its process is gone')
  t.same((await readdir(root)).filter((n) => !n.startsWith('.')), [], 'no version folder, nothing half-published')
  t.equal((await api('GET', '/api/v1/programs/ishop/versions')).json.items.length, 0)
  t.equal(await upload(), 201, 'the upload can be retried')

  // 2. A download killed half-way, resumed after the restart with the same link.
  const license = await api('POST', '/api/v1/licenses', { program: 'ishop', customerName: 'C', seatLimit: 3 })
  const key = license.json.key as string
  const pcids = await Promise.all(Array.from({ length: 20 }, async () => (await (await fetch(`${base}/myweb/iupdate.php?f=getpcid`)).text()).trim().slice(5)))
  const answer = await (await fetch(`${base}/myweb/iupdate.php?f=qrymaxver&prog[]=ishop&version[]=1.0&serial[]=${key}&pcid=${pcids[0]}`)).text()
  const link = /URL\[0\]\[0\]=(\S+)/.exec(answer)?.[1] ?? ''
  const partial = await new Promise<Buffer>((resolve) => {
    const chunks: Buffer[] = []
    let length = 0
    const req = request(link, (res) => {
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk)
        length += chunk.length
        if (length > 5 * 1024 * 1024) { res.pause(); kill().then(() => resolve(Buffer.concat(chunks))).catch(() => {}) }
      })
      res.on('error', () => {})
    })
    req.on('error', () => {})
    req.end()
  })
  await start()
  const rest = await fetch(link, { headers: { range: `bytes=${partial.length}-` } })
  t.equal(rest.status, 206, 'the same link resumes on the restarted server')
  t.equal(sha(Buffer.concat([partial, Buffer.from(await rest.arrayBuffer())])), sha(file), 'and the file is whole')

  // 3. Seats being bound when the server dies: after the restart the limit holds and PCs can retry.
  const racing = pcids.slice(1).map(async (pcid) => await fetch(`${base}/myweb/iupdate.php?f=qrymaxver&prog[]=ishop&version[]=1.0&serial[]=${key}&pcid=${pcid}`).then((r) => r.status).catch(() => -1))
  await new Promise((resolve) => setTimeout(resolve, 15))
  await kill()
  await Promise.all(racing)
  await start()
  const licensed: string[] = []
  for (const pcid of pcids) {
    const text = await (await fetch(`${base}/myweb/iupdate.php?f=qrymaxver&prog[]=ishop&version[]=1.0&serial[]=${key}&pcid=${pcid}&v=1`)).text()
    if (/LICENSE\[0\]=\S/.test(text)) licensed.push(pcid)
    else t.match(text, /REASON\[0\]=SEAT_LIMIT/)
  }
  t.equal(licensed.length, 3, 'exactly the seat limit, whoever won before the kill')
  const seats = await adminQuery('SELECT s.pcid FROM seat s JOIN license l ON l.id = s.license_id WHERE l.key = $1', [key], databaseUrl)
  t.same(seats.map((s) => s.pcid).sort(), licensed.sort(), 'the seats match what clients are told')
})
