/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml (text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`)
}

export type Language = 'el' | 'en'

/** Greek when the client prefers it to English (Accept-Language, with q-values), else English. */
export function preferredLanguage (acceptLanguage: string | undefined): Language {
  if (acceptLanguage === undefined) return 'en'
  let best: { lang: Language, q: number } | undefined
  for (const part of acceptLanguage.split(',').slice(0, 20)) {
    const [tag, ...params] = part.trim().toLowerCase().split(';')
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='))
    const q = qParam === undefined ? 1 : Number(qParam.slice(2))
    if (!Number.isFinite(q) || q <= 0) continue
    const lang = tag.startsWith('el') ? 'el' : tag.startsWith('en') ? 'en' : undefined
    if (lang !== undefined && (best === undefined || q > best.q)) best = { lang, q }
  }
  return best?.lang ?? 'en'
}

/** Only http(s) links are put in a page. */
export function safeHref (url: string | null | undefined): string | null {
  if (url == null) return null
  return /^https?:\/\/[^\s"'<>]+$/i.test(url) ? url : null
}
