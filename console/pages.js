import { html } from 'htm/preact'
import { useState } from 'preact/hooks'
import { api, query, upload } from './api.js'
import { t } from './i18n.js'
import { Actions, Chart, date, day, Field, Form, LoadError, Progress, Table, useLoad, useProgram } from './ui.js'
import { LicensesPage, PcsPage } from './pages-licenses.js'

const enc = encodeURIComponent

const isoDay = (d) => d.toISOString().slice(0, 10)

function OverviewPage () {
  const { program, picker } = useProgram()
  const to = new Date()
  const from = new Date(to.getTime() - 29 * 86400_000)
  const range = { program, from: isoDay(from), to: isoDay(to) }
  const active = useLoad(() => program === '' ? Promise.resolve(null) : api('GET', `/api/v1/analytics/active${query(range)}`), [program])
  const byVersion = useLoad(() => program === '' ? Promise.resolve(null) : api('GET', `/api/v1/analytics/versions${query({ program })}`), [program])
  const downloads = useLoad(async () => {
    if (program === '') return null
    try {
      return (await api('GET', `/api/v1/analytics/downloads${query(range)}`)).days
    } catch (err) {
      if (err.status !== 404) throw err
      // Without the analytics endpoints: the download statistics every server has.
      const days = new Map()
      for (const r of (await api('GET', `/api/v1/downloads/stats${query({ program, from: range.from })}`)).items) {
        const d = days.get(day(r.day)) ?? { day: day(r.day), started: 0, delivered: 0, failed: 0 }
        d.started += r.started; d.delivered += r.completed; d.failed += r.failed
        days.set(d.day, d)
      }
      return [...days.values()].sort((a, b) => a.day.localeCompare(b.day))
    }
  }, [program])
  const versions = useLoad(() => program === '' ? Promise.resolve({ items: [] }) : api('GET', `/api/v1/programs/${enc(program)}/versions`), [program])
  const rolling = (versions.data?.items ?? []).filter((v) => v.state !== 'complete' || v.rollout < 100)
  const failures = (downloads.data ?? []).filter((d) => d.failed > 0)
  return html`${picker}
    <div class="charts">
      <section><h2>${t('Active installations per day')}</h2><${LoadError} error=${active.error} />
        ${active.data?.days === undefined ? null : html`<${Chart} type="line" label=${t('Active installations per day')} labels=${active.data.days.map((d) => d.day)} datasets=${[{ label: t('Installations'), data: active.data.days.map((d) => d.total) }]} />`}</section>
      <section><h2>${t('Installations by version')}</h2><${LoadError} error=${byVersion.error} />
        ${byVersion.data?.versions === undefined ? null : html`<${Chart} type="bar" label=${t('Installations by version')} labels=${byVersion.data.versions.map((v) => v.version)} datasets=${[{ label: t('Installations'), data: byVersion.data.versions.map((v) => v.installations) }]} />`}</section>
      <section><h2>${t('Downloads per day')}</h2><${LoadError} error=${downloads.error} />
        ${downloads.data == null
? null
: html`<${Chart} type="bar" stacked label=${t('Downloads per day')} labels=${downloads.data.map((d) => d.day)}
          datasets=${[{ label: t('Delivered'), data: downloads.data.map((d) => d.delivered), backgroundColor: '#1d6b2f' }, { label: t('Failed'), data: downloads.data.map((d) => d.failed), backgroundColor: '#a4160b' }]} />`}</section>
    </div>
    <section><h2>${t('Failures')}</h2>
      <${Table} caption=${t('Days with failed downloads')} empty=${t('No failed downloads in the last 30 days.')} rows=${failures} columns=${[[t('Day'), (d) => d.day], [t('Failed'), (d) => d.failed], [t('Started'), (d) => d.started]]} /></section>
    <section><h2>${t('Versions rolling out')}</h2><${LoadError} error=${versions.error} />
      <${Table} caption=${t('Versions rolling out')} empty=${t('No rollout in progress.')} rows=${rolling}
        columns=${[[t('Version'), (v) => v.version], [t('State'), (v) => t(v.state)], [t('Share'), (v) => `${v.rollout}%`], [t('Halt reason'), (v) => v.haltReason ?? '']]} /></section>`
}

