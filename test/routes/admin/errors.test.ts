import { execFile } from 'node:child_process'
import { readdir } from 'node:fs/promises'
import { request } from 'node:http'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { createAdminToken, revokeAdminToken } from '../../../src/admin/bearer-tokens.js'
import { buildTestApp, listen } from '../../helpers/app.js'
import { multipart } from '../../helpers/multipart.js'
import { SERVER_ENTRY } from '../../helpers/process.js'
import { makeTree } from '../../helpers/tree.js'

const ADMIN = 'bootstrap-admin-token-0123456789abcdef'

const ROUTES: Array<[string, string, unknown]> = [
  ['POST', '/api/v1/programs', { name: 'x' }],
  ['GET', '/api/v1/programs', undefined],
  ['GET', '/api/v1/programs/ishop', undefined],
  ['PATCH', '/api/v1/programs/ishop', {}],
  ['DELETE', '/api/v1/programs/ishop', undefined],
  ['POST', '/api/v1/programs/ishop/versions', undefined],
  ['GET', '/api/v1/programs/ishop/versions', undefined],
  ['GET', '/api/v1/programs/ishop/versions/1.0', undefined],
  ['PATCH', '/api/v1/programs/ishop/versions/1.0', {}],
  ['POST', '/api/v1/programs/ishop/versions/1.0/yank', undefined],
  ['POST', '/api/v1/programs/ishop/versions/1.0/unyank', undefined],
  ['GET', '/api/v1/programs/ishop/updates', undefined],
  ['POST', '/api/v1/programs/ishop/updates/1.0', undefined],
  ['DELETE', '/api/v1/programs/ishop/updates/1.0', undefined],
  ['POST', '/api/v1/licenses', {}],
  ['POST', '/api/v1/licenses/import', undefined],
  ['GET', '/api/v1/licenses', undefined],
  ['GET', '/api/v1/licenses/K', undefined],
  ['PATCH', '/api/v1/licenses/K', {}],
  ['GET', '/api/v1/licenses/K/seats', undefined],
  ['DELETE', '/api/v1/licenses/K/seats', undefined],
  ['DELETE', '/api/v1/licenses/K/seats/P', undefined],
  ['GET', '/api/v1/pcids', undefined],
  ['GET', '/api/v1/pcids/P', undefined],
  ['GET', '/api/v1/downloads', undefined],
  ['GET', '/api/v1/downloads/stats', undefined],
  ['GET', '/api/v1/audit', undefined],
  ['POST', '/api/v1/messages/questions', {}],
  ['GET', '/api/v1/messages/questions', undefined],
  ['GET', '/api/v1/messages/inbox', undefined],
  ['GET', '/api/v1/messages/inbox/00000000-0000-0000-0000-000000000000/attachments/a.txt', undefined],
  ['GET', '/api/v1/tokens', undefined],
  ['POST', '/api/v1/tokens', { name: 'x' }],
  ['DELETE', '/api/v1/tokens/x', undefined]
]

t.test('every route: 401 without a token, 401 for an unknown one, 403 for a revoked one', async (t) => {
  const { app } = await buildTestApp(t, { ADMIN_TOKEN: ADMIN })
  const { token, name } = await createAdminToken(app.prisma, 'ci')
  await revokeAdminToken(app.prisma, name)
  for (const [method, url, body] of ROUTES) {
    for (const [authorization, status] of [[undefined, 401], ['Bearer nope', 401], [`Bearer ${token}`, 403], ['Basic abc', 401]] as const) {
      const res = await app.inject({ method: method as 'GET', url, ...(body === undefined ? {} : { payload: body as object }), headers: authorization === undefined ? {} : { authorization } })
      t.equal(res.statusCode, status, `${method} ${url} with ${authorization ?? 'nothing'}`)
      t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8')
      t.equal(res.json().status, status)
    }
  }
})

