import t from 'tap'
import { adminApi, ADMIN } from '../helpers/admin.js'
import { openBrowser, signIn, watchErrors } from '../helpers/browser.js'
import { buildWorld } from '../helpers/world.js'

// The web console in headless Chromium against the real server (docs/console.md): what a
// vendor does on release day, by keyboard-reachable controls found by their labels.
const enc = encodeURIComponent
const URL_PATH = '/myweb/iupdate.php'

t.test('a vendor signs in, publishes, rolls out, halts, manages licenses and seats, asks a question and signs out', async (t) => {
  const w = await buildWorld(t, { ADMIN_TOKEN: ADMIN })
  const context = await openBrowser(t)
  const page = await context.newPage()
  watchErrors(t, page)
  const api = async (method: string, url: string, body?: unknown): Promise<any> => (await adminApi(w.app, method, url, body)).json
  const nav = async (name: string): Promise<void> => {
    await page.getByRole('navigation').getByRole('link', { name, exact: true }).click()
    await page.getByRole('heading', { level: 1, name }).waitFor()
  }

  await t.test('sign-in refuses a wrong token beside its field, then signs in', async (t) => {
    await page.goto(`${w.base}/admin/licenses`)
    await page.getByLabel('Admin token').fill('iua_not-a-token')
    await page.getByRole('button', { name: 'Sign in', exact: true }).click()
    await page.getByText('Unknown token.').first().waitFor()
    t.equal(await page.getByLabel('Admin token').getAttribute('aria-invalid'), 'true', 'the field is marked invalid')
    await signIn(page, w.base, ADMIN)
    t.match(await page.locator('header').textContent(), /Signed in as\s*bootstrap/)
    const cookie = (await context.cookies()).find((c) => c.name === 'iupdate_session')
    t.match(cookie, { httpOnly: true, sameSite: 'Strict', secure: false }, 'HttpOnly and SameSite=Strict; not Secure over plain HTTP')
    t.equal(await page.evaluate('document.activeElement?.tagName'), 'H1', 'the focus is on the page heading')
  })

  await t.test('a version published by dropping files is offered by f=qrymaxver', async (t) => {
    await nav('Programs and versions')
    await page.getByLabel('Version', { exact: true }).fill('2.8.0.0')
    await page.getByLabel('Release notes (English)').first().fill('Browser release')
    await page.getByLabel('Release notes (Greek)').first().fill('Έκδοση από τον φυλλομετρητή')
    await page.getByLabel('@rename.txt of the version').fill('Docs=C:\\iShop\\Docs')
    await page.getByLabel('Files', { exact: true }).first().setInputFiles([{ name: 'setup.exe', mimeType: 'application/octet-stream', buffer: Buffer.alloc(3 * 1024 * 1024, 7) }])
    await page.getByText('1 files: setup.exe').waitFor()
    await page.getByRole('button', { name: 'Publish', exact: true }).click()
    await page.getByText('Published 2.8.0.0.').waitFor()
    await page.getByRole('cell', { name: '2.8.0.0', exact: true }).waitFor()
    const version = await api('GET', '/api/v1/programs/ishop/versions/2.8.0.0')
    t.match(version, { notesEn: 'Browser release', notesEl: 'Έκδοση από τον φυλλομετρητή', files: [{ path: 'setup.exe', size: 3 * 1024 * 1024 }] })
    const pcid = await w.pcid()
    const { map } = await w.query(`prog[]=ishop&version[]=2.7.0.0&serial[]=${enc(w.keys.entitled)}&pcid=${pcid}`)
    t.equal(map.get('OK[0]'), '2.8.0.0', 'offered to an entitled PC')
    const audit = await api('GET', '/api/v1/audit?action=version.publish')
    t.equal(audit.items[0].actor, 'bootstrap', 'audited with the token\'s name')
  })

  await t.test('a rollout set to 20% and halted', async (t) => {
    await nav('Rollouts')
    await page.getByLabel('Version', { exact: true }).selectOption('2.8.0.0')
    await page.getByLabel('Share of PCs offered (%)').fill('20')
    await page.getByLabel('Automatic halt above failure rate (%)').fill('5')
    await page.getByLabel('after at least downloads').fill('50')
    await page.getByRole('button', { name: 'Save rollout' }).click()
    await page.getByText('share offered: 20%').waitFor()
    t.match(await api('GET', '/api/v1/programs/ishop/versions/2.8.0.0'), { rollout: 20, autoHalt: { maxFailureRate: 0.05, minDownloads: 50 } })
    await page.getByLabel('Reason for the halt').fill('crash reports')
    await page.getByRole('button', { name: 'Halt', exact: true }).click()
    await page.getByRole('button', { name: 'Resume' }).waitFor()
    t.match(await api('GET', '/api/v1/programs/ishop/versions/2.8.0.0'), { state: 'halted', haltReason: 'crash reports' })
  })

  await t.test('licenses: created, imported with a bad line reported, a seat freed', async (t) => {
    await nav('Licenses')
    await page.getByLabel('Customer', { exact: true }).fill('Κατάστημα Browser')
    await page.getByLabel('Seat limit').last().fill('3')
    await page.getByRole('button', { name: 'Create license' }).click()
    const created = await page.getByText(/^Created: /).textContent()
    const key = created?.replace('Created: ', '') ?? ''
    t.match(await api('GET', `/api/v1/licenses/${key}`), { customerName: 'Κατάστημα Browser', seatLimit: 3 })

    await page.getByLabel('or CSV text').fill('program,customerName,customerEmail,maintenanceEnd,seatLimit,notes\nishop,Good Shop,,2027-06-30,2,\nishop,Bad Shop,,2027-02-31,1,\n')
    await page.getByRole('button', { name: 'Import', exact: true }).click()
    const alert = page.getByRole('alert').filter({ hasText: 'maintenanceEnd' })
    await alert.waitFor()
    t.match(await alert.textContent(), /2.*maintenanceEnd|maintenanceEnd.*2/, 'the bad line and its field are shown')
    t.equal((await api('GET', '/api/v1/licenses?customer=Good Shop')).total, 0, 'nothing imported')
    await page.getByLabel('or CSV text').fill('ishop,Good Shop,,2027-06-30,2,\nishop,Other Shop,,,1,\n')
    await page.getByRole('button', { name: 'Import', exact: true }).click()
    await page.getByText('Imported: 2').waitFor()
    t.equal((await api('GET', '/api/v1/licenses?customer=Good Shop')).total, 1)

    const pcid = await w.pcid()
    await w.query(`prog[]=ishop&version[]=2.7.0.0&serial[]=${enc(w.keys.single)}&pcid=${pcid}`)
    t.equal((await api('GET', `/api/v1/licenses/${w.keys.single}/seats`)).items.length, 1, 'the PC took the seat')
    await page.reload()
    await page.getByRole('button', { name: w.keys.single }).click()
    await page.getByRole('button', { name: `Free seat ${pcid}` }).click()
    await page.getByText('Seat freed.').waitFor()
    t.equal((await api('GET', `/api/v1/licenses/${w.keys.single}/seats`)).items.length, 0, 'the seat is free')
  })

  await t.test('a question to a PC and its answer', async (t) => {
    const pcid = await w.pcid()
    await nav('Messages')
    await page.getByLabel('Subject').fill('Έρευνα')
    await page.getByLabel('Question', { exact: true }).fill('Είστε ικανοποιημένοι;')
    await page.getByLabel('To one PC (PCID)').fill(pcid)
    await page.getByRole('button', { name: 'Send question' }).click()
    await page.getByText('Question sent.').waitFor()
    const got = await (await fetch(`${w.base}${URL_PATH}?f=getmsg&pcid=${pcid}&cs=utf8`)).text()
    const id = /MSGID\[0\]=(\S+)/.exec(got)?.[1] ?? ''
    t.not(id, '', 'the PC receives the question')
    const answered = await fetch(`${w.base}${URL_PATH}?f=ansmsg&cs=utf8`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `pcid=${pcid}&msgid=${id}&message=${enc('Ναι, πολύ.')}` })
    t.equal(answered.status, 200)
    await page.reload()
    await page.getByRole('cell', { name: 'Ναι, πολύ.' }).waitFor()
    t.pass('the answer is shown')
  })

  await t.test('a token made on the tokens page signs in; revoking it signs its session out', async (t) => {
    await nav('Tokens')
    await page.getByLabel('Name', { exact: true }).fill('release-manager')
    await page.getByRole('button', { name: 'Create token' }).click()
    const secret = (await page.locator('.secret').textContent()) ?? ''
    t.match(secret, /^iua_/)
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.getByRole('heading', { name: 'Sign in to the iupdate console' }).waitFor()
    t.equal((await context.cookies()).some((c) => c.name === 'iupdate_session'), false, 'the cookie is gone')
    t.equal((await page.request.get(`${w.base}/api/v1/programs`)).status(), 401, 'signed out')

    await signIn(page, w.base, secret)
    t.match(await page.locator('header').textContent(), /release-manager/)
    await nav('Audit log')
    await page.getByRole('cell', { name: 'token.create' }).waitFor()
    t.equal((await adminApi(w.app, 'DELETE', '/api/v1/tokens/release-manager')).status, 204)
    await page.getByRole('navigation').getByRole('link', { name: 'Licenses', exact: true }).click()
    await page.getByRole('heading', { name: 'Sign in to the iupdate console' }).waitFor()
    t.pass('a revoked token\'s session is signed out')
  })

  await t.test('the language switch turns the console Greek', async (t) => {
    await page.getByLabel('Language').selectOption('el')
    await page.getByRole('heading', { name: 'Σύνδεση στην κονσόλα iupdate' }).waitFor()
    t.equal(await page.evaluate('document.documentElement.lang'), 'el')
  })
})