function PublishForm ({ program, onDone }) {
  const [files, setFiles] = useState([])
  const [over, setOver] = useState(false)
  const [progress, setProgress] = useState(undefined)
  const fields = [
    { name: 'version', label: t('Version'), required: true, hint: '2.8.0.0' },
    { name: 'releasedAt', label: t('Release date (backdating)'), type: 'date' },
    { name: 'notesEn', label: t('Release notes (English)'), type: 'textarea', wide: true },
    { name: 'notesEl', label: t('Release notes (Greek)'), type: 'textarea', wide: true },
    { name: 'rename', label: t('@rename.txt of the version'), type: 'textarea', hint: 'Docs=C:\\iShop\\Docs' },
    { name: 'install', label: t('@install.txt of the program'), type: 'textarea', hint: '%TEMP\\setup.exe /S' }
  ]
  const submit = async (v) => {
    const body = new FormData()
    for (const [k, value] of Object.entries(v)) if (value !== undefined && value !== '') body.append(k, value)
    for (const f of files) body.append('file', f, f.webkitRelativePath || f.name)
    setProgress(0)
    try {
      await upload('POST', `/api/v1/programs/${enc(program)}/versions`, body, setProgress)
    } finally { setProgress(undefined) }
    setFiles([])
    onDone()
    return v.version
  }
  const drop = (e) => { e.preventDefault(); setOver(false); setFiles([...files, ...e.dataTransfer.files]) }
  return html`<${Form} label=${t('Publish')} fields=${fields} submit=${submit} done=${(v) => `${t('Published')} ${v}.`} busy=${html`<${Progress} label=${t('Upload')} value=${progress} />`}>
    <div class=${`drop${over ? ' over' : ''}`} onDragOver=${(e) => { e.preventDefault(); setOver(true) }} onDragLeave=${() => setOver(false)} onDrop=${drop}>
      <p>${t('Drop the version\'s files here, or choose them:')}</p>
      <${Field} f=${{ name: 'files', label: t('Files'), type: 'file', multiple: true }} onInput=${(list) => setFiles([...files, ...list])} />
      <p role="status" aria-live="polite">${files.length === 0 ? t('No files chosen.') : `${files.length} ${t('files')}: ${files.map((f) => f.name).join(', ')}`}</p>
    </div>
  </${Form}>`
}

function UpdateLocation ({ program }) {
  const updates = useLoad(() => api('GET', `/api/v1/programs/${enc(program)}/updates`), [program])
  const [files, setFiles] = useState([])
  const [progress, setProgress] = useState(undefined)
  const folders = [...(updates.data?.parts ?? []), ...(updates.data?.serials ?? [])]
  const submit = async (v) => {
    const body = new FormData()
    if (v.rename) body.append('rename', v.rename)
    if (v.install) body.append('install', v.install)
    for (const f of files) body.append('file', f, f.name)
    setProgress(0)
    try { await upload('POST', `/api/v1/programs/${enc(program)}/updates/${enc(v.part ?? '')}`, body, setProgress) } finally { setProgress(undefined) }
    setFiles([])
    updates.reload()
  }
  return html`<section><h2>${t('Update location and serial folders')}</h2><${LoadError} error=${updates.error} />
    <p>@install.txt: <code>${(updates.data?.install ?? []).join(' · ')}</code></p>
    <${Table} caption=${t('Update folders')} rows=${folders} columns=${[[t('Folder'), (p) => p.part], [t('Files'), (p) => p.files.map((f) => f.path).join(', ')],
      [t('Actions'), (p) => html`<${Actions} actions=${[[`${t('Remove')} ${p.part}`, async () => { await api('DELETE', `/api/v1/programs/${enc(program)}/updates/${enc(p.part)}`); updates.reload() }, 'danger']]} />`]]} />
    <${Form} label=${t('Upload to the Update location')} submit=${submit} busy=${html`<${Progress} label=${t('Upload')} value=${progress} />`}
      fields=${[{ name: 'part', label: t('Folder (a version part such as 2.6, or @serial)'), required: true }, { name: 'rename', label: t('@rename.txt of the folder'), type: 'textarea' }, { name: 'install', label: t('@install.txt of the Update location'), type: 'textarea' }]}>
      <${Field} f=${{ name: 'updateFiles', label: t('Files'), type: 'file', multiple: true }} onInput=${setFiles} />
    </${Form}></section>`
}

