import { Webhook } from 'standardwebhooks'
import t from 'tap'
import { adminApi } from '../helpers/admin.js'
import { buildReleaseWorld, insertPcids, poll, until } from '../helpers/release.js'
import { Receiver } from '../helpers/receiver.js'

const FAST = { WEBHOOK_FLUSH_MS: '50', WEBHOOK_RETRY_DELAY_SECONDS: '1', WEBHOOK_TIMEOUT_SECONDS: '2' }

t.test('a webhook is delivered signed as Standard Webhooks says, and verifies with its reference library', async (t) => {
  const receiver = new Receiver()
  const url = await receiver.start()
  t.teardown(async () => { await receiver.stop() })
  const w = await buildReleaseWorld(t, FAST)
  const created = await adminApi(w.app, 'POST', '/api/v1/webhooks', { url, events: ['license.created', 'seat.bound'] })
  t.equal(created.status, 201)
  t.match(created.json.secret, /^whsec_[A-Za-z0-9+/]+=*$/)
  t.equal((await adminApi(w.app, 'POST', '/api/v1/webhooks', { url, events: ['nosuch.event'] })).status, 400)
  t.equal((await adminApi(w.app, 'POST', '/api/v1/webhooks', { url, events: ['seat.bound'], secret: 'not-a-secret' })).status, 400)

  const license = await adminApi(w.app, 'POST', '/api/v1/licenses', { program: 'app', customerName: 'Shop', seatLimit: 2 })
  t.equal(license.status, 201)
  const [pcid] = await insertPcids(w.databaseUrl, 1)
  await poll(w.app, pcid, '2.0', license.json.key)
  await until(async () => receiver.received.length >= 2, 10_000)

  const verifier = new Webhook(created.json.secret)
  const events = receiver.received.map((r) => verifier.verify(r.body, r.headers as Record<string, string>) as { type: string, data: Record<string, unknown> })
  t.same(events.map((e) => e.type).sort(), ['license.created', 'seat.bound'])
  t.match(events.find((e) => e.type === 'seat.bound')?.data, { key: license.json.key, program: 'app', pcid })
  t.match(receiver.received[0].headers['webhook-id'], /^msg_/)
  t.throws(() => new Webhook('whsec_' + Buffer.alloc(24, 1).toString('base64')).verify(receiver.received[0].body, receiver.received[0].headers as Record<string, string>), 'another secret does not verify')

  const log = await adminApi(w.app, 'GET', `/api/v1/webhooks/${created.json.id as string}/deliveries`)
  t.equal(log.json.total, 2)
  t.match(log.json.items[0], { status: 'delivered', attempts: 1, lastStatus: 200 })
  t.notOk('secret' in (await adminApi(w.app, 'GET', '/api/v1/webhooks')).json.items[0], 'the list shows no secret')

  // Redelivery sends the same message id again.
  const first = log.json.items[0]
  const again = await adminApi(w.app, 'POST', `/api/v1/webhooks/${created.json.id as string}/deliveries/${first.id as string}/redeliver`)
  t.equal(again.status, 202)
  await until(async () => receiver.received.length >= 3, 10_000)
  t.equal(receiver.received[2].headers['webhook-id'], first.id)
  t.equal((await adminApi(w.app, 'POST', `/api/v1/webhooks/${created.json.id as string}/deliveries/msg_nosuch/redeliver`)).status, 404)
})

t.test('the receiver down: the delivery is retried with backoff and delivered when it is back; polls never wait for it', async (t) => {
  const receiver = new Receiver()
  const url = await receiver.start()
  const port = receiver.port
  await receiver.stop()
  t.teardown(async () => { await receiver.stop() })
  const w = await buildReleaseWorld(t, FAST)
  const created = await adminApi(w.app, 'POST', '/api/v1/webhooks', { url, events: ['seat.bound'] })
  const key = await w.license()
  const [pcid] = await insertPcids(w.databaseUrl, 1)
  await poll(w.app, pcid, '2.0', key)
  const deliveries = async (): Promise<any[]> => (await adminApi(w.app, 'GET', `/api/v1/webhooks/${created.json.id as string}/deliveries`)).json.items
  await until(async () => (await deliveries())[0]?.attempts >= 1, 10_000)
  t.match((await deliveries())[0], { status: 'pending', lastStatus: null, lastError: /fetch failed|ECONNREFUSED/ })
  await receiver.start(port)
  await until(async () => (await deliveries())[0]?.status === 'delivered', 20_000)
  t.equal(receiver.received.length, 1)
  t.ok((await deliveries())[0].attempts >= 2, 'retried')

  // A receiver that hangs holds no poll: polls answer while its delivery is still being attempted.
  receiver.answer = 'hang'
  const [other] = await insertPcids(w.databaseUrl, 1)
  await poll(w.app, other, '2.0', key)
  await until(async () => receiver.received.length === 2, 10_000)
  await poll(w.app, (await insertPcids(w.databaseUrl, 1))[0], '2.0', key)
  const hanging = (await deliveries()).find((d) => d.payload.data.pcid === other)
  t.match(hanging, { status: 'pending', attempts: 0 }, 'the attempt was still waiting for the receiver when the poll was answered')
})

t.test('download.delivered is told once, at the first f=dlconfirm of a download; download.failed at each failure report', async (t) => {
  const receiver = new Receiver()
  const url = await receiver.start()
  t.teardown(async () => { await receiver.stop() })
  const w = await buildReleaseWorld(t, FAST)
  await adminApi(w.app, 'POST', '/api/v1/webhooks', { url, events: ['download.delivered', 'download.failed'] })
  const key = await w.license()
  const [pcid] = await insertPcids(w.databaseUrl, 1)
  const offer = await poll(w.app, pcid, '2.0', key)
  const link = new URL(offer.body.match(/URL\[0\]\[0\]=(\S+)/)?.[1] ?? '')
  const token = link.searchParams.get('t') ?? ''
  t.equal((await w.app.inject({ url: link.pathname + link.search })).statusCode, 200)
  for (let i = 0; i < 2; i++) t.equal((await w.app.inject({ method: 'POST', url: `/myweb/iupdate.php?f=dlconfirm&t=${token}` })).statusCode, 200)
  await w.app.inject({ method: 'POST', url: `/myweb/iupdate.php?f=dlconfirm&ok=0&err=disk%20full&t=${token}` })
  await until(async () => receiver.received.length >= 2, 10_000)
  await new Promise((resolve) => setTimeout(resolve, 300))
  const events = receiver.received.map((r) => JSON.parse(r.body) as { type: string, data: Record<string, unknown> })
  t.same(events.map((e) => e.type).sort(), ['download.delivered', 'download.failed'])
  t.match(events.find((e) => e.type === 'download.delivered')?.data, { pcid, program: 'app', folder: '3.0' })
  t.match(events.find((e) => e.type === 'download.failed')?.data, { pcid, error: 'disk full' })
})
