import fp from 'fastify-plugin'
import { CsvExport } from '../license/export.js'
import { BulkImport } from '../license/import.js'
import { PcidDirectory } from '../license/pcid-directory.js'
import { LicenseRegistry } from '../license/registry.js'

declare module 'fastify' {
  interface FastifyInstance {
    licenseRegistry: LicenseRegistry
    pcidDirectory: PcidDirectory
    bulkImport: BulkImport
    csvExport: CsvExport
  }
}

/** Licenses and the PCs that use them, as the vendor manages them, imported and exported. */
export default fp(async function licenseRegistryPlugin (fastify) {
  const { prisma, licenses, contacts, auditLog: audit } = fastify
  fastify.decorate('licenseRegistry', new LicenseRegistry(prisma, { audit, changed: (key) => { licenses.evict(key) } }))
  fastify.decorate('pcidDirectory', new PcidDirectory(prisma, async () => { await contacts.flush() }, { audit, changed: (pcid) => { licenses.evictPcid(pcid) } }))
  // An import changes seat counts of licenses kept in memory: all are read again.
  fastify.decorate('bulkImport', new BulkImport(fastify.pg, { audit, changed: () => { licenses.evict() } }))
  fastify.decorate('csvExport', new CsvExport(fastify.pg))
}, { name: 'license-registry', dependencies: ['prisma', 'services', 'admin'] })
