import { html } from 'htm/preact'
import { useEffect, useRef, useState, useCallback } from 'preact/hooks'
import { Chart as ChartJs, registerables } from 'chart.js'
import { api, Problem } from './api.js'
import { t, lang } from './i18n.js'

ChartJs.register(...registerables)

let ids = 0
const useId = (prefix) => useRef(`${prefix}-${++ids}`).current

/** The name an API error gives a field (`body.seatLimit`, `querystring.q`) as the form knows it. */
export function fieldKey (field) {
  return String(field ?? '').replace(/^(body|querystring|params)\./, '')
}

/**
 * One labelled control. `f`: { name, label, type (text, number, date, textarea, select,
 * checkbox, file), options: [[value, label]], required, hint }.
 */
export function Field ({ f, value, error, onInput }) {
  const id = useId(`f-${f.name}`)
  const described = [error === undefined ? null : `${id}-err`, f.hint === undefined ? null : `${id}-hint`].filter(Boolean).join(' ') || undefined
  const common = { id, name: f.name, required: f.required, 'aria-invalid': error === undefined ? undefined : 'true', 'aria-describedby': described }
  let control
  if (f.type === 'textarea') control = html`<textarea ...${common} rows=${f.rows ?? 3} value=${value ?? ''} onInput=${(e) => onInput(e.currentTarget.value)} />`
  else if (f.type === 'select') control = html`<select ...${common} value=${value ?? ''} onChange=${(e) => onInput(e.currentTarget.value)}>${f.options.map(([v, l]) => html`<option value=${v}>${l}</option>`)}</select>`
  else if (f.type === 'checkbox') control = html`<input type="checkbox" ...${common} checked=${value === true} onChange=${(e) => onInput(e.currentTarget.checked)} />`
  else if (f.type === 'file') control = html`<input type="file" ...${common} multiple=${f.multiple} accept=${f.accept} onChange=${(e) => onInput([...e.currentTarget.files])} />`
  else control = html`<input type=${f.type ?? 'text'} ...${common} step=${f.step} min=${f.min} max=${f.max} value=${value ?? ''} onInput=${(e) => onInput(e.currentTarget.value)} />`
  return html`<div class=${`field${f.wide === true ? ' wide' : ''}`}>
    <label for=${id}>${f.label}</label>
    ${control}
    ${f.hint === undefined ? null : html`<span id=${`${id}-hint`} class="note">${f.hint}</span>`}
    ${error === undefined ? null : html`<span id=${`${id}-err`} class="error">${error}</span>`}
  </div>`
}

/** The errors of a failed call: those naming a field of the form go beside it, the rest on top. */
export function splitErrors (err, names) {
  const byField = {}
  const other = []
  if (!(err instanceof Problem)) return { message: String(err?.message ?? err), byField, other }
  for (const e of err.errors) {
    const key = fieldKey(e.field)
    if (e.line === undefined && names.includes(key) && byField[key] === undefined) byField[key] = e.message
    else other.push(e)
  }
  return { message: err.message, byField, other }
}

/** A list of line errors (a CSV import) or field errors that have no control of their own. */
export function ErrorList ({ errors }) {
  if (errors.length === 0) return null
  return html`<table><caption>${t('Errors')}</caption><thead><tr><th scope="col">${t('Line')}</th><th scope="col">${t('Field')}</th><th scope="col">${t('Message')}</th></tr></thead>
    <tbody>${errors.map((e) => html`<tr><td>${e.line ?? ''}</td><td>${fieldKey(e.field)}</td><td>${e.message}</td></tr>`)}</tbody></table>`
}

/**
 * A form of fields whose submit calls `submit(values)`; the API's errors are shown next to the
 * field they name, and the outcome is announced (aria-live).
 */
export function Form ({ fields, submit, label, initial = {}, done, children, busy }) {
  const [values, setValues] = useState(initial)
  const [state, setState] = useState({ byField: {}, other: [], message: '', ok: '' })
  const [working, setWorking] = useState(false)
  const statusRef = useRef(null)
  useEffect(() => { setValues(initial) }, [JSON.stringify(initial)])
  async function onSubmit (e) {
    e.preventDefault()
    setWorking(true)
    setState({ byField: {}, other: [], message: '', ok: '' })
    try {
      const result = await submit(values)
      setState({ byField: {}, other: [], message: '', ok: typeof done === 'function' ? done(result) : (done ?? t('Saved.')) })
    } catch (err) {
      const split = splitErrors(err, fields.map((f) => f.name))
      setState({ ...split, ok: '' })
      const first = Object.keys(split.byField)[0]
      const control = first === undefined ? null : e.target.querySelector(`[name="${first}"]`)
      if (control !== null) control.focus()
      else statusRef.current?.focus()
    } finally {
      setWorking(false)
    }
  }
  return html`<form class="panel" onSubmit=${onSubmit} aria-label=${label}>
    <div class="fields">${fields.map((f) => html`<${Field} key=${f.name} f=${f} value=${values[f.name]} error=${state.byField[f.name]} onInput=${(v) => setValues({ ...values, [f.name]: v })} />`)}</div>
    ${children}
    <button type="submit" disabled=${working}>${label}</button>
    ${busy ?? null}
    <div ref=${statusRef} tabindex="-1" role="status" aria-live="polite">
      ${state.message === '' ? null : html`<p class="error" role="alert">${state.message}</p>`}
      ${state.ok === '' || state.ok === undefined ? null : html`<p class="ok">${state.ok}</p>`}
    </div>
    <${ErrorList} errors=${state.other} />
  </form>`
}

