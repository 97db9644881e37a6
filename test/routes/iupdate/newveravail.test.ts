import t from 'tap'
import { preferredLanguage } from '../../../src/pages/html.js'
import { renderNewVersion } from '../../../src/pages/newveravail.js'
import { buildWorld } from '../../helpers/world.js'

t.test('the newveravail page names the version, its date, notes and the purchase link, escaped', async (t) => {
  const world = await buildWorld(t)
  const page = async (query: string, lang?: string): Promise<Response> =>
    await fetch(`${world.base}/myweb/iupdate.php?f=newveravail&${query}`, { headers: lang === undefined ? {} : { 'accept-language': lang } })

  const en = await page('prog=ishop&version=2.6.5.1', 'en-US,en;q=0.9')
  t.equal(en.status, 200)
  t.equal(en.headers.get('content-type'), 'text/html; charset=utf-8')
  t.equal(en.headers.get('content-language'), 'en')
  const html = await en.text()
  t.match(html, /<html lang="en">/)
  t.match(html, 'A new version of iShop &#60;Retail&#62; is available')
  t.match(html, '2.7.0.0')
  t.match(html, '1 June 2026')
  t.match(html, 'Faster &#60;b&#62;reports&#60;/b&#62; &#38; fixes', 'notes are escaped')
  t.notMatch(html, '<b>reports</b>')
  t.match(html, 'href="https://shop.example.com/upgrade?p=ishop&#38;lang=en"', 'the link is escaped')
  t.match(html, 'You have version 2.6.5.1.')

  const el = await page('prog=ishop', 'el-GR,el;q=0.9,en;q=0.5')
  t.equal(el.headers.get('content-language'), 'el')
  const greek = await el.text()
  t.match(greek, /<html lang="el">/)
  t.match(greek, 'Νέα έκδοση του iShop Λιανική είναι διαθέσιμη')
  t.match(greek, 'Ταχύτερες αναφορές')
  t.match(greek, '1 Ιουνίου 2026')
  t.match(greek, 'Αναβάθμιση τώρα')

  const unknown = await page('prog=' + encodeURIComponent('<script>alert(1)</script>'), 'el')
  t.equal(unknown.status, 404)
  t.equal(unknown.headers.get('content-type'), 'text/html; charset=utf-8')
  const body = await unknown.text()
  t.match(body, 'Άγνωστο πρόγραμμα')
  t.notMatch(body, '<script>alert', 'an unknown name is escaped too')
  t.equal((await page('')).status, 404)
})

t.test('only http(s) purchase links are linked', async (t) => {
  const page = { program: 'p', displayName: null, version: '2.0', releasedAt: null, notes: null, currentVersion: null }
  t.notMatch(renderNewVersion({ ...page, purchaseUrl: 'javascript:alert(1)' }, 'en'), 'javascript:')
  t.match(renderNewVersion({ ...page, purchaseUrl: 'javascript:alert(1)' }, 'en'), 'Contact your vendor to upgrade.')
  t.notMatch(renderNewVersion({ ...page, purchaseUrl: 'https://x.example/"><script>' }, 'en'), '<script>')
  t.match(renderNewVersion({ ...page, version: null, purchaseUrl: null }, 'el'), 'Δεν υπάρχει νεότερη έκδοση')
})

t.test('Accept-Language with q-values', async (t) => {
  t.equal(preferredLanguage(undefined), 'en')
  t.equal(preferredLanguage('el'), 'el')
  t.equal(preferredLanguage('en;q=0.8, el;q=0.9'), 'el')
  t.equal(preferredLanguage('el;q=0, en'), 'en')
  t.equal(preferredLanguage('fr, de'), 'en')
  t.equal(preferredLanguage('el;q=abc'), 'en')
})
