import { createHash, randomUUID } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir, rename, rm, statfs } from 'node:fs/promises'
import { join } from 'node:path'
import { Transform, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { EventSink } from '../webhooks/webhooks.js'
import type { PrismaClient } from '../db/prisma.js'
import { STAGING, stagingName } from '../storage/publish.js'
import { baseName, uniqueNames } from './names.js'

/**
 * Messages from clients: text stored as Unicode in the database, attachments as files under
 * DATA_DIR/messages/<message id>/ (never under ftp/). Attachments are received into a staging
 * folder first and moved into place only once the message is recorded, so a message that
 * fails (too large, client gone, database away) stores nothing.
 */
export class AttachmentTooLargeError extends Error {
  constructor (readonly limit: number) {
    super(`an attachment is larger than ${limit} bytes`)
    this.name = 'AttachmentTooLargeError'
  }
}

export class TooManyAttachmentsError extends Error {
  constructor (readonly limit: number) {
    super(`more than ${limit} attachments`)
    this.name = 'TooManyAttachmentsError'
  }
}

/** The message's attachments together are larger than the limit. */
export class MessageTooLargeError extends Error {
  constructor (readonly limit: number) {
    super(`the attachments of a message are larger than ${limit} bytes`)
    this.name = 'MessageTooLargeError'
  }
}

/** An attachment's name is longer than a file system keeps. */
export class AttachmentNameTooLongError extends Error {
  constructor (readonly limit: number) {
    super(`an attachment's name is longer than ${limit} bytes of UTF-8`)
    this.name = 'AttachmentNameTooLongError'
  }
}

/** This PC sent as many messages, or bytes, as it may in a day. */
export class MessageQuotaError extends Error {
  constructor (readonly what: 'messages' | 'bytes', readonly limit: number) {
    super(`at most ${limit} ${what} of messages per PC in 24 hours`)
    this.name = 'MessageQuotaError'
  }
}

/** The disk holding DATA_DIR has less free space than the floor: no attachment is taken. */
export class DiskFloorError extends Error {
  constructor (readonly floor: number) {
    super(`less than ${floor} bytes free for attachments`)
    this.name = 'DiskFloorError'
  }
}

/** What one message, and one PC in 24 hours, may bring (MESSAGE_* settings). */
export interface MessageLimits {
  maxAttachments: number
  maxBytes: number
  maxMessageBytes: number
  maxPerPcidPerDay: number
  maxBytesPerPcidPerDay: number
  minFreeDiskBytes: number
}

/**
 * A name the file systems we run on keep: 255 bytes, less room for the number that tells
 * same-named attachments apart (names.ts).
 */
export const MAX_NAME_BYTES = 240

/** Attachments are the PCs' data: readable by the server's user alone. */
const DIR_MODE = 0o700
const FILE_MODE = 0o600

export interface IncomingMessage {
  pcid: string
  program: string
  userId: string
  subject: string
  text: string
  charset: string
  clientMsgId: string | null
}

export interface StagedAttachment { original: string, file: string, size: number, sha256: string }

export class MessageInbox {
  constructor (private readonly prisma: PrismaClient, readonly dir: string, private readonly limits: MessageLimits, private readonly events?: EventSink) {}

  attachmentPath (messageId: string, name: string): string {
    return join(this.dir, messageId, name)
  }

  /** A staging folder for one incoming message's attachments; DiskFloorError when the disk is nearly full. */
  async stage (): Promise<AttachmentStaging> {
    await this.assertFreeDisk()
    const dir = join(this.dir, STAGING, stagingName())
    await mkdir(dir, { recursive: true, mode: DIR_MODE })
    return new AttachmentStaging(dir, this.limits)
  }

  private async assertFreeDisk (): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: DIR_MODE })
    const disk = await statfs(this.dir)
    if (disk.bavail * disk.bsize < this.limits.minFreeDiskBytes) throw new DiskFloorError(this.limits.minFreeDiskBytes)
  }

  /** The id of this client message if it was stored before (same PCID, same client id). */
  async existing (pcid: string, clientMsgId: string | null): Promise<string | undefined> {
    if (clientMsgId === null) return undefined
    const row = await this.prisma.clientMessage.findUnique({ where: { pcidId_clientMsgId: { pcidId: pcid, clientMsgId } }, select: { id: true } })
    return row?.id
  }

  /** Records the message and moves its attachments into place; returns its id (the earlier one for a resend). */
  async store (message: IncomingMessage, staging: AttachmentStaging): Promise<{ id: string, duplicate: boolean }> {
    const earlier = await this.existing(message.pcid, message.clientMsgId)
    if (earlier !== undefined) {
      await staging.discard()
      return { id: earlier, duplicate: true }
    }
    const names = uniqueNames(staging.files.map((f) => f.original))
    const id = randomUUID()
    const finalDir = join(this.dir, id)
    const bytes = staging.files.reduce((sum, f) => sum + f.size, 0)
    try {
      if (bytes > 0) await this.assertFreeDisk()
      await this.prisma.$transaction(async (tx) => {
        // One PC's messages are counted one at a time (on every instance): the row lock
        // serialises them, so that a burst cannot pass the quota together.
        await tx.$queryRaw`SELECT id FROM pcid WHERE id = ${message.pcid} FOR UPDATE`
        const [today] = await tx.$queryRaw<Array<{ messages: number, bytes: number }>>`
          SELECT count(DISTINCT m.id)::int AS messages, coalesce(sum(a.size), 0)::float8 AS bytes
            FROM client_message m LEFT JOIN client_attachment a ON a.message_id = m.id
           WHERE m.pcid = ${message.pcid} AND m.received_at > now() - interval '24 hours'`
        if (today.messages + 1 > this.limits.maxPerPcidPerDay) throw new MessageQuotaError('messages', this.limits.maxPerPcidPerDay)
        if (today.bytes + bytes > this.limits.maxBytesPerPcidPerDay) throw new MessageQuotaError('bytes', this.limits.maxBytesPerPcidPerDay)
        await tx.clientMessage.create({
          data: { id, pcidId: message.pcid, program: message.program, userId: message.userId, subject: message.subject, text: message.text, charset: message.charset, clientMsgId: message.clientMsgId }
        })
        if (staging.files.length > 0) {
          await tx.clientAttachment.createMany({ data: staging.files.map((f, i) => ({ messageId: id, name: names[i], size: f.size, sha256: f.sha256 })) })
        }
        // Files first, inside the transaction: if the commit fails they are removed below.
        await mkdir(finalDir, { recursive: true, mode: DIR_MODE })
        for (const [i, file] of staging.files.entries()) await rename(join(staging.dir, file.file), join(finalDir, names[i]))
      })
    } catch (err) {
      await rm(finalDir, { recursive: true, force: true })
      await staging.discard()
      if ((err as { code?: string }).code === 'P2002') {
        const raced = await this.existing(message.pcid, message.clientMsgId)
        if (raced !== undefined) return { id: raced, duplicate: true }
      }
      throw err
    }
    await staging.discard()
    this.events?.emit('message.received', { id, pcid: message.pcid, program: message.program, subject: message.subject, attachments: staging.files.length })
    return { id, duplicate: false }
  }
}

