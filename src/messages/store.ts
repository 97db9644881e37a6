import { createHash, randomUUID } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { Transform, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { PrismaClient } from '../db/prisma.js'
import { STAGING, stagingName } from '../storage/publish.js'
import { uniqueNames } from './names.js'

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
  constructor (private readonly prisma: PrismaClient, readonly dir: string, private readonly limits: { maxAttachments: number, maxBytes: number }) {}

  attachmentPath (messageId: string, name: string): string {
    return join(this.dir, messageId, name)
  }

  /** A staging folder for one incoming message's attachments. */
  async stage (): Promise<AttachmentStaging> {
    const dir = join(this.dir, STAGING, stagingName())
    await mkdir(dir, { recursive: true })
    return new AttachmentStaging(dir, this.limits)
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
    try {
      await this.prisma.$transaction(async (tx) => {
        await tx.clientMessage.create({
          data: { id, pcidId: message.pcid, program: message.program, userId: message.userId, subject: message.subject, text: message.text, charset: message.charset, clientMsgId: message.clientMsgId }
        })
        if (staging.files.length > 0) {
          await tx.clientAttachment.createMany({ data: staging.files.map((f, i) => ({ messageId: id, name: names[i], size: f.size, sha256: f.sha256 })) })
        }
        // Files first, inside the transaction: if the commit fails they are removed below.
        await mkdir(finalDir, { recursive: true })
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
    return { id, duplicate: false }
  }
}

export class AttachmentStaging {
  readonly files: StagedAttachment[] = []

  constructor (readonly dir: string, private readonly limits: { maxAttachments: number, maxBytes: number }) {}

  async add (original: string, source: Readable): Promise<void> {
    if (this.files.length >= this.limits.maxAttachments) {
      source.resume()
      throw new TooManyAttachmentsError(this.limits.maxAttachments)
    }
    const file = `${this.files.length}`
    const hash = createHash('sha256')
    let size = 0
    const limit = this.limits.maxBytes
    await pipeline(source, new Transform({
      transform (chunk: Buffer, _e, done) {
        size += chunk.length
        if (size > limit) { done(new AttachmentTooLargeError(limit)); return }
        hash.update(chunk)
        done(null, chunk)
      }
    }), createWriteStream(join(this.dir, file)))
    this.files.push({ original, file, size, sha256: hash.digest('hex') })
  }

  async discard (): Promise<void> {
    await rm(this.dir, { recursive: true, force: true })
  }
}
