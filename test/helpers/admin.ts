import type { FastifyInstance } from 'fastify'

/** The bootstrap admin token the admin API tests set as ADMIN_TOKEN. */
export const ADMIN = 'bootstrap-admin-token-0123456789abcdef'

export interface AdminAnswer { status: number, json: any }

/** One admin API request through inject: an object is sent as JSON, a string or Buffer as `type`. */
export async function adminApi (app: FastifyInstance, method: string, url: string, payload?: unknown, type = 'application/json'): Promise<AdminAnswer> {
  const res = await app.inject({
    method: method as 'GET',
    url,
    headers: { authorization: `Bearer ${ADMIN}`, ...(payload === undefined ? {} : { 'content-type': type }) },
    ...(payload === undefined ? {} : { payload: typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload) })
  })
  return { status: res.statusCode, json: res.body === '' ? undefined : res.json() }
}
