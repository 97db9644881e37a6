import t from 'tap'
import pg from 'pg'
import { isDatabaseUnavailable } from '../../src/db/errors.js'
import { adminUrl } from '../helpers/db.js'

t.test('a pool whose every connection stays busy past its wait is the database being unavailable, not a bug', async (t) => {
  const pool = new pg.Pool({ connectionString: adminUrl(), max: 1, connectionTimeoutMillis: 2000 })
  t.teardown(async () => { await pool.end() })
  const held = await pool.connect()
  const err = await pool.query('SELECT 1').catch((e: unknown) => e)
  held.release()
  t.ok(err instanceof Error)
  t.match((err as Error).message, /timeout exceeded when trying to connect/)
  t.equal(isDatabaseUnavailable(err), true)
  t.equal(isDatabaseUnavailable(new Error('duplicate key value violates unique constraint')), false)
})