function ProgramsPage () {
  const { program, picker, programs } = useProgram()
  const versions = useLoad(() => program === '' ? Promise.resolve({ items: [] }) : api('GET', `/api/v1/programs/${enc(program)}/versions`), [program])
  const [editing, setEditing] = useState(null)
  const path = (v) => `/api/v1/programs/${enc(program)}/versions/${enc(v)}`
  return html`<section><h2>${t('Programs')}</h2><${LoadError} error=${programs.error} />
      <${Table} caption=${t('Programs')} rows=${programs.data?.items ?? []} columns=${[[t('Name'), (p) => p.name], [t('Name (Greek)'), (p) => p.displayNameEl ?? ''], [t('Name (English)'), (p) => p.displayNameEn ?? ''], [t('Versions'), (p) => p.versions.join(', ')]]} />
      <${Form} label=${t('Create program')} submit=${async (v) => { await api('POST', '/api/v1/programs', { ...v, purchaseUrl: v.purchaseUrl || undefined }); programs.reload() }}
        fields=${[{ name: 'name', label: t('Name'), required: true }, { name: 'displayNameEl', label: t('Name (Greek)') }, { name: 'displayNameEn', label: t('Name (English)') }, { name: 'purchaseUrl', label: t('Purchase URL'), type: 'url' }]} /></section>
    <section><h2>${t('Versions')}</h2>${picker}<${LoadError} error=${versions.error} />
      <${Table} caption=${`${t('Versions of')} ${program}`} rows=${versions.data?.items ?? []} columns=${[
        [t('Version'), (v) => v.version], [t('Released'), (v) => day(v.releasedAt)], [t('State'), (v) => v.yanked ? t('yanked') : t(v.state)],
        [t('Files'), (v) => v.files.length], [t('Actions'), (v) => html`<${Actions} actions=${[
          [`${v.yanked ? t('Unyank') : t('Yank')} ${v.version}`, async () => { await api('POST', `${path(v.version)}/${v.yanked ? 'unyank' : 'yank'}`); versions.reload() }, v.yanked ? 'secondary' : 'danger'],
          [`${t('Edit')} ${v.version}`, () => { setEditing(v); return '' }]]} />`]]} />
      ${editing === null
? null
: html`<${Form} label=${`${t('Save')} ${editing.version}`} initial=${{ notesEn: editing.notesEn ?? '', notesEl: editing.notesEl ?? '', releasedAt: day(editing.releasedAt) }}
        submit=${async (v) => { await api('PATCH', path(editing.version), { notesEn: v.notesEn || null, notesEl: v.notesEl || null, releasedAt: v.releasedAt || undefined }); versions.reload() }}
        fields=${[{ name: 'releasedAt', label: t('Release date (backdating)'), type: 'date' }, { name: 'notesEn', label: t('Release notes (English)'), type: 'textarea', wide: true }, { name: 'notesEl', label: t('Release notes (Greek)'), type: 'textarea', wide: true }]} />`}
      ${program === '' ? null : html`<h2>${t('Publish a version')}</h2><${PublishForm} program=${program} onDone=${versions.reload} />`}</section>
    ${program === '' ? null : html`<${UpdateLocation} program=${program} />`}`
}

