import type { FastifyRequest } from 'fastify'
import { isProgramName } from '../../catalog/program-name.js'
import { ProtocolError } from '../../errors.js'
import { isLegacyPcid } from '../../license/serial.js'
import { AttachmentNameTooLongError, AttachmentTooLargeError, DiskFloorError, MessageQuotaError, MessageTooLargeError, TooManyAttachmentsError, type AttachmentStaging } from '../../messages/store.js'
import { scalar } from '../../protocol/fields.js'
import { parseRawFields, type RawFields } from '../../protocol/raw-fields.js'
import { decodeText, escapeValue, parseCharset, type Charset, type Line } from '../../protocol/text.js'
import type { IupdateContext, IupdateFunction } from './types.js'

/**
 * Imessage (docs/protocol.md §8): f=sendmsg (a message from the PC, with attachments),
 * f=getmsg (questions from the vendor waiting for this PC), f=ansmsg (the answer to one).
 * Texts come in the client's charset (cs=928, the default, 437 or utf8) and are stored as
 * Unicode; they go back out in the charset the client asks for.
 */
const LIMITS = { userid: 100, subject: 500, message: 64 * 1024, msgid: 100 }

/** The message charset of a request; an unknown one is refused before anything is stored. */
function messageCharset (value: string | undefined): Charset {
  const charset = parseCharset(value ?? '')
  if (charset === null) throw new ProtocolError('BAD_CHARSET', `Unknown charset cs=${(value ?? '').slice(0, 20)}: use 928 (windows-1253, the default), 437 or utf8.`)
  return charset
}

async function knownPcid (context: IupdateContext, raw: RawFields): Promise<string> {
  const pcid = (raw.get('pcid')?.toString('latin1') ?? scalar(context.fields, 'pcid') ?? '').trim()
  if (pcid === '') throw new ProtocolError('BAD_REQUEST', 'Missing pcid: ask f=getpcid for one first.')
  // Ours or imported from an earlier system (docs/protocol.md, "Legacy serials and PCIDs").
  if (!isLegacyPcid(pcid) || !(await context.app.contacts.exists(pcid))) throw new ProtocolError('UNKNOWN_PCID', 'This PC id is not known here; ask f=getpcid for a new one.')
  return pcid
}

/** Query string and form body as bytes. */
function rawFields (request: FastifyRequest): RawFields {
  const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : ''
  const fields = parseRawFields(query)
  return request.rawForm === '' ? fields : parseRawFields(request.rawForm, fields)
}

function text (raw: RawFields, names: string[], charset: Charset, limit: number, required = false): string {
  const name = names.find((n) => raw.has(n))
  const bytes = name === undefined ? undefined : raw.get(name)
  if (bytes === undefined || bytes.length === 0) {
    if (required) throw new ProtocolError('BAD_REQUEST', `Missing ${names[0]}.`)
    return ''
  }
  if (bytes.length > limit) throw new ProtocolError('BAD_REQUEST', `${names[0]} is longer than ${limit} bytes.`)
  const decoded = decodeText(bytes, charset)
  if (decoded.includes('\u0000')) throw new ProtocolError('BAD_REQUEST', `${names[0]} holds a NUL character; nothing was stored.`)
  return decoded.replace(/\r\n|\r/g, '\n')
}

