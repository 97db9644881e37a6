import fp from 'fastify-plugin'
import { PcidDirectory } from '../license/pcid-directory.js'
import { LicenseRegistry } from '../license/registry.js'

declare module 'fastify' {
  interface FastifyInstance {
    licenseRegistry: LicenseRegistry
    pcidDirectory: PcidDirectory
  }
}

/** Licenses and the PCs that use them, as the vendor manages them. */
export default fp(async function licenseRegistryPlugin (fastify) {
  const { prisma, licenses, contacts, auditLog: audit } = fastify
  fastify.decorate('licenseRegistry', new LicenseRegistry(prisma, { audit, changed: (key) => { licenses.evict(key) } }))
  fastify.decorate('pcidDirectory', new PcidDirectory(prisma, async () => { await contacts.flush() }, { audit, changed: (pcid) => { licenses.evictPcid(pcid) } }))
}, { name: 'license-registry', dependencies: ['prisma', 'services', 'admin'] })