function RolloutsPage () {
  const { program, picker } = useProgram()
  const versions = useLoad(() => program === '' ? Promise.resolve({ items: [] }) : api('GET', `/api/v1/programs/${enc(program)}/versions`), [program])
  const [chosen, choose] = useState('')
  const list = versions.data?.items ?? []
  const version = list.some((v) => v.version === chosen) ? chosen : (list[0]?.version ?? '')
  const base = `/api/v1/programs/${enc(program)}/versions/${enc(version)}`
  const rollout = useLoad(() => version === '' ? Promise.resolve(null) : api('GET', `${base}/rollout`), [program, version])
  const funnel = useLoad(() => version === '' ? Promise.resolve(null) : api('GET', `/api/v1/analytics/funnel${query({ program, version })}`), [program, version])
  const r = rollout.data
  const s = r?.settings
  const reload = () => { rollout.reload(); funnel.reload() }
  const schedule = (text) => text.split('\n').map((l) => l.trim()).filter((l) => l !== '').map((l) => { const [at, share] = l.split(/\s+/); return { at, rollout: Number(share) } })
  return html`${picker}
    <${Field} f=${{ name: 'version', label: t('Version'), type: 'select', options: list.map((v) => [v.version, v.version]) }} value=${version} onInput=${choose} />
    <${LoadError} error=${rollout.error} />
    ${r == null
? null
: html`<section><h2>${t('State')}</h2>
      <p><strong>${t(r.state)}</strong>; ${t('share offered')}: <strong>${r.effectiveRollout}%</strong>; ${t('PCs offered')}: ${r.offered}; ${t('downloads')}: ${r.downloads.started} / ${r.downloads.delivered} / ${r.downloads.failed} (${t('started / delivered / failed')})${r.haltReason === null ? '' : `; ${t('Halt reason')}: ${r.haltReason}`}</p>
      ${r.state === 'halted'
        ? html`<${Actions} actions=${[[t('Resume'), async () => { await api('POST', `${base}/resume`); reload() }]]} />`
        : html`<${Form} label=${t('Halt')} submit=${async (v) => { await api('POST', `${base}/halt`, { reason: v.reason || undefined }); reload() }} fields=${[{ name: 'reason', label: t('Reason for the halt') }]} />`}
      <h2>${t('Settings')}</h2>
      <${Form} label=${t('Save rollout')} initial=${{
        rollout: String(s.rollout),
        rolloutSchedule: s.rolloutSchedule.map((st) => `${st.at} ${st.rollout}`).join('\n'),
        channel: s.channel,
        requiredStep: s.requiredStep,
        minFromVersion: s.minFromVersion ?? '',
        maxFailureRate: s.autoHalt === null ? '' : String(s.autoHalt.maxFailureRate * 100),
        minDownloads: s.autoHalt === null ? '' : String(s.autoHalt.minDownloads)
      }} submit=${async (v) => {
        await api('PATCH', base, {
          rollout: Number(v.rollout),
          rolloutSchedule: schedule(v.rolloutSchedule ?? ''),
          channel: v.channel,
          requiredStep: v.requiredStep === true,
          minFromVersion: v.minFromVersion || null,
          autoHalt: v.maxFailureRate === '' || v.maxFailureRate === undefined ? null : { maxFailureRate: Number(v.maxFailureRate) / 100, minDownloads: Number(v.minDownloads || 1) }
        })
        reload()
      }} fields=${[
        { name: 'rollout', label: t('Share of PCs offered (%)'), type: 'number', min: 0, max: 100, step: 'any', required: true },
        { name: 'rolloutSchedule', label: t('Schedule (one step a line: instant share)'), type: 'textarea', hint: '2026-12-05T09:00:00Z 50' },
        { name: 'channel', label: t('Channel'), type: 'select', options: [['stable', t('stable')], ['beta', t('beta')]] },
        { name: 'requiredStep', label: t('Stepping stone'), type: 'checkbox' },
        { name: 'minFromVersion', label: t('Only from version') },
        { name: 'maxFailureRate', label: t('Automatic halt above failure rate (%)'), type: 'number', min: 0, max: 100, step: 'any' },
        { name: 'minDownloads', label: t('after at least downloads'), type: 'number', min: 1 }
      ]} /></section>`}
    <section><h2>${t('Funnel')}</h2><${LoadError} error=${funnel.error} />
      ${funnel.data == null
? null
: html`<${Chart} type="bar" label=${t('Funnel')} labels=${['offered', 'linksIssued', 'downloadsStarted', 'delivered', 'confirmed', 'failed'].map(t)}
        datasets=${[{ label: version, data: ['offered', 'linksIssued', 'downloadsStarted', 'delivered', 'confirmed', 'failed'].map((k) => funnel.data[k]) }]} />
        <${Table} caption=${t('Top errors')} rows=${funnel.data.topErrors ?? []} columns=${[[t('Message'), (e) => e.message], [t('Count'), (e) => e.count]]} />`}</section>`
}

