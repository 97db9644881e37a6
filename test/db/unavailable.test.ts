import t from 'tap'
import { buildTestApp, listen } from '../helpers/app.js'
import { createTestDatabase } from '../helpers/db.js'
import { CuttableProxy, throughProxy } from '../helpers/proxy.js'

t.test('database down: ERROR=UNAVAILABLE with 503 and Retry-After, healing by itself', async (t) => {
  const direct = await createTestDatabase(t)
  const target = new URL(direct)
  const proxy = new CuttableProxy(target.hostname, Number(target.port || 5432))
  const port = await proxy.start()
  t.teardown(async () => { await proxy.cut() })
  const { app } = await buildTestApp(t, { RETRY_AFTER_SECONDS: '7' }, { databaseUrl: throughProxy(direct, port) })
  const base = await listen(app)

  const before = await fetch(`${base}/myweb/iupdate.php?f=getpcid`)
  t.equal(before.status, 200)
  t.equal((await fetch(`${base}/readyz`)).status, 200)

  await proxy.cut()
  for (let i = 0; i < 3; i++) {
    const res = await fetch(`${base}/myweb/iupdate.php?f=getpcid`)
    t.equal(res.status, 503)
    t.equal(res.headers.get('retry-after'), '7')
    t.equal(res.headers.get('content-type'), 'text/plain; charset=windows-1253')
    const lines = (await res.text()).split('\r\n')
    t.equal(lines[0], 'ERROR=UNAVAILABLE')
    t.notMatch(lines.join('\n'), /ECONNREFUSED|127\.0\.0\.1|prisma|at /i, 'no internals')
  }
  const ready = await fetch(`${base}/readyz`)
  t.equal(ready.status, 503)
  t.match(await ready.json(), { status: 'unavailable', database: 'unreachable' })
  t.equal((await fetch(`${base}/healthz`)).status, 200, 'the process itself is up')

  await proxy.start(port)
  let healed = false
  for (let i = 0; i < 50 && !healed; i++) {
    const res = await fetch(`${base}/myweb/iupdate.php?f=getpcid`)
    healed = res.status === 200
    if (!healed) await new Promise((resolve) => setTimeout(resolve, 100))
  }
  t.ok(healed, 'answers again without a restart')
  t.equal((await fetch(`${base}/readyz`)).status, 200)
})
