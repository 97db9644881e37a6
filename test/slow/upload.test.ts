import { readFile, stat } from 'node:fs/promises'
import { request } from 'node:http'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import t from 'tap'
import { createTestDatabase } from '../helpers/db.js'
import { freePort, spawnServer, waitForOk } from '../helpers/process.js'
import { makeTree } from '../helpers/tree.js'

const ADMIN = 'bootstrap-admin-token-0123456789abcdef'

t.test('a 500 MB upload is streamed: the server\'s memory stays flat', async (t) => {
  const root = await makeTree(t, {})
  const databaseUrl = await createTestDatabase(t)
  const port = await freePort()
  const server = spawnServer({ DATABASE_URL: databaseUrl, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', FTP_ROOT: root, DATA_DIR: join(root, '.data'), ADMIN_TOKEN: ADMIN })
  t.teardown(() => { server.child.kill('SIGKILL') })
  const base = `http://127.0.0.1:${port}`
  await waitForOk(`${base}/readyz`)
  const created = await fetch(`${base}/api/v1/programs`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: '{"name":"big"}' })
  t.equal(created.status, 201)
  const rss = async (): Promise<number> => Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${server.child.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024
  const boundary = 'bigboundary0123456789'
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="version"\r\n\r\n1.0\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`)
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`)
  const chunk = Buffer.alloc(1 << 20, 7)
  const SIZE = 500
  const before = await rss()
  let peak = before
  const sampler = setInterval(() => { rss().then((m) => { peak = Math.max(peak, m) }).catch(() => {}) }, 50)
  const status = await new Promise<number>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/api/v1/programs/big/versions', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': head.length + SIZE * chunk.length + tail.length } }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    })
    req.on('error', reject)
    const body = Readable.from((function * () { yield head; for (let i = 0; i < SIZE; i++) yield chunk; yield tail })())
    body.pipe(req)
  })
  clearInterval(sampler)
  t.equal(status, 201)
  t.equal((await stat(join(root, 'big', '1.0', 'big.bin'))).size, SIZE * chunk.length)
  const growth = peak - before
  t.ok(growth < 100, `server memory grew ${growth.toFixed(0)} MiB while 500 MiB streamed through (${before.toFixed(0)} → ${peak.toFixed(0)} MiB)`)
})