function MessagesPage () {
  const inbox = useLoad(() => api('GET', '/api/v1/messages/inbox?limit=50'), [])
  const questions = useLoad(() => api('GET', '/api/v1/messages/questions?limit=50'), [])
  return html`<section><h2>${t('Inbox')}</h2><${LoadError} error=${inbox.error} />
      <${Table} caption=${t('Messages from PCs')} rows=${inbox.data?.items ?? []} columns=${[[t('Received'), (m) => date(m.receivedAt)], ['PCID', (m) => m.pcid], [t('Program'), (m) => m.program ?? ''],
        [t('Subject'), (m) => m.subject], [t('Text'), (m) => m.text], [t('Attachments'), (m) => m.attachments.map((a) => html`<a href=${a.url} download=${a.name}>${a.name}</a> `)]]} /></section>
    <section><h2>${t('Ask a question')}</h2>
      <${Form} label=${t('Send question')} done=${t('Question sent.')} submit=${async (v) => {
        await api('POST', '/api/v1/messages/questions', { subject: v.subject ?? '', text: v.text ?? '', pcid: v.pcid || undefined, program: v.program || undefined, version: v.version || undefined })
        questions.reload()
      }} fields=${[{ name: 'subject', label: t('Subject'), required: true }, { name: 'text', label: t('Question'), type: 'textarea', required: true, wide: true },
        { name: 'pcid', label: t('To one PC (PCID)') }, { name: 'program', label: t('or to every PC of program') }, { name: 'version', label: t('of version (optional)') }]} /></section>
    <section><h2>${t('Questions and answers')}</h2><${LoadError} error=${questions.error} />
      <${Table} caption=${t('Questions and answers')} rows=${(questions.data?.items ?? []).flatMap((q) => q.deliveries.length === 0 ? [{ q, d: null }] : q.deliveries.map((d) => ({ q, d })))}
        columns=${[[t('Asked'), (r) => date(r.q.createdAt)], [t('Subject'), (r) => r.q.subject], ['PCID', (r) => r.d?.pcid ?? ''], [t('Delivered'), (r) => date(r.d?.deliveredAt)], [t('Answer'), (r) => r.d?.answer ?? '']]} /></section>`
}

function AuditPage () {
  const [filter, setFilter] = useState({ actor: '', action: '', offset: 0 })
  const audit = useLoad(() => api('GET', `/api/v1/audit${query({ ...filter, limit: 50 })}`), [JSON.stringify(filter)])
  const total = audit.data?.total ?? 0
  return html`<${Form} label=${t('Filter')} done="" submit=${async (v) => setFilter({ actor: v.actor ?? '', action: v.action ?? '', offset: 0 })}
      fields=${[{ name: 'actor', label: t('Token name') }, { name: 'action', label: t('Action (or its start, e.g. license.)') }]} />
    <${LoadError} error=${audit.error} />
    <${Table} caption=${`${t('Audit log')}: ${total}`} rows=${audit.data?.items ?? []} columns=${[[t('When'), (e) => date(e.at)], [t('Token name'), (e) => e.actor], [t('Action'), (e) => e.action], [t('Target'), (e) => e.target], [t('Details'), (e) => e.details === null ? '' : JSON.stringify(e.details)]]} />
    <button type="button" class="secondary" disabled=${filter.offset === 0} onClick=${() => setFilter({ ...filter, offset: Math.max(0, filter.offset - 50) })}>${t('Newer')}</button>
    <button type="button" class="secondary" disabled=${filter.offset + 50 >= total} onClick=${() => setFilter({ ...filter, offset: filter.offset + 50 })}>${t('Older')}</button>`
}

