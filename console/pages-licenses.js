import { html } from 'htm/preact'
import { useState } from 'preact/hooks'
import { api, download, Problem, query, upload } from './api.js'
import { t } from './i18n.js'
import { Actions, date, day, ErrorList, Field, Form, LoadError, Progress, splitErrors, Table, useLoad, useProgram } from './ui.js'

const enc = encodeURIComponent
const STATUSES = ['active', 'suspended', 'revoked']

function LicenseDetail ({ licenseKey, onChange }) {
  const license = useLoad(() => api('GET', `/api/v1/licenses/${enc(licenseKey)}`), [licenseKey])
  const seats = useLoad(() => api('GET', `/api/v1/licenses/${enc(licenseKey)}/seats`), [licenseKey])
  const l = license.data
  const base = `/api/v1/licenses/${enc(licenseKey)}`
  const changed = () => { license.reload(); seats.reload(); onChange() }
  if (l === undefined) return html`<${LoadError} error=${license.error} />`
  return html`<section><h2>${t('License')} ${l.key}</h2>
    <${Form} label=${t('Save license')} initial=${{ status: l.status, maintenanceEnd: day(l.maintenanceEnd), seatLimit: String(l.seatLimit), channel: l.channel, pin: l.pin ?? '', customerName: l.customerName, customerEmail: l.customerEmail ?? '', notes: l.notes ?? '' }}
      submit=${async (v) => {
        await api('PATCH', base, { status: v.status, maintenanceEnd: v.maintenanceEnd || null, seatLimit: Number(v.seatLimit), channel: v.channel, pin: v.pin || null, customerName: v.customerName, customerEmail: v.customerEmail || null, notes: v.notes || null })
        changed()
      }} fields=${[
        { name: 'status', label: t('Status'), type: 'select', options: STATUSES.map((s) => [s, t(s)]) },
        { name: 'maintenanceEnd', label: t('Maintenance until'), type: 'date', hint: t('empty: lifetime updates') },
        { name: 'seatLimit', label: t('Seat limit'), type: 'number', min: 1 },
        { name: 'channel', label: t('Channel'), type: 'select', options: [['stable', t('stable')], ['beta', t('beta')]] },
        { name: 'pin', label: t('Pin to version'), hint: '2.6' },
        { name: 'customerName', label: t('Customer') },
        { name: 'customerEmail', label: t('E-mail'), type: 'email' },
        { name: 'notes', label: t('Notes'), type: 'textarea' }
      ]} />
    <h3>${t('Seats')}: ${seats.data?.items.length ?? ''} / ${seats.data?.seatLimit ?? ''}</h3><${LoadError} error=${seats.error} />
    <${Table} caption=${t('Seats')} empty=${t('No seat is taken.')} rows=${seats.data?.items ?? []} columns=${[['PCID', (s) => s.pcid], [t('Bound'), (s) => date(s.boundAt)], [t('Last seen'), (s) => date(s.lastSeenAt)],
      [t('Actions'), (s) => html`<${Actions} actions=${[[`${t('Free seat')} ${s.pcid}`, async () => { await api('DELETE', `${base}/seats/${enc(s.pcid)}`); changed(); return t('Seat freed.') }, 'danger']]} />`]]} />
    ${(seats.data?.items.length ?? 0) === 0 ? null : html`<${Actions} actions=${[[t('Free all seats'), async () => { await api('DELETE', `${base}/seats`); changed(); return t('Seats freed.') }, 'danger']]} />`}
  </section>`
}

