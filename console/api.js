// Every call of the console goes to the admin API on this origin with the session cookie;
// changes carry the session's CSRF value (docs/console.md).
let csrf = ''
let onSignedOut = () => {}

export function setSession (value, signedOut) {
  csrf = value
  if (signedOut !== undefined) onSignedOut = signedOut
}

/** A problem details answer (RFC 9457) of the admin API. */
export class Problem extends Error {
  constructor (status, body) {
    super(typeof body === 'object' && body !== null ? (body.detail ?? body.title ?? `HTTP ${status}`) : `HTTP ${status}`)
    this.status = status
    this.errors = (typeof body === 'object' && body !== null && Array.isArray(body.errors)) ? body.errors : []
  }
}

function headers (method, type) {
  const h = {}
  if (method !== 'GET' && method !== 'HEAD') h['x-csrf-token'] = csrf
  if (type !== undefined) h['content-type'] = type
  return h
}

async function answer (status, type, text) {
  const body = type.includes('json') && text !== '' ? JSON.parse(text) : text
  if (status === 401 || (status === 403 && typeof body === 'object' && /revoked/i.test(body.detail ?? ''))) onSignedOut()
  if (status >= 400) throw new Problem(status, body)
  return status === 204 ? null : body
}

/** method, URL, and a body: an object is sent as JSON, a string as `type` (text/csv). */
export async function api (method, url, body, type = 'application/json') {
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body)
  const res = await fetch(url, { method, headers: headers(method, body === undefined ? undefined : type), body: payload, credentials: 'same-origin' })
  return await answer(res.status, res.headers.get('content-type') ?? '', await res.text())
}

/** Sends a body (FormData or a File) with XMLHttpRequest, whose upload reports progress. */
export function upload (method, url, body, onProgress, type) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest()
    xhr.open(method, url)
    for (const [k, v] of Object.entries(headers(method, type))) xhr.setRequestHeader(k, v)
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total) }
    xhr.onload = () => { answer(xhr.status, xhr.getResponseHeader('content-type') ?? '', xhr.responseText).then(resolve, reject) }
    xhr.onerror = () => reject(new Problem(0, { detail: 'network error' }))
    xhr.send(body)
  })
}

/** Downloads a file through fetch, reporting the bytes received, and saves it. */
export async function download (url, name, onProgress) {
  const res = await fetch(url, { credentials: 'same-origin' })
  if (!res.ok) await answer(res.status, res.headers.get('content-type') ?? '', await res.text())
  const reader = res.body.getReader()
  const chunks = []
  let received = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    chunks.push(value)
    received += value.length
    onProgress(received)
  }
  const link = document.createElement('a')
  link.href = URL.createObjectURL(new Blob(chunks, { type: res.headers.get('content-type') ?? 'application/octet-stream' }))
  link.download = name
  document.body.append(link)
  link.click()
  link.remove()
  return received
}

/** A query string of the values given (empty ones left out). */
export function query (values) {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(values)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v))
  const s = q.toString()
  return s === '' ? '' : `?${s}`
}
