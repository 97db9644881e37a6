import fp from 'fastify-plugin'
import { join, resolve } from 'node:path'
import { Catalog } from '../catalog/catalog.js'
import { LinkTokens } from '../downloads/link-tokens.js'
import { DownloadRecords } from '../downloads/records.js'
import { LicenseCache } from '../license/cache.js'
import { Contacts } from '../license/contacts.js'
import { QuestionDeliveries } from '../messages/question-delivery.js'
import { MessageInbox } from '../messages/store.js'
import { clearStaging } from '../storage/publish.js'

declare module 'fastify' {
  interface FastifyInstance {
    catalog: Catalog
    contacts: Contacts
    tokens: LinkTokens
    downloads: DownloadRecords
    licenses: LicenseCache
    inbox: MessageInbox
    questionDeliveries: QuestionDeliveries
  }
}

/**
 * The services the client protocol runs on: the catalog of programs and versions, licenses
 * read recently, known PCIDs and what they report, download links and their records, the
 * messages of PCs and the questions for them; and the periodic cleanup of expired links.
 */
export default fp(async function servicesPlugin (fastify) {
  const { config, prisma, log } = fastify

  const catalog = new Catalog(prisma, { refreshMs: config.CATALOG_REFRESH_MS, log })
  await catalog.start()
  fastify.decorate('catalog', catalog)

  const contacts = new Contacts(prisma, { flushMs: config.CONTACTS_FLUSH_MS, log })
  contacts.start()
  fastify.decorate('contacts', contacts)

  const licenses = new LicenseCache(fastify.pg, prisma, config.LICENSE_CACHE_MS)
  fastify.decorate('licenses', licenses)
  // A license or PCID changed through another instance is read again within CATALOG_REFRESH_MS (docs/protocol.md §3).
  catalog.onChange(({ action, target }) => {
    if (action === 'pcid.update') licenses.evictPcid(target)
    else licenses.evict(target)
  })

  const { tokens, generated } = await LinkTokens.load({ secret: config.TOKEN_SECRET, dataDir: config.DATA_DIR })
  if (generated) log.warn({ dataDir: config.DATA_DIR }, 'generated a new download link secret; instances serving the same clients must share DATA_DIR/token-secret or TOKEN_SECRET')
  fastify.decorate('tokens', tokens)

  const messagesDir = join(resolve(config.DATA_DIR), 'messages')
  await clearStaging(messagesDir)
  fastify.decorate('inbox', new MessageInbox(prisma, messagesDir, {
    maxAttachments: config.MESSAGE_MAX_ATTACHMENTS,
    maxBytes: config.MESSAGE_MAX_ATTACHMENT_BYTES,
    maxMessageBytes: config.MESSAGE_MAX_BYTES,
    maxPerPcidPerDay: config.MESSAGE_MAX_PER_PCID_PER_DAY,
    maxBytesPerPcidPerDay: config.MESSAGE_MAX_BYTES_PER_PCID_PER_DAY,
    minFreeDiskBytes: config.MESSAGE_MIN_FREE_DISK_BYTES
  }, fastify.webhooks))
  fastify.decorate('questionDeliveries', new QuestionDeliveries(prisma, fastify.webhooks))

  const downloads = new DownloadRecords(prisma, log, { events: fastify.webhooks })
  fastify.decorate('downloads', downloads)

  const cleanup = setInterval(() => {
    downloads.cleanupExpired()
      .then((count) => { if (count > 0) log.info({ count }, 'expired download links cleaned up') })
      .catch((err: unknown) => log.warn({ err }, 'cleaning up expired download links failed'))
  }, config.CLEANUP_INTERVAL_MINUTES * 60_000)
  cleanup.unref()

  fastify.addHook('onClose', async () => {
    clearInterval(cleanup)
    catalog.stop()
    await contacts.stop()
    await downloads.stop()
  })
}, { name: 'services', dependencies: ['config', 'prisma', 'webhooks'] })