function ImportForm ({ onDone }) {
  const [file, setFile] = useState(undefined)
  const [text, setText] = useState('')
  const [encoding, setEncoding] = useState('utf-8')
  const [progress, setProgress] = useState(undefined)
  const [outcome, setOutcome] = useState({ message: '', errors: [], ok: '' })
  async function submit (e) {
    e.preventDefault()
    setOutcome({ message: '', errors: [], ok: '' })
    setProgress(0)
    try {
      const answer = await upload('POST', `/api/v1/licenses/import${query({ encoding })}`, file ?? text, setProgress, 'text/csv')
      setOutcome({ message: '', errors: [], ok: `${t('Imported')}: ${answer.imported ?? answer.items?.length ?? 0}` })
      onDone()
    } catch (err) {
      const { message, other, byField } = splitErrors(err, [])
      setOutcome({ message, errors: [...other, ...Object.entries(byField).map(([field, m]) => ({ field, message: m }))], ok: '' })
    } finally { setProgress(undefined) }
  }
  return html`<form class="panel" onSubmit=${submit} aria-label=${t('Import licenses')}>
    <div class="fields">
      <${Field} f=${{ name: 'csvFile', label: t('CSV file'), type: 'file', accept: '.csv,text/csv' }} onInput=${(files) => setFile(files[0])} />
      <${Field} f=${{ name: 'csvText', label: t('or CSV text'), type: 'textarea', wide: true, rows: 4, hint: 'program,customerName,customerEmail,maintenanceEnd,seatLimit,notes' }} value=${text} onInput=${setText} />
      <${Field} f=${{ name: 'encoding', label: t('Encoding'), type: 'select', options: [['utf-8', 'UTF-8'], ['windows-1253', 'Windows-1253']] }} value=${encoding} onInput=${setEncoding} />
    </div>
    <button type="submit">${t('Import')}</button>
    <${Progress} label=${t('Upload')} value=${progress} />
    <div role="status" aria-live="polite">${outcome.ok === '' ? null : html`<p class="ok">${outcome.ok}</p>`}</div>
    ${outcome.message === '' ? null : html`<div role="alert"><p class="error">${outcome.message}</p><${ErrorList} errors=${outcome.errors} /></div>`}
  </form>`
}

function ExportButton () {
  const [state, setState] = useState('')
  const run = async () => {
    setState(t('Exporting…'))
    try {
      const bytes = await download('/api/v1/licenses/export', 'licenses.csv', (n) => setState(`${t('Exporting…')} ${n} ${t('bytes')}`))
      setState(`${t('Exported')}: ${bytes} ${t('bytes')}`)
    } catch (err) {
      setState(err instanceof Problem && err.status === 404 ? t('Not available on this server.') : err.message)
    }
  }
  return html`<p><button type="button" class="secondary" onClick=${run}>${t('Export licenses (CSV)')}</button> <span role="status" aria-live="polite">${state}</span></p>`
}

export function LicensesPage () {
  const { program, picker } = useProgram()
  const [filter, setFilter] = useState({})
  const [open, setOpen] = useState(null)
  const [created, setCreated] = useState(null)
  const list = useLoad(() => api('GET', `/api/v1/licenses${query({ ...filter, limit: 50 })}`), [JSON.stringify(filter)])
  return html`<section><h2>${t('Search')}</h2>
      <${Form} label=${t('Search licenses')} done="" submit=${async (v) => setFilter({ customer: v.customer, status: v.status, program: v.program })} fields=${[
        { name: 'customer', label: t('Customer name or e-mail') },
        { name: 'program', label: t('Program') },
        { name: 'status', label: t('Status'), type: 'select', options: [['', t('any')], ...STATUSES.map((s) => [s, t(s)])] }]} />
      <${LoadError} error=${list.error} />
      <${Table} caption=${`${t('Licenses')}: ${list.data?.total ?? ''}`} rows=${list.data?.items ?? []} columns=${[
        [t('Key'), (l) => html`<button type="button" class="secondary" onClick=${() => setOpen(l.key)}>${l.key}</button>`],
        [t('Customer'), (l) => l.customerName], [t('Program'), (l) => l.program], [t('Status'), (l) => t(l.status)],
        [t('Maintenance until'), (l) => day(l.maintenanceEnd) || t('lifetime')], [t('Seats'), (l) => `${l.seatsUsed} / ${l.seatLimit}`]]} /></section>
    ${open === null ? null : html`<${LicenseDetail} key=${open} licenseKey=${open} onChange=${list.reload} />`}
    <section><h2>${t('Create a license')}</h2>${picker}
      <${Form} label=${t('Create license')} done=${(key) => `${t('Created')}: ${key}`} submit=${async (v) => {
        const l = await api('POST', '/api/v1/licenses', { program, customerName: v.customerName ?? '', customerEmail: v.customerEmail || undefined, maintenanceEnd: v.maintenanceEnd || undefined, seatLimit: v.seatLimit ? Number(v.seatLimit) : undefined, notes: v.notes || undefined })
        setCreated(l.key)
        list.reload()
        return l.key
      }} fields=${[{ name: 'customerName', label: t('Customer'), required: true }, { name: 'customerEmail', label: t('E-mail'), type: 'email' },
        { name: 'maintenanceEnd', label: t('Maintenance until'), type: 'date' }, { name: 'seatLimit', label: t('Seat limit'), type: 'number', min: 1 }, { name: 'notes', label: t('Notes') }]} />
      ${created === null ? null : html`<p><button type="button" class="secondary" onClick=${() => setOpen(created)}>${t('Open')} ${created}</button></p>`}</section>
    <section><h2>${t('Import and export')}</h2><${ImportForm} onDone=${list.reload} /><${ExportButton} /></section>`
}

