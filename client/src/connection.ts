import { randomBytes } from 'node:crypto'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { JSONWebKeySet, JWK } from 'jose'
import { verifyAnswer } from '../../src/protocol/answer-signature.js'
import { isPcidSyntax } from '../../src/license/pcid.js'
import { answerLines, charsetOf, parseListing, type Lines, type Listing } from './answer.js'
import { AnswerRefused, ServerError } from './errors.js'
import { fetchAnswer, NetworkError, type Answer } from './http.js'

/**
 * One iUpdate server, as the ini names it (Host, SSL): the `f=` functions of
 * docs/protocol.md and its key set, cached in the data folder.
 */
export const ENDPOINT = '/myweb/iupdate.php'

export interface ProgramQuery {
  program: string
  version: string
  serial: string
}

export class Connection {
  readonly base: string

  constructor (readonly host: string, readonly ssl: boolean, private readonly options: { dataDir: string, timeoutMs: number, pinKeys: boolean }) {
    this.base = `${ssl ? 'https' : 'http'}://${host}`
  }

  url (query: string): string {
    return `${this.base}${ENDPOINT}?${query}`
  }

  private async call (query: string, init: { method?: 'GET' | 'POST', body?: Buffer, type?: string } = {}): Promise<Answer> {
    return await fetchAnswer(this.url(query), {
      method: init.method,
      body: init.body,
      headers: init.type === undefined ? {} : { 'content-type': init.type },
      timeoutMs: this.options.timeoutMs
    })
  }

  private async lines (query: string, init?: { method?: 'GET' | 'POST', body?: Buffer, type?: string }): Promise<Lines> {
    const answer = await this.call(query, init)
    return answerLines(answer.status, answer.body, charsetOf(answer.headers['content-type']))
  }

  async getpcid (program: string): Promise<string> {
    const pcid = (await this.lines(`f=getpcid&prog=${encodeURIComponent(program)}`)).get('PCID') ?? ''
    if (!isPcidSyntax(pcid)) throw new AnswerRefused(`${this.host} gave no PCID`)
    return pcid
  }

  /**
   * f=qrymaxver with v=1 and a fresh nonce; the answer must carry a signature that verifies
   * with the server's key set (docs/protocol.md §9) and name this PCID, or it is refused.
   */
  async qrymaxver (pcid: string, programs: readonly ProgramQuery[]): Promise<Listing> {
    const nonce = randomBytes(24).toString('base64url')
    const query = ['f=qrymaxver', 'v=1', 'cs=utf8', `pcid=${encodeURIComponent(pcid)}`, `nonce=${nonce}`]
    for (const p of programs) query.push(`prog[]=${encodeURIComponent(p.program)}`, `version[]=${encodeURIComponent(p.version)}`, `serial[]=${encodeURIComponent(p.serial)}`)
    const answer = await this.call(query.join('&'))
    const charset = charsetOf(answer.headers['content-type'])
    if (answer.body.subarray(0, 6).toString('latin1') === 'ERROR=' || answer.status !== 200) answerLines(answer.status, answer.body, charset)
    let keys = await this.keys()
    let check = verifyAnswer(answer.body, nonce, keys)
    if (!check.valid && check.problem === 'UNKNOWN_KEY' && !this.options.pinKeys) {
      // A new signing key (a rotation): the server publishes it before signing with it.
      keys = await this.keys(true)
      check = verifyAnswer(answer.body, nonce, keys)
    }
    if (!check.valid) {
      const why = { UNSIGNED: 'it carries no signature', UNKNOWN_KEY: `its key ${check.kid ?? ''} is not in the server's key set`, BAD_SIGNATURE: 'its signature does not verify (changed on the way?)' }
      throw new AnswerRefused(`${this.host}: ${why[check.problem]}`)
    }
    const listing = parseListing(answerLines(200, check.answer, charset), programs.length)
    if (listing.pcid !== pcid) throw new AnswerRefused(`${this.host}: the answer is for another PC`)
    return listing
  }

  /** The server's JWK set: the cached copy, or fetched (and cached) when there is none or `fresh`. */
  async keys (fresh = false): Promise<JSONWebKeySet> {
    const file = join(this.options.dataDir, 'keys', `${this.host.replace(/[^A-Za-z0-9.-]/g, '_')}.json`)
    if (!fresh || this.options.pinKeys) {
      try {
        return parseKeySet((await readFile(file)).toString('utf8'), file)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
        if (this.options.pinKeys) throw new AnswerRefused(`no key set for ${this.host} in ${file}, and pinKeys is set`)
      }
    }
    const url = `${this.base}/.well-known/jwks.json`
    const answer = await fetchAnswer(url, { timeoutMs: this.options.timeoutMs })
    if (answer.status !== 200) throw new NetworkError(`${url} answered ${answer.status}`)
    const keys = parseKeySet(answer.body.toString('utf8'), url)
    await mkdir(join(this.options.dataDir, 'keys'), { recursive: true })
    await writeFile(`${file}.tmp`, JSON.stringify(keys, null, 2) + '\n')
    await rename(`${file}.tmp`, file)
    return keys
  }

  /** f=dlconfirm: the outcome of a download (docs/protocol.md §7). */
  async dlconfirm (token: string, ok: boolean, error?: string): Promise<void> {
    const query = `f=dlconfirm&t=${encodeURIComponent(token)}${ok ? '' : `&ok=0&err=${encodeURIComponent((error ?? '').slice(0, 1000))}`}`
    await this.lines(query, { method: 'POST' })
  }

  /** f=sendmsg with a multipart body (docs/protocol.md §8); returns the server's message id. */
  async sendmsg (body: Buffer, type: string): Promise<string> {
    const id = (await this.lines('f=sendmsg', { method: 'POST', body, type })).get('MSGID')
    if (id === undefined) throw new AnswerRefused(`${this.host} gave no MSGID`)
    return id
  }

  async getmsg (pcid: string): Promise<Lines> {
    return await this.lines(`f=getmsg&cs=utf8&pcid=${encodeURIComponent(pcid)}`)
  }

  async ansmsg (pcid: string, id: string, text: string): Promise<void> {
    const body = Buffer.from(`pcid=${encodeURIComponent(pcid)}&msgid=${encodeURIComponent(id)}&cs=utf8&message=${encodeURIComponent(text)}`)
    await this.lines('f=ansmsg', { method: 'POST', body, type: 'application/x-www-form-urlencoded' })
  }
}

function parseKeySet (text: string, from: string): JSONWebKeySet {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new AnswerRefused(`${from} is not a JWK set`)
  }
  const keys = (parsed as { keys?: unknown }).keys
  if (!Array.isArray(keys) || keys.length === 0) throw new AnswerRefused(`${from} holds no keys`)
  return { keys: keys as JWK[] }
}

export function isServerError (err: unknown, code: string): boolean {
  return err instanceof ServerError && err.code === code
}
