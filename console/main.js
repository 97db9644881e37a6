import { html, render } from 'htm/preact'
import { useEffect, useRef, useState } from 'preact/hooks'
import { api, setSession } from './api.js'
import { lang, setLang, t } from './i18n.js'
import { Form } from './ui.js'
import { PAGES } from './pages.js'

const BASE = '/admin'

function currentPath () {
  const path = location.pathname.slice(BASE.length).replace(/^\/+/, '').split('/')[0]
  return PAGES.some((p) => p.path === path) ? path : ''
}

function navigate (path) {
  history.pushState(null, '', `${BASE}/${path}`)
  dispatchEvent(new PopStateEvent('popstate'))
}

function SignIn ({ onSignedIn }) {
  return html`<main id="main" class="signin">
    <h1 tabindex="-1">${t('Sign in to the iupdate console')}</h1>
    <p>${t('Paste an admin token (npm run admin -- token create). The console keeps a session cookie, never the token.')}</p>
    <${Form} label=${t('Sign in')} fields=${[{ name: 'token', label: t('Admin token'), type: 'password', required: true }]}
      submit=${async (v) => onSignedIn(await api('POST', '/admin/session', { token: v.token ?? '' }))} />
  </main>`
}

function LanguageSwitch ({ onChange }) {
  return html`<label>${t('Language')} <select value=${lang()} onChange=${(e) => { setLang(e.currentTarget.value); onChange() }}>
    <option value="el" lang="el">Ελληνικά</option><option value="en" lang="en">English</option>
  </select></label>`
}

function App () {
  const [session, setSessionState] = useState(undefined)
  const [path, setPath] = useState(currentPath())
  const [, redraw] = useState(0)
  const heading = useRef(null)
  const signedOut = () => { setSession(''); setSessionState(null) }
  useEffect(() => {
    api('GET', '/admin/session').then((s) => { setSession(s.csrf, signedOut); setSessionState(s) }, () => { setSession('', signedOut); setSessionState(null) })
    const onPop = () => setPath(currentPath())
    addEventListener('popstate', onPop)
    return () => removeEventListener('popstate', onPop)
  }, [])
  // Moving to another page moves the focus to its heading, as a screen reader user expects.
  useEffect(() => { document.querySelector('main h1')?.focus() }, [path, session === null])
  const page = PAGES.find((p) => p.path === path) ?? PAGES[0]
  useEffect(() => { document.title = `${t(page.title)} · iupdate` })
  document.documentElement.lang = lang()
  const relang = () => redraw((n) => n + 1)
  if (session === undefined) return html`<p role="status">${t('Loading…')}</p>`
  if (session === null) {
    return html`<header><span>iupdate</span><span class="who"><${LanguageSwitch} onChange=${relang} /></span></header>
      <${SignIn} onSignedIn=${(s) => { setSession(s.csrf, signedOut); setSessionState(s); return t('Signed in.') }} />`
  }
  return html`<a class="skip" href="#main">${t('Skip to content')}</a>
    <header>
      <strong>iupdate</strong>
      <nav aria-label=${t('Pages')}><ul>${PAGES.map((p) => html`<li><a href=${`${BASE}/${p.path}`} aria-current=${p === page ? 'page' : undefined}
        onClick=${(e) => { e.preventDefault(); navigate(p.path) }}>${t(p.title)}</a></li>`)}</ul></nav>
      <span class="who">${t('Signed in as')} <strong>${session.name}</strong></span>
      <${LanguageSwitch} onChange=${relang} />
      <button type="button" onClick=${async () => { await api('DELETE', '/admin/session').catch(() => {}); signedOut() }}>${t('Sign out')}</button>
    </header>
    <main id="main">
      <h1 tabindex="-1" ref=${heading}>${t(page.title)}</h1>
      <${page.Page} key=${path + lang()} />
    </main>`
}

render(html`<${App} />`, document.getElementById('app'))
