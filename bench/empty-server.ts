/**
 * The reference: a bare Fastify server on PORT with one empty route, and the same route
 * after N microseconds of busy work (`/busy?us=N`), which shows what a fixed amount of extra
 * work per request does to requests per second on the machine at hand.
 */
import Fastify from 'fastify'

const app = Fastify({ logger: false })
app.get('/empty', async () => '')
app.get('/busy', async (request) => {
  const until = performance.now() + Number((request.query as { us?: string }).us ?? 0) / 1000
  while (performance.now() < until);
  return ''
})
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' })
process.on('SIGTERM', () => { app.close().then(() => process.exit(0)).catch(() => process.exit(1)) })