export class AttachmentStaging {
  readonly files: StagedAttachment[] = []
  private total = 0

  constructor (readonly dir: string, private readonly limits: MessageLimits) {}

  async add (original: string, source: Readable): Promise<void> {
    if (this.files.length >= this.limits.maxAttachments) {
      source.resume()
      throw new TooManyAttachmentsError(this.limits.maxAttachments)
    }
    if (Buffer.byteLength(baseName(original), 'utf8') > MAX_NAME_BYTES) {
      source.resume()
      throw new AttachmentNameTooLongError(MAX_NAME_BYTES)
    }
    const file = `${this.files.length}`
    const hash = createHash('sha256')
    let size = 0
    const { maxBytes, maxMessageBytes } = this.limits
    const before = this.total
    await pipeline(source, new Transform({
      transform (chunk: Buffer, _e, done) {
        size += chunk.length
        if (size > maxBytes) { done(new AttachmentTooLargeError(maxBytes)); return }
        if (before + size > maxMessageBytes) { done(new MessageTooLargeError(maxMessageBytes)); return }
        hash.update(chunk)
        done(null, chunk)
      }
    }), createWriteStream(join(this.dir, file), { mode: FILE_MODE }))
    this.total += size
    this.files.push({ original, file, size, sha256: hash.digest('hex') })
  }

  async discard (): Promise<void> {
    await rm(this.dir, { recursive: true, force: true })
  }
}