t.test('every route that takes input rejects malformed input with field-level problem details', async (t) => {
  const { app } = await buildTestApp(t, { ADMIN_TOKEN: ADMIN })
  const auth = { authorization: `Bearer ${ADMIN}` }
  const key = '1ND10-00G40-R40M3-0E209-18520'
  const cases: Array<[string, string, unknown, string]> = [
    ['POST', '/api/v1/programs', { name: '../etc' }, 'body.name'],
    ['POST', '/api/v1/tokens', { name: 'two words' }, 'body.name'],
    ['DELETE', '/api/v1/tokens/a%20b', undefined, 'params.name'],
    ['POST', '/api/v1/programs', { name: 'ok', purchaseUrl: 'javascript:alert(1)' }, 'body.purchaseUrl'],
    ['GET', '/api/v1/programs/..%2Fetc', undefined, 'params.name'],
    ['PATCH', '/api/v1/programs/ishop', { displayNameEn: 42 }, 'body.displayNameEn'],
    ['DELETE', '/api/v1/programs/%20', undefined, 'params.name'],
    ['POST', '/api/v1/programs/-bad/versions', undefined, 'params.name'],
    ['GET', '/api/v1/programs/-bad/versions', undefined, 'params.name'],
    ['GET', '/api/v1/programs/ishop/versions/1.x', undefined, 'params.version'],
    ['PATCH', '/api/v1/programs/ishop/versions/1.0', { releasedAt: 'yesterday' }, 'body.releasedAt'],
    ['POST', '/api/v1/programs/ishop/versions/01.0/yank', undefined, 'params.version'],
    ['POST', '/api/v1/programs/ishop/versions/1..0/unyank', undefined, 'params.version'],
    ['GET', '/api/v1/programs/-bad/updates', undefined, 'params.name'],
    ['POST', '/api/v1/programs/ishop/updates/bad%20part', undefined, 'params.part'],
    ['DELETE', '/api/v1/programs/ishop/updates/@..', undefined, 'params.part'],
    ['POST', '/api/v1/licenses', { program: 'ishop', customerName: '', seatLimit: 0 }, 'body.customerName'],
    ['POST', '/api/v1/licenses', { program: 'ishop', customerName: 'A', customerEmail: 'not-an-email' }, 'body.customerEmail'],
    ['GET', '/api/v1/licenses?limit=100000', undefined, 'querystring.limit'],
    ['GET', '/api/v1/licenses?status=deleted', undefined, 'querystring.status'],
    ['GET', `/api/v1/licenses/${'K'.repeat(100)}`, undefined, 'params.key'],
    ['PATCH', `/api/v1/licenses/${key}`, { status: 'deleted' }, 'body.status'],
    ['PATCH', `/api/v1/licenses/${key}`, { maintenanceEnd: 'soon' }, 'body.maintenanceEnd'],
    ['GET', `/api/v1/licenses/${'K'.repeat(100)}/seats`, undefined, 'params.key'],
    ['DELETE', `/api/v1/licenses/${key}/seats/${'P'.repeat(100)}`, undefined, 'params.pcid'],
    ['DELETE', `/api/v1/licenses/${'K'.repeat(100)}/seats`, undefined, 'params.key'],
    ['GET', '/api/v1/pcids?offset=-1', undefined, 'querystring.offset'],
    ['GET', `/api/v1/pcids/${'P'.repeat(100)}`, undefined, 'params.pcid'],
    ['GET', '/api/v1/downloads?limit=0', undefined, 'querystring.limit'],
    ['GET', '/api/v1/downloads/stats?from=never', undefined, 'querystring.from'],
    ['GET', '/api/v1/audit?limit=abc', undefined, 'querystring.limit'],
    ['POST', '/api/v1/messages/questions', { subject: '', text: 'x', pcid: 'P' }, 'body.subject'],
    ['GET', '/api/v1/messages/questions?limit=-5', undefined, 'querystring.limit'],
    ['GET', '/api/v1/messages/inbox?program=../x', undefined, 'querystring.program'],
    ['GET', '/api/v1/messages/inbox/not-a-uuid/attachments/a.txt', undefined, 'params.id']
  ]
  for (const [method, url, body, field] of cases) {
    const res = await app.inject({ method: method as 'GET', url, headers: auth, ...(body === undefined ? {} : { payload: body as object }) })
    t.equal(res.statusCode, 400, `${method} ${url}`)
    const problem = res.json()
    t.match(problem, { title: 'BAD_REQUEST', status: 400 })
    t.ok(problem.errors?.some((e: { field: string }) => e.field === field), `${method} ${url}: ${field} named in ${JSON.stringify(problem.errors)} ${res.statusCode === 400 ? '' : res.body}`)
  }
  // Uploads are multipart: their fields are checked the same way, and other bodies are refused.
  const upload = await app.inject({ method: 'POST', url: '/api/v1/programs/ishop/versions', headers: { ...auth, 'content-type': 'application/json' }, payload: {} })
  t.equal(upload.statusCode, 404, 'an unknown program first')
  await app.prisma.program.create({ data: { name: 'ishop' } })
  const notMultipart = await app.inject({ method: 'POST', url: '/api/v1/programs/ishop/versions', headers: { ...auth, 'content-type': 'application/json' }, payload: {} })
  t.equal(notMultipart.statusCode, 415)
  const badVersion = multipart({ version: 'v1' }, { 'a.exe': 'x' })
  const res = await app.inject({ method: 'POST', url: '/api/v1/programs/ishop/versions', headers: { ...auth, 'content-type': badVersion.contentType }, payload: badVersion.body })
  t.equal(res.statusCode, 400)
  t.match(res.json().errors, [{ field: 'version' }])
  const notJson = await app.inject({ method: 'POST', url: '/api/v1/programs', headers: { ...auth, 'content-type': 'application/json' }, payload: '{"name":' })
  t.equal(notJson.statusCode, 400)
  t.equal(notJson.json().title, 'BAD_REQUEST')
  t.notMatch(notJson.body, /at .*\.js|node_modules/)
  const missing = await app.inject({ method: 'GET', url: '/api/v1/programs/nosuch', headers: auth })
  t.equal(missing.statusCode, 404)
  t.equal(missing.json().title, 'NOT_FOUND')
})

