import { join } from 'node:path'
import { Webhook } from 'standardwebhooks'
import t from 'tap'
import { ADMIN } from '../helpers/admin.js'
import { adminQuery, createTestDatabase } from '../helpers/db.js'
import { freePort, killableServer } from '../helpers/process.js'
import { Receiver } from '../helpers/receiver.js'
import { until } from '../helpers/release.js'
import { makeTree } from '../helpers/tree.js'

/**
 * The server killed with SIGKILL while a receiver holds a delivery: the next start retries it
 * (its job expired with the dead worker), with the same webhook-id, and it is delivered once.
 */
t.test('SIGKILL mid-delivery: delivered after the restart, once by id', async (t) => {
  const receiver = new Receiver()
  const url = await receiver.start()
  t.teardown(async () => { await receiver.stop() })
  const root = await makeTree(t, { 'app/1.0/setup.exe': 'installer' })
  const databaseUrl = await createTestDatabase(t)
  const port = await freePort()
  const env = {
    DATABASE_URL: databaseUrl,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    FTP_ROOT: root,
    DATA_DIR: join(root, '.data'),
    ADMIN_TOKEN: ADMIN,
    REPO_SETTLE_MS: '0',
    WEBHOOK_FLUSH_MS: '50',
    WEBHOOK_RETRY_DELAY_SECONDS: '1',
    WEBHOOK_TIMEOUT_SECONDS: '2'
  }
  const { start, kill, api } = killableServer(t, env, ADMIN)
  await start()
  t.equal((await api('POST', '/api/v1/programs', { name: 'app' })).status, 201)
  const endpoint = await api('POST', '/api/v1/webhooks', { url, events: ['license.created'] })
  t.equal(endpoint.status, 201)
  receiver.answer = 'hang'
  const license = await api('POST', '/api/v1/licenses', { program: 'app', customerName: 'Shop' })
  t.equal(license.status, 201)
  await until(async () => receiver.received.length === 1, 20_000)
  await kill()
  const [row] = await adminQuery<{ status: string }>('SELECT status FROM webhook_delivery', [], databaseUrl)
  t.equal(row.status, 'pending', 'not delivered when the server died')

  receiver.answer = 200
  await start()
  await until(async () => (await adminQuery<{ status: string }>('SELECT status FROM webhook_delivery', [], databaseUrl))[0].status === 'delivered', 60_000)
  const ids = new Set(receiver.received.map((r) => r.headers['webhook-id']))
  t.equal(ids.size, 1, 'every attempt carried the same webhook-id')
  t.ok(receiver.received.length >= 2, 'sent again after the restart')
  const verifier = new Webhook(endpoint.json.secret)
  t.match(verifier.verify(receiver.received.at(-1)?.body ?? '', receiver.received.at(-1)?.headers as Record<string, string>), { type: 'license.created', data: { key: license.json.key } })
  // Nothing is sent again once delivered (the retry of the dead worker's attempt included).
  const sent = receiver.received.length
  await new Promise((resolve) => setTimeout(resolve, 4000))
  t.equal(receiver.received.length, sent, 'not sent again')
  const [done] = await adminQuery<{ n: number }>('SELECT count(*)::int AS n FROM webhook_delivery WHERE status = \'delivered\'', [], databaseUrl)
  t.equal(done.n, 1, 'one delivery, delivered once')
})
