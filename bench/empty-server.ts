/** The reference: a bare Fastify server with one empty route, on PORT. */
import Fastify from 'fastify'

const app = Fastify({ logger: false })
app.get('/empty', async () => '')
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' })
process.on('SIGTERM', () => { app.close().then(() => process.exit(0)).catch(() => process.exit(1)) })
