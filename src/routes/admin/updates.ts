import { Readable } from 'node:stream'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { badRequest, notFound } from '../../errors.js'
import { removeFolder, writeFileAtomic } from '../../storage/publish.js'
import { encodeControlFile } from '../../storage/text-files.js'
import { programName, versionName } from './schemas.js'
import { receiveUpload } from './upload.js'

/** A version part (`5.6`) or a serial folder (`@1ND10-…`). */
const partName = z.union([versionName, z.string().regex(/^@[0-9A-Za-z-]{1,64}$/, '@ and a serial')])
const partParams = z.object({ name: programName, part: partName })

/** Updates: files for versions customers own, in updates/<part>/ and updates/@<serial>/. */
const updateRoutes: FastifyPluginAsyncZod = async (fastify) => {
  const { repository, config, programRecords, auditLog } = fastify

  async function program (name: string): Promise<string> {
    if (!(await programRecords.exists(name))) throw notFound(`Program ${name}`)
    return name
  }

  const files = (folder: { files: ReadonlyArray<{ path: string, file: string, dest: string, size: number, sha256: string, date: string }> } | undefined): unknown[] =>
    (folder?.files ?? []).map((f) => ({ path: f.path, file: f.file, dest: f.dest, size: f.size, sha256: f.sha256, date: f.date }))

  fastify.get('/api/v1/programs/:name/updates', { schema: { tags: ['updates'], summary: 'List update parts and serial folders', params: z.object({ name: programName }) } }, async (request) => {
    const name = await program(request.params.name)
    const updates = repository.program(name)?.updates
    return {
      install: updates?.install ?? [],
      parts: (updates?.parts ?? []).map((p) => ({ part: p.name, files: files(p) })),
      serials: [...(updates?.serials.values() ?? [])].map((p) => ({ part: p.name, files: files(p) }))
    }
  })

  fastify.post('/api/v1/programs/:name/updates/:part', {
    schema: { tags: ['updates'], summary: 'Upload files into updates/<part>/ (multipart; fields rename, install); files of the same name are replaced', params: partParams }
  }, async (request, reply) => {
    const name = await program(request.params.name)
    const upload = await receiveUpload(request, repository.root, config.UPLOAD_MAX_BYTES)
    try {
      if (upload.fields.rename !== undefined) await upload.staging.write('@rename.txt', Readable.from([encodeControlFile(upload.fields.rename)]), config.UPLOAD_MAX_BYTES)
      if (upload.staging.files.length === 0 && upload.fields.install === undefined) throw badRequest('No files.')
      await upload.staging.commitFiles([name, 'updates', request.params.part])
      // @install.txt belongs to the Update location, not to the part.
      if (upload.fields.install !== undefined) await writeFileAtomic(repository.root, [name, 'updates', '@install.txt'], encodeControlFile(upload.fields.install))
    } catch (err) {
      await upload.staging.discard()
      throw err
    }
    await repository.published(name, `${name}/updates/${request.params.part}/`)
    await auditLog.record(request.adminName, 'update.upload', `${name}/updates/${request.params.part}`, { files: upload.staging.files })
    const updates = repository.updates(name, [], undefined)
    const folder = request.params.part.startsWith('@')
      ? [...(repository.program(name)?.updates.serials.values() ?? [])].find((p) => p.name === request.params.part)
      : repository.program(name)?.updates.parts.find((p) => p.name === request.params.part)
    return await reply.status(201).send({ part: request.params.part, install: updates.install, files: files(folder) })
  })

  fastify.delete('/api/v1/programs/:name/updates/:part', { schema: { tags: ['updates'], summary: 'Remove an update part or serial folder', params: partParams } }, async (request, reply) => {
    const name = await program(request.params.name)
    if (!(await removeFolder(repository.root, [name, 'updates', request.params.part]))) throw notFound(`updates/${request.params.part} of ${name}`)
    await repository.rescan(name)
    await auditLog.record(request.adminName, 'update.remove', `${name}/updates/${request.params.part}`)
    return await reply.status(204).send()
  })
}

export default updateRoutes
