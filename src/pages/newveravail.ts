import { escapeHtml, safeHref, type Language } from './html.js'

/** The page a client shows when a newer version exists that its license does not cover (docs/protocol.md §4). */
export interface NewVersionPage {
  program: string
  displayName: string | null
  version: string | null
  releasedAt: Date | null
  notes: string | null
  purchaseUrl: string | null
  currentVersion: string | null
}

const TEXT = {
  en: {
    title: (name: string) => `A new version of ${name} is available`,
    released: 'Released',
    notes: 'What is new',
    current: 'You have version',
    buy: 'Upgrade now',
    ask: 'Contact your vendor to upgrade.',
    none: (name: string) => `There is no newer version of ${name} at the moment.`,
    notFound: 'Unknown program',
    notFoundText: (name: string) => `There is no program named “${name}” on this server.`
  },
  el: {
    title: (name: string) => `Νέα έκδοση του ${name} είναι διαθέσιμη`,
    released: 'Ημερομηνία κυκλοφορίας',
    notes: 'Τι νέο υπάρχει',
    current: 'Έχετε την έκδοση',
    buy: 'Αναβάθμιση τώρα',
    ask: 'Επικοινωνήστε με τον προμηθευτή σας για την αναβάθμιση.',
    none: (name: string) => `Δεν υπάρχει νεότερη έκδοση του ${name} αυτή τη στιγμή.`,
    notFound: 'Άγνωστο πρόγραμμα',
    notFoundText: (name: string) => `Δεν υπάρχει πρόγραμμα με το όνομα «${name}» σε αυτόν τον διακομιστή.`
  }
} as const

function layout (lang: Language, title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
body{font-family:"Segoe UI",Tahoma,Arial,sans-serif;margin:0;background:#f4f6f8;color:#1d2733}
main{max-width:40rem;margin:2rem auto;background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 4px rgba(0,0,0,.12)}
h1{font-size:1.4rem;margin-top:0}.meta{color:#5a6675}.notes{white-space:pre-wrap;border-left:3px solid #c9d3de;padding-left:1rem}
a.buy{display:inline-block;margin-top:1rem;padding:.6rem 1.2rem;background:#1769aa;color:#fff;text-decoration:none;border-radius:4px}
</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`
}

export function renderNewVersion (page: NewVersionPage, lang: Language): string {
  const t = TEXT[lang]
  const name = page.displayName ?? page.program
  if (page.version === null) return layout(lang, name, `<h1>${escapeHtml(name)}</h1>\n<p>${escapeHtml(t.none(name))}</p>`)
  const date = page.releasedAt === null ? '' : page.releasedAt.toLocaleDateString(lang === 'el' ? 'el-GR' : 'en-GB', { year: 'numeric', month: 'long', day: 'numeric', timeZone: 'UTC' })
  const href = safeHref(page.purchaseUrl)
  const parts = [
    `<h1>${escapeHtml(t.title(name))}</h1>`,
    `<p class="version"><strong>${escapeHtml(name)} ${escapeHtml(page.version)}</strong></p>`,
    date === '' ? '' : `<p class="meta">${escapeHtml(t.released)}: <time datetime="${escapeHtml(page.releasedAt?.toISOString() ?? '')}">${escapeHtml(date)}</time></p>`,
    page.currentVersion === null ? '' : `<p class="meta">${escapeHtml(t.current)} ${escapeHtml(page.currentVersion)}.</p>`,
    page.notes === null || page.notes === '' ? '' : `<h2>${escapeHtml(t.notes)}</h2>\n<div class="notes">${escapeHtml(page.notes)}</div>`,
    href === null ? `<p>${escapeHtml(t.ask)}</p>` : `<p><a class="buy" href="${escapeHtml(href)}">${escapeHtml(t.buy)}</a></p>`
  ]
  return layout(lang, t.title(name), parts.filter((p) => p !== '').join('\n'))
}

export function renderUnknownProgram (program: string, lang: Language): string {
  const t = TEXT[lang]
  return layout(lang, t.notFound, `<h1>${escapeHtml(t.notFound)}</h1>\n<p>${escapeHtml(t.notFoundText(program))}</p>`)
}