function WebhooksPage () {
  const hooks = useLoad(() => api('GET', '/api/v1/webhooks'), [])
  const [open, setOpen] = useState(null)
  const deliveries = useLoad(() => open === null ? Promise.resolve(null) : api('GET', `/api/v1/webhooks/${enc(open)}/deliveries`), [open])
  if (hooks.error !== undefined) return html`<${LoadError} error=${hooks.error} />`
  const items = hooks.data?.items ?? []
  return html`<${Table} caption=${t('Webhooks')} rows=${items} columns=${[['URL', (h) => h.url], [t('Events'), (h) => (h.events ?? []).join(', ')], [t('Enabled'), (h) => h.enabled ? t('yes') : t('no')],
      [t('Actions'), (h) => html`<${Actions} actions=${[[`${t('Deliveries of')} ${h.url}`, () => { setOpen(h.id); return '' }],
        [`${h.enabled ? t('Disable') : t('Enable')} ${h.url}`, async () => { await api('PATCH', `/api/v1/webhooks/${enc(h.id)}`, { enabled: !h.enabled }); hooks.reload() }],
        [`${t('Delete')} ${h.url}`, async () => { await api('DELETE', `/api/v1/webhooks/${enc(h.id)}`); hooks.reload() }, 'danger']]} />`]]} />
    <${Form} label=${t('Add webhook')} submit=${async (v) => { await api('POST', '/api/v1/webhooks', { url: v.url ?? '', secret: v.secret || undefined, events: (v.events ?? '').split(',').map((e) => e.trim()).filter(Boolean), enabled: true }); hooks.reload() }}
      fields=${[{ name: 'url', label: 'URL', type: 'url', required: true }, { name: 'secret', label: t('Secret (optional)') }, { name: 'events', label: t('Events, separated by commas'), hint: 'version.publish, rollout.halt' }]} />
    ${open === null
? null
: html`<section><h2>${t('Deliveries')}</h2><${LoadError} error=${deliveries.error} />
      <${Table} caption=${t('Deliveries')} rows=${deliveries.data?.items ?? []} columns=${[[t('When'), (d) => date(d.createdAt ?? d.at)], [t('Event'), (d) => d.event], [t('Status'), (d) => d.status ?? d.responseStatus ?? ''], [t('Attempts'), (d) => d.attempts ?? ''],
        [t('Actions'), (d) => html`<${Actions} actions=${[[t('Redeliver'), async () => { await api('POST', `/api/v1/webhooks/${enc(open)}/deliveries/${enc(d.id)}/redeliver`); deliveries.reload() }]]} />`]]} /></section>`}`
}

function TokensPage () {
  const tokens = useLoad(() => api('GET', '/api/v1/tokens'), [])
  const [made, setMade] = useState(null)
  return html`<${LoadError} error=${tokens.error} />
    <${Table} caption=${t('Admin tokens')} rows=${tokens.data?.items ?? []} columns=${[[t('Name'), (k) => k.name], [t('Created'), (k) => date(k.createdAt)], [t('Last used'), (k) => date(k.lastUsedAt)],
      [t('State'), (k) => k.revokedAt === null ? t('active') : `${t('revoked')} ${date(k.revokedAt)}`],
      [t('Actions'), (k) => k.revokedAt !== null ? '' : html`<${Actions} actions=${[[`${t('Revoke')} ${k.name}`, async () => { await api('DELETE', `/api/v1/tokens/${enc(k.name)}`); tokens.reload() }, 'danger']]} />`]]} />
    <${Form} label=${t('Create token')} done=${t('Token created.')} submit=${async (v) => { setMade(await api('POST', '/api/v1/tokens', { name: v.name ?? '' })); tokens.reload() }} fields=${[{ name: 'name', label: t('Name'), required: true }]} />
    ${made === null ? null : html`<div class="panel" role="status"><p>${t('The token, shown only now:')}</p><p class="secret">${made.token}</p></div>`}`
}

/** The console's pages: their address below /admin, the title (an English key of i18n.js) and the component. */
export const PAGES = [
  { path: '', title: 'Overview', Page: OverviewPage },
  { path: 'programs', title: 'Programs and versions', Page: ProgramsPage },
  { path: 'rollouts', title: 'Rollouts', Page: RolloutsPage },
  { path: 'licenses', title: 'Licenses', Page: LicensesPage },
  { path: 'pcs', title: 'PCs', Page: PcsPage },
  { path: 'messages', title: 'Messages', Page: MessagesPage },
  { path: 'audit', title: 'Audit log', Page: AuditPage },
  { path: 'webhooks', title: 'Webhooks', Page: WebhooksPage },
  { path: 'tokens', title: 'Tokens', Page: TokensPage }
]
