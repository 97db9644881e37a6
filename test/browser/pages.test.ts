import { mkdir } from 'node:fs/promises'
import t from 'tap'
import { ADMIN } from '../helpers/admin.js'
import { openBrowser, signIn, watchErrors } from '../helpers/browser.js'
import { multipart } from '../helpers/multipart.js'
import { buildWorld } from '../helpers/world.js'

// Every page of the console in Greek and in English: it loads without a script error, names
// itself in its heading (which has the focus), and every control has a label. With
// CONSOLE_SCREENSHOTS=<folder> (npm run console:screenshots) each is saved as <page>-<lang>.png.
const PAGES: Array<{ path: string, file: string, en: string, el: string }> = [
  { path: '', file: 'overview', en: 'Overview', el: 'Επισκόπηση' },
  { path: 'programs', file: 'programs', en: 'Programs and versions', el: 'Προγράμματα και εκδόσεις' },
  { path: 'rollouts', file: 'rollouts', en: 'Rollouts', el: 'Διαθέσεις' },
  { path: 'licenses', file: 'licenses', en: 'Licenses', el: 'Άδειες' },
  { path: 'pcs', file: 'pcs', en: 'PCs', el: 'Υπολογιστές' },
  { path: 'messages', file: 'messages', en: 'Messages', el: 'Μηνύματα' },
  { path: 'audit', file: 'audit', en: 'Audit log', el: 'Ημερολόγιο ελέγχου' },
  { path: 'webhooks', file: 'webhooks', en: 'Webhooks', el: 'Webhooks' },
  { path: 'tokens', file: 'tokens', en: 'Tokens', el: 'Διακριτικά' }
]
const shots = process.env.CONSOLE_SCREENSHOTS
const enc = encodeURIComponent

t.test('every page in both languages', async (t) => {
  const w = await buildWorld(t, { ADMIN_TOKEN: ADMIN })
  // Something to show: downloads (one failed), a message with an attachment, a question.
  const pcid = await w.pcid()
  const { map } = await w.query(`prog[]=ishop&version[]=2.6.5.1&serial[]=${enc(w.keys.entitled)}&pcid=${pcid}&v=1`)
  for (const [key, url] of map) if (key.startsWith('URL[0]') && !url.includes('setup.exe')) await (await fetch(url)).arrayBuffer()
  const failed = [...map].find(([key, url]) => key.startsWith('URL[0]') && url.includes('setup.exe'))?.[1] ?? ''
  await fetch(`${w.base}/myweb/iupdate.php?f=dlconfirm&t=${new URL(failed).searchParams.get('t') ?? ''}&ok=0&err=${enc('disk full')}`, { method: 'POST' })
  const message = multipart({ pcid, prog: 'ishop', cs: 'utf8', subject: 'Πρόβλημα εκτύπωσης', message: 'Η εκτύπωση σταμάτησε.' }, { 'error.log': 'E_PRINT 42' })
  t.equal((await fetch(`${w.base}/myweb/iupdate.php?f=sendmsg`, { method: 'POST', body: message.body, headers: { 'content-type': message.contentType } })).status, 200)
  await w.app.inject({ method: 'POST', url: '/api/v1/messages/questions', headers: { authorization: `Bearer ${ADMIN}` }, payload: { program: 'ishop', subject: 'Έρευνα', text: 'Είστε ικανοποιημένοι;' } })
  await w.app.contacts.flush()
  if (shots !== undefined) await mkdir(shots, { recursive: true })

  for (const [lang, locale] of [['en', 'en-US'], ['el', 'el-GR']] as const) {
    await t.test(lang, async (t) => {
      const context = await openBrowser(t, locale)
      const page = await context.newPage()
      watchErrors(t, page)
      await signIn(page, w.base, ADMIN)
      for (const p of PAGES) {
        await page.goto(`${w.base}/admin/${p.path}`)
        const heading = page.getByRole('heading', { level: 1, name: p[lang], exact: true })
        await heading.waitFor()
        await page.waitForLoadState('networkidle')
        if (p.file === 'licenses') await page.getByRole('button', { name: w.keys.entitled }).click()
        if (p.file === 'pcs') {
          await page.getByRole('textbox').first().fill(pcid)
          await page.keyboard.press('Enter')
          await page.getByRole('heading', { name: `PCID ${pcid}` }).waitFor()
        }
        const unlabelled = await page.evaluate(`[...document.querySelectorAll('main input, main select, main textarea, main button')]
          .filter((el) => el.labels?.length === 0 && el.getAttribute('aria-label') === null && el.textContent.trim() === '')
          .map((el) => el.outerHTML)`)
        t.same(unlabelled, [], `${p.file}: every control has a label`)
        t.equal(await page.evaluate('document.documentElement.lang'), lang, `${p.file}: the document's language`)
        if (shots !== undefined) await page.screenshot({ path: `${shots}/${p.file}-${lang}.png`, fullPage: false })
      }
      // By keyboard alone: the skip link, then the pages' links.
      await page.goto(`${w.base}/admin/`)
      await page.getByRole('heading', { level: 1 }).waitFor()
      await page.keyboard.press('Tab')
      t.equal(await page.evaluate("document.activeElement?.getAttribute('href')"), '#main', 'the first Tab reaches the skip link')
      await page.keyboard.press('Tab')
      await page.keyboard.press('Tab')
      await page.keyboard.press('Enter')
      await page.getByRole('heading', { level: 1, name: PAGES[1][lang] }).waitFor()
      t.equal(await page.evaluate('document.activeElement?.tagName'), 'H1', 'a page reached by keyboard has the focus on its heading')
    })
  }
})