t.test('the OpenAPI document and Swagger UI', async (t) => {
  const { app } = await buildTestApp(t)
  const doc = await app.inject({ url: '/docs/json' })
  t.equal(doc.statusCode, 200)
  const openapi = doc.json()
  t.match(openapi.openapi, /^3\./)
  t.ok(openapi.paths['/api/v1/licenses'].post.requestBody.content['application/json'].schema.properties.customerName, 'request schemas come from zod')
  t.ok(openapi.paths['/api/v1/programs/{name}/versions'].post, 'uploads are listed')
  t.notOk(Object.keys(openapi.paths).some((p) => p.startsWith('/myweb') || p.startsWith('/ftp')), 'the client protocol is documented in docs/protocol.md, not here')
  const ui = await app.inject({ url: '/docs/' })
  t.equal(ui.statusCode, 200)
  t.match(ui.headers['content-type'], /text\/html/)
})

t.test('CSV import: all or none', async (t) => {
  const { app } = await buildTestApp(t, { ADMIN_TOKEN: ADMIN })
  const auth = { authorization: `Bearer ${ADMIN}`, 'content-type': 'text/csv' }
  await app.prisma.program.create({ data: { name: 'ishop' } })
  const bad = await app.inject({ method: 'POST', url: '/api/v1/licenses/import', headers: auth, payload: 'program,customerName,customerEmail,maintenanceEnd,seatLimit,notes\nishop,A,,2027-01-01,2,\nnosuch,B,,,,\nishop,,x,,,\n' })
  t.equal(bad.statusCode, 422)
  t.same(bad.json().errors.map((e: { line: number, field: string }) => `line ${e.line}: ${e.field}`), ['line 2: program', 'line 3: customerName', 'line 3: customerEmail'])
  t.equal(await app.prisma.license.count(), 0, 'nothing issued')
  const good = await app.inject({ method: 'POST', url: '/api/v1/licenses/import', headers: auth, payload: 'ishop,"Κατάστημα ""Α"", Α.Ε.",a@example.com,2027-01-01,2,note\r\nishop,B,,,,\r\n' })
  t.equal(good.statusCode, 200)
  t.same(good.json(), { imported: 2 })
  t.equal((await app.prisma.license.findFirstOrThrow({ where: { customerEmail: 'a@example.com' } })).customerName, 'Κατάστημα "Α", Α.Ε.')
  const list = await app.inject({ url: '/api/v1/licenses?customer=%CE%BA%CE%B1%CF%84%CE%AC%CF%83%CF%84%CE%B7%CE%BC%CE%B1&limit=1', headers: { authorization: `Bearer ${ADMIN}` } })
  t.match(list.json(), { total: 1, limit: 1, offset: 0, items: [{ seatLimit: 2, maintenanceEnd: '2027-01-01T23:59:59.999Z' }] })
})

t.test('a CSV import larger than UPLOAD_MAX_BYTES is refused with 413 and imports nothing, with or without Content-Length', async (t) => {
  const { app } = await buildTestApp(t, { ADMIN_TOKEN: ADMIN, UPLOAD_MAX_BYTES: '2000' })
  await app.prisma.program.create({ data: { name: 'ishop' } })
  const csv = 'program,customerName\n' + Array.from({ length: 200 }, (_, i) => `ishop,Customer ${i}`).join('\n') + '\n'
  t.ok(csv.length > 2000)
  const declared = await app.inject({ method: 'POST', url: '/api/v1/licenses/import', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'text/csv' }, payload: csv })
  t.equal(declared.statusCode, 413)
  t.match(declared.json(), { title: 'PAYLOAD_TOO_LARGE', detail: /UPLOAD_MAX_BYTES \(2000 bytes\)/ })
  // Chunked: no Content-Length, the limit is found while reading.
  const base = await listen(app)
  const chunked = await new Promise<{ status: number, body: string }>((resolve, reject) => {
    const req = request(`${base}/api/v1/licenses/import`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'text/csv', 'transfer-encoding': 'chunked' } }, (res) => {
      let body = ''
      res.on('data', (chunk: Buffer) => { body += chunk.toString() })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    for (let i = 0; i < csv.length; i += 500) req.write(csv.slice(i, i + 500))
    req.end()
  })
  t.equal(chunked.status, 413, chunked.body)
  t.match(JSON.parse(chunked.body), { title: 'PAYLOAD_TOO_LARGE' })
  t.equal(await app.prisma.license.count(), 0, 'nothing imported')
  const small = await app.inject({ method: 'POST', url: '/api/v1/licenses/import', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'text/csv' }, payload: csv.slice(0, 500).replace(/\n[^\n]*$/, '\n') })
  t.equal(small.statusCode, 200, 'a file within the limit is imported')
})

