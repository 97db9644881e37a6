import { randomBytes } from 'node:crypto'
import { copyFile, mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises'
import { userInfo } from 'node:os'
import { join } from 'node:path'
import { uniqueNames } from '../../src/messages/names.js'
import { decodeText, encodeText, escapeValue, unescapeValue, type Charset } from '../../src/protocol/text.js'
import { parseLines } from './answer.js'
import { ensurePcid } from './check.js'
import type { Context } from './context.js'
import { ClientError, messageOf, ServerError } from './errors.js'
import type { Question } from './state.js'

/**
 * Imessage, Imessagesnd and Imessagerd of the seed (docs/protocol.md §8). `message` puts a
 * message in a queue folder `<data>/imessage/<send_id>/`: the attachments (base names only,
 * same names told apart as a.txt, a2.txt) and `.imessage.new` (written as `.imessage.tmp`,
 * then renamed), with Progname=, Userid=, Subject=, Message= (line breaks as \n) and Charset=,
 * in that charset. The sender posts each to f=sendmsg and renames the file `.imessage.sent`.
 * Questions from the vendor (f=getmsg) are kept in the state until answered (f=ansmsg).
 */
export const CHARSET_NAMES: Record<Charset, string> = { 'windows-1253': '928', cp437: '437', 'utf-8': 'utf8' }

const NEW = '.imessage.new'
const TMP = '.imessage.tmp'
const SENT = '.imessage.sent'

export interface OutgoingMessage {
  program: string
  userId?: string
  subject: string
  message: string
  charset: Charset
  files: string[]
}

export function queueFolder (context: Context): string {
  return join(context.settings.dataDir, 'imessage')
}

function loggedInUser (): string {
  try {
    return userInfo().username
  } catch {
    return process.env.USERNAME ?? process.env.USER ?? ''
  }
}

/** Queues a message; returns its send id (the folder's name, also the client message id the server deduplicates by). */
export async function queueMessage (context: Context, message: OutgoingMessage): Promise<string> {
  const state = await context.store.read()
  if (state.programs[message.program] === undefined) throw new ClientError(`${message.program} is not registered here (iupdate-client add ${message.program} <version> <file.ini>): its server is not known`)
  if (message.subject === '' && message.message === '' && message.files.length === 0) throw new ClientError('an empty message: give -s, -m or -f')
  const id = `${new Date().toISOString().replace(/[-:.TZ]/g, '').slice(0, 14)}-${randomBytes(4).toString('hex')}`
  const folder = join(queueFolder(context), id)
  await mkdir(folder, { recursive: true })
  const names = uniqueNames(message.files)
  for (const [i, file] of message.files.entries()) {
    await copyFile(file, join(folder, names[i])).catch((err: Error) => { throw new ClientError(`${file} cannot be attached: ${err.message}`) })
  }
  const text = [
    `Charset=${CHARSET_NAMES[message.charset]}`,
    `Progname=${message.program}`,
    `Userid=${escapeValue(message.userId ?? loggedInUser())}`,
    `Subject=${escapeValue(message.subject)}`,
    `Message=${escapeValue(message.message)}`
  ].map((line) => `${line}\r\n`).join('')
  await writeFile(join(folder, TMP), encodeText(text, message.charset))
  await rename(join(folder, TMP), join(folder, NEW))
  context.log.write(`message ${id} for ${message.program} queued${names.length === 0 ? '' : ` with ${names.join(', ')}`}`)
  return id
}

interface Queued {
  id: string
  charset: Charset
  program: string
  userId: string
  subject: string
  message: string
  files: string[]
}

async function readQueued (folder: string, id: string): Promise<Queued> {
  const bytes = await readFile(join(folder, NEW))
  const name = /^Charset=(\S+)/m.exec(bytes.toString('latin1'))?.[1]
  const charset = (Object.keys(CHARSET_NAMES) as Charset[]).find((c) => CHARSET_NAMES[c] === name) ?? 'windows-1253'
  const lines = parseLines(decodeText(bytes, charset))
  const value = (key: string): string => unescapeValue(lines.get(key) ?? '')
  const files = (await readdir(folder)).filter((f) => !f.startsWith('.imessage.')).sort()
  return { id, charset, program: lines.get('Progname') ?? '', userId: value('Userid'), subject: value('Subject'), message: value('Message'), files }
}

/** Sends every queued message whose server is known (the seed's Imessagesnd); returns how many are still waiting. */
export async function sendMessages (context: Context): Promise<number> {
  const root = queueFolder(context)
  const ids = (await readdir(root).catch(() => [] as string[])).sort()
  let waiting = 0
  for (const id of ids) {
    const folder = join(root, id)
    const files = await readdir(folder).catch(() => [] as string[])
    if (!files.includes(NEW)) continue
    try {
      const queued = await readQueued(folder, id)
      const entry = (await context.store.read()).programs[queued.program]
      if (entry === undefined) throw new ClientError(`${queued.program} is not registered: the message waits`)
      const connection = context.connection(entry.host, entry.ssl)
      const pcid = await ensurePcid(context, connection, entry.name)
      const { body, type } = await multipart(queued, pcid, folder)
      const msgid = await connection.sendmsg(body, type)
      await writeFile(join(folder, NEW), Buffer.concat([await readFile(join(folder, NEW)), Buffer.from(`Msgid=${msgid}\r\n`)]))
      await rename(join(folder, NEW), join(folder, SENT))
      context.log.write(`message ${id} sent to ${entry.host} as ${msgid}`)
    } catch (err) {
      waiting++
      context.log.write(`message ${id} not sent: ${messageOf(err)}`)
    }
  }
  return waiting
}

/** The f=sendmsg body: texts as bytes in the message's charset (docs/protocol.md §8), attachments by their queued names. */
async function multipart (queued: Queued, pcid: string, folder: string): Promise<{ body: Buffer, type: string }> {
  const boundary = `----iupdate-client-${randomBytes(12).toString('hex')}`
  const parts: Buffer[] = []
  const field = (name: string, value: Buffer): void => {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n`), value, Buffer.from('\r\n'))
  }
  const text = (value: string): Buffer => encodeText(value, queued.charset)
  field('pcid', Buffer.from(pcid))
  field('prog', Buffer.from(queued.program))
  field('cs', Buffer.from(CHARSET_NAMES[queued.charset]))
  field('msgid', Buffer.from(queued.id))
  field('userid', text(queued.userId))
  field('subject', text(queued.subject))
  field('message', text(queued.message))
  for (const name of queued.files) {
    // The server reads file names as UTF-8; a quote cannot be in a Windows file name and is not sent as one.
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name.replace(/["\r\n]/g, '_')}"\r\nContent-Type: application/octet-stream\r\n\r\n`), await readFile(join(folder, name)), Buffer.from('\r\n'))
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`))
  return { body: Buffer.concat(parts), type: `multipart/form-data; boundary=${boundary}` }
}

/** Fetches the questions waiting on every server this PC has a PCID for (the seed's Imessagerd); returns the new ones. */
export async function fetchQuestions (context: Context): Promise<Question[]> {
  const state = await context.store.read()
  const servers = new Map(Object.values(state.programs).map((p) => [p.host, p.ssl]))
  const arrived: Question[] = []
  for (const [host, ssl] of servers) {
    const pcid = state.hosts[host]?.pcid
    if (pcid === undefined) continue
    try {
      const lines = await context.connection(host, ssl).getmsg(pcid)
      const count = Number(lines.get('COUNT') ?? '0')
      for (let i = 0; i < count; i++) {
        arrived.push({
          id: lines.get(`MSGID[${i}]`) ?? '',
          host,
          program: lines.get(`PROG[${i}]`) ?? '',
          date: lines.get(`DATE[${i}]`) ?? '',
          subject: unescapeValue(lines.get(`SUBJECT[${i}]`) ?? ''),
          text: unescapeValue(lines.get(`TEXT[${i}]`) ?? ''),
          receivedAt: new Date().toISOString()
        })
      }
    } catch (err) {
      context.log.write(`questions from ${host} not fetched: ${messageOf(err)}`)
    }
  }
  if (arrived.length > 0) {
    await context.store.update((s) => {
      for (const question of arrived) if (!s.questions.some((q) => q.id === question.id)) s.questions.push(question)
    })
  }
  for (const question of arrived) context.log.write(`question ${question.id} from ${question.host}${question.program === '' ? '' : ` about ${question.program}`}: ${question.subject}`)
  return arrived
}

export async function answerQuestion (context: Context, id: string, answer: string): Promise<void> {
  const state = await context.store.read()
  const question = state.questions.find((q) => q.id === id)
  if (question === undefined) throw new ClientError(`no question ${id} here (iupdate-client questions lists them)`)
  const pcid = state.hosts[question.host]?.pcid
  if (pcid === undefined) throw new ClientError(`no PCID for ${question.host}`)
  const ssl = Object.values(state.programs).find((p) => p.host === question.host)?.ssl ?? false
  try {
    await context.connection(question.host, ssl).ansmsg(pcid, id, answer)
  } catch (err) {
    if (!(err instanceof ServerError && err.code === 'ALREADY_ANSWERED')) throw err
    context.log.write(`question ${id} was answered before; the first answer is kept`)
  }
  await context.store.update((s) => {
    const kept = s.questions.find((q) => q.id === id)
    if (kept !== undefined && kept.answeredAt === undefined) Object.assign(kept, { answeredAt: new Date().toISOString(), answer })
  })
  context.log.write(`question ${id} answered`)
}
