/**
 * The reference of bench:load: a bare Fastify server on PORT whose one route runs one
 * prepared `pg` query per request against DATABASE_URL (a PCID's row, by the `pcid` in the
 * query string), with a pool of DB_POOL_MAX connections, as the server has. What a daily poll
 * can at best cost is about one such round trip.
 */
import Fastify from 'fastify'
import pg from 'pg'

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.DB_POOL_MAX ?? 10) })
const app = Fastify({ logger: false })
app.get('/pcid', async (request) => {
  const { rows } = await pool.query({ name: 'pcid', text: 'SELECT id, last_seen_at FROM pcid WHERE id = $1', values: [(request.query as { pcid?: string }).pcid ?? ''] })
  return rows.length === 1 ? 'PCID=' + String(rows[0].id) : ''
})
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' })
process.on('SIGTERM', () => { app.close().then(async () => { await pool.end(); process.exit(0) }).catch(() => process.exit(1)) })