t.test('an upload cut off half-way leaves no trace; an oversize file is refused', async (t) => {
  const root = await makeTree(t, {})
  const { app } = await buildTestApp(t, { FTP_ROOT: root, ADMIN_TOKEN: ADMIN, UPLOAD_MAX_BYTES: '1000000' })
  await app.prisma.program.create({ data: { name: 'ishop' } })
  const base = new URL(await listen(app))
  const { body, contentType } = multipart({ version: '3.0' }, { 'setup.exe': Buffer.alloc(800_000, 1) })
  await new Promise<void>((resolve) => {
    const req = request({ host: base.hostname, port: base.port, method: 'POST', path: '/api/v1/programs/ishop/versions', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': contentType, 'content-length': body.length } })
    req.on('error', () => resolve())
    req.write(body.subarray(0, 400_000), () => setTimeout(() => { req.destroy(); resolve() }, 200))
  })
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.same(await readdir(root).then((names) => names.filter((n) => n !== '.staging')), [], 'no version folder')
  t.same(await readdir(join(root, '.staging')).catch(() => []), [], 'no staging leftovers')
  t.equal(await app.prisma.programVersion.count(), 0, 'no record')

  const big = multipart({ version: '3.0' }, { 'setup.exe': Buffer.alloc(1_200_000, 1) })
  const res = await app.inject({ method: 'POST', url: '/api/v1/programs/ishop/versions', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': big.contentType }, payload: big.body })
  t.equal(res.statusCode, 413)
  t.equal(res.json().title, 'PAYLOAD_TOO_LARGE')
  t.same(await readdir(join(root, '.staging')).catch(() => []), [])
  const unsafe = multipart({ version: '3.0' }, { '../../escape.exe': 'x' })
  const bad = await app.inject({ method: 'POST', url: '/api/v1/programs/ishop/versions', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': unsafe.contentType }, payload: unsafe.body })
  t.equal(bad.statusCode, 400)
  t.same(await readdir(root).then((names) => names.filter((n) => n !== '.staging')), [])
})

t.test('npm run admin -- token create / revoke', async (t) => {
  const { databaseUrl } = await buildTestApp(t)
  const run = promisify(execFile)
  const cli = SERVER_ENTRY.replace(/server\.js$/, 'cli/admin.js')
  const env = { ...process.env, DATABASE_URL: databaseUrl }
  const created = await run(process.execPath, [cli, 'token', 'create', '--name', 'deploy'], { env })
  const token = created.stdout.trim().split('\n')[1]
  t.match(token, /^iua_[A-Za-z0-9_-]{40}$/)
  const { app } = await buildTestApp(t, {}, { databaseUrl })
  t.equal((await app.inject({ url: '/api/v1/programs', headers: { authorization: `Bearer ${token}` } })).statusCode, 200)
  const row = await app.prisma.adminToken.findUnique({ where: { name: 'deploy' } })
  t.not(row?.tokenHash, token, 'stored hashed')
  await t.rejects(run(process.execPath, [cli, 'token', 'create', '--name', 'deploy'], { env }), { message: /exists already/ })
  await run(process.execPath, [cli, 'token', 'revoke', 'deploy'], { env })
  t.equal((await app.inject({ url: '/api/v1/programs', headers: { authorization: `Bearer ${token}` } })).statusCode, 403)
  const list = await run(process.execPath, [cli, 'token', 'list'], { env })
  t.match(list.stdout, /deploy\tcreated .*\trevoked /)
  await t.rejects(run(process.execPath, [cli, 'nonsense'], { env }), { code: 2 })
  // An unknown option is one line and the usage, never a stack trace; --help is the usage.
  const unknown = await run(process.execPath, [cli, 'token', 'list', '--bogus'], { env }).then(() => undefined, (err: { code: number, stderr: string }) => err)
  t.equal(unknown?.code, 2)
  t.match(unknown?.stderr, /^admin: Unknown option '--bogus'\nusage: /)
  t.notMatch(unknown?.stderr, /\bat /, 'no stack trace')
  t.match((await run(process.execPath, [cli, '--help'], { env })).stdout, /^usage: npm run admin -- token create/)
})