/** Loads data for a page; a 404 from the API means the feature is not on this server. */
export function useLoad (load, deps) {
  const [state, setState] = useState({ loading: true })
  const reload = useCallback(() => {
    setState((s) => ({ ...s, loading: true }))
    load().then((data) => setState({ data }), (error) => setState({ error }))
  }, deps)
  useEffect(reload, [reload])
  return { ...state, reload }
}

/** What a failed load shows: "not available" for an endpoint this server does not have. */
export function LoadError ({ error }) {
  if (error === undefined) return null
  if (error instanceof Problem && error.status === 404) return html`<p class="note" role="status">${t('Not available on this server.')}</p>`
  return html`<p class="error" role="alert">${error.message}</p>`
}

export function Table ({ caption, columns, rows, empty }) {
  if (rows.length === 0) return html`<p class="note">${empty ?? t('Nothing yet.')}</p>`
  return html`<table><caption>${caption}</caption>
    <thead><tr>${columns.map((c) => html`<th scope="col">${c[0]}</th>`)}</tr></thead>
    <tbody>${rows.map((r, i) => html`<tr key=${i}>${columns.map((c) => html`<td>${c[1](r)}</td>`)}</tr>`)}</tbody>
  </table>`
}

/** A Chart.js chart; `label` describes it to screen readers, and its data follows as a table. */
export function Chart ({ type, labels, datasets, label, stacked }) {
  const canvas = useRef(null)
  useEffect(() => {
    const chart = new ChartJs(canvas.current, {
      type,
      data: { labels, datasets },
      options: { animation: false, maintainAspectRatio: false, scales: stacked === true ? { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } : { y: { beginAtZero: true } } }
    })
    return () => chart.destroy()
  }, [JSON.stringify([type, labels, datasets])])
  return html`<figure>
    <figcaption>${label}</figcaption>
    <div class="chart"><canvas ref=${canvas} role="img" aria-label=${label}></canvas></div>
    <details><summary>${t('Data as a table')}</summary>
      <${Table} caption=${label} columns=${[[t('Label'), (r) => r.label], ...datasets.map((d, i) => [d.label, (r) => r.values[i]])]}
        rows=${labels.map((l, j) => ({ label: l, values: datasets.map((d) => d.data[j]) }))} />
    </details>
  </figure>`
}

/** A progress bar with its label, announced as it moves. */
export function Progress ({ label, value }) {
  const id = useId('progress')
  if (value === undefined) return null
  return html`<div role="status" aria-live="polite"><label for=${id}>${label}</label> <progress id=${id} max="1" value=${value}>${Math.round(value * 100)}%</progress> ${Math.round(value * 100)}%</div>`
}

export const date = (v) => v === null || v === undefined ? '' : new Date(v).toLocaleString(lang() === 'el' ? 'el-GR' : 'en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' })
export const day = (v) => v === null || v === undefined ? '' : String(v).slice(0, 10)

/** The programs, and the one chosen on a page (the first by default). */
export function useProgram () {
  const programs = useLoad(() => api('GET', '/api/v1/programs'), [])
  const [chosen, choose] = useState('')
  const items = programs.data?.items ?? []
  const program = chosen !== '' ? chosen : (items[0]?.name ?? '')
  const picker = html`<${Field} f=${{ name: 'program', label: t('Program'), type: 'select', options: items.map((p) => [p.name, p.name]) }} value=${program} onInput=${choose} />`
  return { program, picker, programs }
}

export function Actions ({ actions }) {
  const [message, setMessage] = useState('')
  const run = async (fn) => {
    setMessage('')
    try { setMessage(await fn() ?? t('Done.')) } catch (err) { setMessage(err.message) }
  }
  return html`<span>${actions.map(([label, fn, kind]) => html`<button type="button" class=${kind ?? 'secondary'} onClick=${() => run(fn)}>${label}</button>`)}
    <span role="status" aria-live="polite">${message}</span></span>`
}