export const sendmsg: IupdateFunction = async (context) => {
  const { request, app } = context
  let raw = rawFields(request)
  let staging: AttachmentStaging | undefined
  try {
    // Multipart comes by POST only, and only POST requests have isMultipart (index.ts).
    if (request.method === 'POST' && request.isMultipart()) {
      // Fields read as latin1 keep their bytes; the charset is known only once all have arrived.
      staging = await app.inbox.stage()
      try {
        for await (const part of request.parts({ defCharset: 'latin1' })) {
          if (part.type === 'field') raw.set(part.fieldname.toLowerCase(), Buffer.from(String(part.value), 'latin1'))
          else await staging.add(part.filename ?? 'attachment', part.file)
        }
      } catch (err) {
        if (err instanceof AttachmentTooLargeError || err instanceof TooManyAttachmentsError || err instanceof MessageTooLargeError || err instanceof AttachmentNameTooLongError || (err as { statusCode?: number }).statusCode === 413) throw err
        // A truncated or malformed body (busboy's own errors carry no status).
        throw new ProtocolError('BAD_REQUEST', 'The multipart body is malformed or cut short; nothing was stored.')
      }
    }
    raw = new Map([...raw].map(([k, v]) => [k.toLowerCase(), v]))
    const charset = messageCharset(raw.get('cs')?.toString('latin1'))
    const pcid = await knownPcid(context, raw)
    const program = (raw.get('prog') ?? raw.get('progname'))?.toString('latin1').trim() ?? ''
    if (!isProgramName(program)) throw new ProtocolError('BAD_REQUEST', 'prog must be the program name the message is about.')
    const message = {
      pcid,
      program,
      userId: text(raw, ['userid'], charset, LIMITS.userid),
      subject: text(raw, ['subject'], charset, LIMITS.subject),
      text: text(raw, ['message', 'text'], charset, LIMITS.message),
      charset: charset === 'utf-8' ? 'utf8' : charset === 'cp437' ? '437' : '928',
      clientMsgId: text(raw, ['msgid'], 'utf-8', LIMITS.msgid) || null
    }
    if (message.text === '' && message.subject === '' && (staging?.files.length ?? 0) === 0) throw new ProtocolError('BAD_REQUEST', 'An empty message: send subject, message or attachments.')
    const stored = await app.inbox.store(message, staging ?? await app.inbox.stage())
    staging = undefined
    request.log.info({ pcid, prog: program, message: stored.id, duplicate: stored.duplicate }, 'message received')
    return [['MSGID', stored.id]]
  } catch (err) {
    await staging?.discard()
    if (err instanceof AttachmentTooLargeError || (err as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE') {
      throw new ProtocolError('PAYLOAD_TOO_LARGE', `An attachment is larger than ${app.config.MESSAGE_MAX_ATTACHMENT_BYTES} bytes; nothing was stored.`)
    }
    if (err instanceof TooManyAttachmentsError || (err as { code?: string }).code === 'FST_FILES_LIMIT') {
      throw new ProtocolError('PAYLOAD_TOO_LARGE', `At most ${app.config.MESSAGE_MAX_ATTACHMENTS} attachments per message; nothing was stored.`)
    }
    if (err instanceof MessageTooLargeError) throw new ProtocolError('PAYLOAD_TOO_LARGE', `A message's attachments may take at most ${err.limit} bytes together; nothing was stored.`)
    if (err instanceof AttachmentNameTooLongError) throw new ProtocolError('BAD_REQUEST', `An attachment's name is longer than ${err.limit} bytes of UTF-8; nothing was stored.`)
    if (err instanceof MessageQuotaError) throw new ProtocolError('QUOTA_EXCEEDED', `This PC may send at most ${err.limit} ${err.what === 'bytes' ? 'bytes of attachments' : 'messages'} in 24 hours; nothing was stored. Try again later.`)
    if (err instanceof DiskFloorError) throw new ProtocolError('STORAGE_FULL', 'The server cannot take attachments now; nothing was stored. Try again later.')
    throw err
  }
}

export const getmsg: IupdateFunction = async (context) => {
  const raw = rawFields(context.request)
  messageCharset(raw.get('cs')?.toString('latin1'))
  const pcid = await knownPcid(context, raw)
  const rows = await context.app.questionDeliveries.pick(pcid)
  const lines: Line[] = [['PCID', pcid], ['COUNT', rows.length]]
  rows.forEach((row, i) => {
    lines.push(
      [`MSGID[${i}]`, row.id],
      [`PROG[${i}]`, row.program ?? ''],
      [`DATE[${i}]`, row.createdAt.toISOString().replace(/\.\d{3}Z$/, 'Z')],
      [`SUBJECT[${i}]`, escapeValue(row.subject)],
      [`TEXT[${i}]`, escapeValue(row.text)]
    )
  })
  return lines
}

export const ansmsg: IupdateFunction = async (context) => {
  const raw = new Map([...rawFields(context.request)].map(([k, v]) => [k.toLowerCase(), v]))
  const charset = messageCharset(raw.get('cs')?.toString('latin1'))
  const pcid = await knownPcid(context, raw)
  const id = raw.get('msgid')?.toString('latin1').trim() ?? ''
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) throw new ProtocolError('BAD_REQUEST', 'msgid must be the id of a message from f=getmsg.')
  const answer = text(raw, ['message', 'text'], charset, LIMITS.message, true)
  const result = await context.app.questionDeliveries.answer(pcid, id, answer)
  if (!result.answered && result.reason === 'unknown') throw new ProtocolError('NOT_FOUND', 'No message with this id for this PC.')
  if (!result.answered) throw new ProtocolError('ALREADY_ANSWERED', `This message was answered already, at ${result.at.toISOString()}.`)
  context.request.log.info({ pcid, message: id }, 'answer received')
  return [['MSGID', id], ['ANSWERED', 1]]
}
