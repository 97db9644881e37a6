import fp from 'fastify-plugin'
import { Catalog } from '../catalog/catalog.js'
import { LicenseCache } from '../license/cache.js'
import { Contacts } from '../license/contacts.js'
import { DeliveryRecorder, cleanupExpired } from '../downloads/records.js'
import { TokenSigner } from '../downloads/tokens.js'
import { MessageInbox } from '../messages/store.js'
import { clearStaging } from '../storage/publish.js'
import { join, resolve } from 'node:path'

declare module 'fastify' {
  interface FastifyInstance {
    catalog: Catalog
    contacts: Contacts
    tokens: TokenSigner
    deliveries: DeliveryRecorder
    licenses: LicenseCache
    inbox: MessageInbox
  }
}

/**
 * The in-memory services the client protocol runs on: the catalog of programs and
 * versions, licenses read recently, known PCIDs and their reports, download link signing and delivery records,
 * and the periodic cleanup of expired links.
 */
export default fp(async function servicesPlugin (fastify) {
  const { config, prisma, log } = fastify

  const catalog = new Catalog(prisma, { refreshMs: config.CATALOG_REFRESH_MS, log })
  await catalog.start()
  fastify.decorate('catalog', catalog)

  const contacts = new Contacts(prisma, { flushMs: config.CONTACTS_FLUSH_MS, log })
  contacts.start()
  fastify.decorate('contacts', contacts)

  fastify.decorate('licenses', new LicenseCache(prisma, config.LICENSE_CACHE_MS))

  const { signer: tokens, generated } = await TokenSigner.load({ secret: config.TOKEN_SECRET, dataDir: config.DATA_DIR })
  if (generated) log.warn({ dataDir: config.DATA_DIR }, 'generated a new download link secret; instances serving the same clients must share DATA_DIR/token-secret or TOKEN_SECRET')
  fastify.decorate('tokens', tokens)

  const messagesDir = join(resolve(config.DATA_DIR), 'messages')
  await clearStaging(messagesDir)
  fastify.decorate('inbox', new MessageInbox(prisma, messagesDir, {
    maxAttachments: config.MESSAGE_MAX_ATTACHMENTS,
    maxBytes: config.MESSAGE_MAX_ATTACHMENT_BYTES
  }))

  const deliveries = new DeliveryRecorder(prisma, log)
  fastify.decorate('deliveries', deliveries)

  const cleanup = setInterval(() => {
    cleanupExpired(prisma)
      .then((count) => { if (count > 0) log.info({ count }, 'expired download links cleaned up') })
      .catch((err: unknown) => log.warn({ err }, 'cleaning up expired download links failed'))
  }, config.CLEANUP_INTERVAL_MINUTES * 60_000)
  cleanup.unref()

  fastify.addHook('onClose', async () => {
    clearInterval(cleanup)
    catalog.stop()
    await contacts.stop()
    await deliveries.stop()
  })
}, { name: 'services', dependencies: ['config', 'prisma'] })
