import { Readable } from 'node:stream'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { badRequest } from '../../errors.js'
import { csvEncoding } from '../../license/csv.js'
import type { ExportKind } from '../../license/export.js'
import type { ImportKind } from '../../license/import.js'

const IMPORTS: Record<ImportKind, string> = {
  licenses: 'Issue licenses from CSV: key (a key of ours, a legacy serial, or empty for a new key), program, customerName, customerEmail, status, maintenanceEnd, seatLimit, notes, channel, pin; without a header program,customerName,customerEmail,maintenanceEnd,seatLimit,notes. All lines or none',
  pcids: 'Import PCIDs of installed clients from CSV: pcid,program,version,serial,firstSeen,lastSeen. All lines or none',
  seats: 'Import the seats of installed clients from CSV: serial,pcid,boundAt (licenses and PCIDs imported first). All lines or none'
}

const EXPORTS: Record<ExportKind, string> = {
  licenses: 'Export every license as CSV (the import\'s columns, and the PCIDs holding its seats)',
  seats: 'Export every seat as CSV (serial,pcid,boundAt)',
  pcids: 'Export every PCID and the programs it reported as CSV (pcid,program,version,serial,firstSeen,lastSeen)'
}

const lineError = z.object({ line: z.number(), field: z.string(), message: z.string() })

/** Imports and exports of licenses, seats and PCIDs as CSV (docs/admin-api.md, docs/migration.md). */
const transferRoutes: FastifyPluginAsyncZod = async (fastify) => {
  const { bulkImport, csvExport } = fastify

  for (const [kind, summary] of Object.entries(IMPORTS) as Array<[ImportKind, string]>) {
    fastify.post(`/api/v1/${kind}/import`, {
      schema: {
        tags: [kind],
        summary,
        consumes: ['text/csv'],
        querystring: z.object({ encoding: csvEncoding }),
        response: { 200: z.object({ imported: z.number() }), 422: z.object({ title: z.string(), status: z.number(), detail: z.string(), errors: z.array(lineError) }).loose() }
      }
    }, async (request) => {
      if (!(request.body instanceof Readable)) throw badRequest('Send the CSV as text/csv.')
      return await bulkImport.import(kind, request.body, { encoding: request.query.encoding, actor: request.adminName })
    })
  }

  for (const [kind, summary] of Object.entries(EXPORTS) as Array<[ExportKind, string]>) {
    fastify.get(`/api/v1/${kind}/export`, { schema: { tags: [kind], summary, produces: ['text/csv'] } }, async (_request, reply) => {
      return await reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${kind}.csv"`)
        .send(Readable.from(csvExport.lines(kind)))
    })
  }
}

export default transferRoutes