function PcDetail ({ pcid }) {
  const pc = useLoad(() => api('GET', `/api/v1/pcids/${enc(pcid)}`), [pcid])
  const downloads = useLoad(() => api('GET', `/api/v1/downloads${query({ pcid, limit: 50 })}`), [pcid])
  const p = pc.data
  if (p === undefined) return html`<${LoadError} error=${pc.error} />`
  return html`<section><h2>PCID ${p.pcid}</h2>
    <p>${t('First contact')}: ${date(p.firstContact)}; ${t('last contact')}: ${date(p.lastContact)}; ${t('address')}: ${p.address ?? ''}; ${t('client')}: ${p.userAgent ?? ''}</p>
    <${Form} label=${t('Save channel')} initial=${{ channel: p.channel }} submit=${async (v) => { await api('PATCH', `/api/v1/pcids/${enc(pcid)}`, { channel: v.channel }); pc.reload() }}
      fields=${[{ name: 'channel', label: t('Channel'), type: 'select', options: [['stable', t('stable')], ['beta', t('beta')]] }]} />
    <${Table} caption=${t('What it runs')} rows=${p.programs} columns=${[[t('Program'), (r) => r.program], [t('Version'), (r) => r.version ?? ''], [t('Serial'), (r) => r.serial ?? ''], [t('Last seen'), (r) => date(r.lastSeenAt)]]} />
    <${Table} caption=${t('Seats')} empty=${t('No seat is taken.')} rows=${p.licenses} columns=${[[t('Key'), (r) => r.key], [t('Program'), (r) => r.program], [t('Status'), (r) => t(r.status)], [t('Bound'), (r) => date(r.boundAt)]]} />
    <${LoadError} error=${downloads.error} />
    <${Table} caption=${t('Downloads')} empty=${t('No downloads.')} rows=${downloads.data?.items ?? []} columns=${[[t('Started'), (d) => date(d.startedAt)], [t('File'), (d) => `${d.folder}/${d.path}`], [t('Bytes'), (d) => `${d.bytesServed} / ${d.size}`],
      [t('State'), (d) => d.failedAt !== null ? `${t('failed')} ${d.error ?? ''}` : d.confirmedAt !== null ? t('confirmed') : d.completedAt !== null ? t('delivered') : t('started')]]} />
  </section>`
}

export function PcsPage () {
  const [found, setFound] = useState(null)
  const [open, setOpen] = useState(null)
  return html`<${Form} label=${t('Look up')} done="" submit=${async (v) => {
      const q = (v.q ?? '').trim()
      const list = await api('GET', `/api/v1/pcids${query({ q, limit: 50 })}`)
      setFound(list.items)
      const exact = list.items.find((p) => p.pcid === q.toUpperCase()) ?? (list.items.length === 1 ? list.items[0] : undefined)
      setOpen(exact?.pcid ?? null)
      if (list.items.length === 0) throw new Problem(404, { detail: t('No PC matches.'), errors: [{ field: 'q', message: t('No PC matches.') }] })
    }} fields=${[{ name: 'q', label: t('PCID (or its start, or an address)'), required: true }]} />
    ${found === null || found.length < 2 ? null : html`<${Table} caption=${t('PCs found')} rows=${found} columns=${[['PCID', (p) => html`<button type="button" class="secondary" onClick=${() => setOpen(p.pcid)}>${p.pcid}</button>`], [t('Last contact'), (p) => date(p.lastSeenAt)], [t('Programs'), (p) => p.programs.map((r) => `${r.program} ${r.version ?? ''}`).join(', ')]]} />`}
    ${open === null ? null : html`<${PcDetail} key=${open} pcid=${open} />`}`
}
