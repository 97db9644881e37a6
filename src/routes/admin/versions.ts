import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { badRequest, notFound } from '../../errors.js'
import { instant, programName, text, versionName } from './schemas.js'
import { receiveUpload } from './upload.js'

const versionParams = z.object({ name: programName, version: versionName })
const notes = text(20_000)

/**
 * Versions: publish by upload (atomic: the version folder appears whole or not at all),
 * list with files, edit notes and release date, yank and restore.
 */
const versionRoutes: FastifyPluginAsyncZod = async (fastify) => {
  const { repository, catalog, config, programRecords, versionRecords } = fastify

  function describe (programName: string, version: string): Record<string, unknown> {
    const folder = repository.version(programName, version)
    const info = catalog.version(programName, version)
    return {
      version,
      releasedAt: info?.releasedAt ?? null,
      notesEn: info?.notesEn ?? null,
      notesEl: info?.notesEl ?? null,
      yanked: info?.yanked ?? false,
      problems: folder?.problems ?? [],
      files: (folder?.files ?? []).map((f) => ({ path: f.path, file: f.file, dest: f.dest, size: f.size, sha256: f.sha256, date: f.date }))
    }
  }

  fastify.post('/api/v1/programs/:name/versions', {
    schema: {
      tags: ['versions'],
      summary: 'Publish a version (multipart: fields version, notesEn, notesEl, releasedAt, rename, install; files named by their path in the version folder)',
      params: z.object({ name: programName })
    }
  }, async (request, reply) => {
    const owner = await programRecords.find(request.params.name)
    const upload = await receiveUpload(request, repository.root, config.UPLOAD_MAX_BYTES)
    const fields = z.object({
      version: versionName,
      notesEn: notes.optional(),
      notesEl: notes.optional(),
      releasedAt: instant.optional(),
      rename: text(100_000).optional(),
      install: text(100_000).optional()
    }).safeParse(upload.fields)
    if (!fields.success) {
      await upload.staging.discard()
      throw badRequest('The upload\'s fields are not valid.', fields.error.issues.map((i) => ({ field: i.path.join('.'), message: i.message })))
    }
    const { version, ...release } = fields.data
    await versionRecords.publish(owner, version, upload.staging, release, request.adminName)
    return await reply.status(201).send(describe(owner.name, version))
  })

  fastify.get('/api/v1/programs/:name/versions', { schema: { tags: ['versions'], summary: 'List versions with their files', params: z.object({ name: programName }) } }, async (request) => {
    const owner = await programRecords.find(request.params.name)
    return { items: (await versionRecords.names(owner)).map((v) => describe(owner.name, v)) }
  })

  fastify.get('/api/v1/programs/:name/versions/:version', { schema: { tags: ['versions'], summary: 'Read a version', params: versionParams } }, async (request) => {
    const owner = await programRecords.find(request.params.name)
    if (repository.version(owner.name, request.params.version) === undefined && catalog.version(owner.name, request.params.version) === undefined) throw notFound(`Version ${request.params.version} of ${owner.name}`)
    return describe(owner.name, request.params.version)
  })

  fastify.patch('/api/v1/programs/:name/versions/:version', {
    schema: { tags: ['versions'], summary: 'Edit release notes or the release date (backdating)', params: versionParams, body: z.object({ notesEn: notes.nullable().optional(), notesEl: notes.nullable().optional(), releasedAt: instant.optional() }) }
  }, async (request) => {
    const owner = await programRecords.find(request.params.name)
    await versionRecords.edit(owner, request.params.version, request.body, request.adminName)
    return describe(owner.name, request.params.version)
  })

  for (const [action, yanked] of [['yank', true], ['unyank', false]] as const) {
    fastify.post(`/api/v1/programs/:name/versions/:version/${action}`, {
      schema: { tags: ['versions'], summary: yanked ? 'Withdraw a version: it leaves qrymaxver at once and its links stop working' : 'Offer a withdrawn version again', params: versionParams }
    }, async (request) => {
      const owner = await programRecords.find(request.params.name)
      await versionRecords.setYanked(owner, request.params.version, yanked, request.adminName)
      return describe(owner.name, request.params.version)
    })
  }
}

export default versionRoutes
