import fp from 'fastify-plugin'
import { DownloadReports } from '../downloads/reports.js'

declare module 'fastify' {
  interface FastifyInstance {
    downloadReports: DownloadReports
  }
}

/** The records and daily counts of downloads. */
export default fp(async function downloadReportsPlugin (fastify) {
  fastify.decorate('downloadReports', new DownloadReports(fastify.prisma))
}, { name: 'download-reports', dependencies: ['prisma'] })
