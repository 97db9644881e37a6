import { Readable } from 'node:stream'
import { rename } from 'node:fs/promises'
import { join } from 'node:path'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { audit } from '../../admin/audit-log.js'
import { badRequest, conflict, notFound } from '../../errors.js'
import { TargetExistsError, writeFileAtomic } from '../../storage/publish.js'
import { compareVersions, parseVersion } from '../../storage/version.js'
import { instant, programName, versionName } from './schemas.js'
import { controlFile, receiveUpload } from './upload.js'

const versionParams = z.object({ name: programName, version: versionName })

/**
 * Versions: publish by upload (atomic: the version folder appears whole or not at all),
 * list with files, edit notes and release date, yank and restore.
 */
const versionRoutes: FastifyPluginAsyncZod = async (fastify) => {
  const { prisma, repository, catalog, config } = fastify

  async function program (name: string): Promise<{ id: number, name: string }> {
    const row = await prisma.program.findUnique({ where: { name } })
    if (row === null) throw notFound(`Program ${name}`)
    return row
  }

  function describe (programName: string, version: string): Record<string, unknown> {
    const folder = repository.version(programName, version)
    const info = catalog.version(programName, version)
    return {
      version,
      releasedAt: info?.releasedAt ?? null,
      notesEn: info?.notesEn ?? null,
      notesEl: info?.notesEl ?? null,
      yanked: info?.yanked ?? false,
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
    const owner = await program(request.params.name)
    const upload = await receiveUpload(request, repository.root, config.UPLOAD_MAX_BYTES)
    const fields = z.object({
      version: versionName,
      notesEn: z.string().max(20_000).optional(),
      notesEl: z.string().max(20_000).optional(),
      releasedAt: instant.optional(),
      rename: z.string().max(100_000).optional(),
      install: z.string().max(100_000).optional()
    }).safeParse(upload.fields)
    if (!fields.success) {
      await upload.staging.discard()
      throw badRequest('The upload\'s fields are not valid.', fields.error.issues.map((i) => ({ field: i.path.join('.'), message: i.message })))
    }
    const { version, notesEn, notesEl, releasedAt, rename: renameText, install } = fields.data
    try {
      if (upload.staging.files.length === 0) throw badRequest('No files: a version needs at least one file.')
      if (repository.version(owner.name, version) !== undefined) throw conflict(`Version ${version} of ${owner.name} exists already.`)
      if (renameText !== undefined) await upload.staging.write('@rename.txt', Readable.from([controlFile(renameText)]), config.UPLOAD_MAX_BYTES)
      await upload.staging.commitFolder([owner.name, version])
    } catch (err) {
      await upload.staging.discard()
      if (err instanceof TargetExistsError) throw conflict(`Version ${version} of ${owner.name} exists already.`)
      throw err
    }
    const record = { releasedAt: releasedAt ?? new Date(), notesEn: notesEn ?? null, notesEl: notesEl ?? null }
    try {
      await prisma.programVersion.upsert({
        where: { programId_version: { programId: owner.id, version } },
        create: { programId: owner.id, version, ...record },
        update: { ...record, yankedAt: null }
      })
    } catch (err) {
      // The record failed: take the folder back out so that nothing half-published stays.
      await rename(join(repository.root, owner.name, version), upload.staging.dir).catch(() => {})
      await upload.staging.discard()
      throw err
    }
    if (install !== undefined) await writeFileAtomic(repository.root, [owner.name, '@install.txt'], controlFile(install))
    await repository.published(owner.name, `${owner.name}/${version}/`)
    await catalog.refresh()
    await audit(prisma, request.adminName, 'version.publish', `${owner.name}/${version}`, { files: upload.staging.files })
    return await reply.status(201).send(describe(owner.name, version))
  })

  fastify.get('/api/v1/programs/:name/versions', { schema: { tags: ['versions'], summary: 'List versions with their files', params: z.object({ name: programName }) } }, async (request) => {
    const owner = await program(request.params.name)
    const names = new Set((repository.program(owner.name)?.versions ?? []).map((v) => v.name))
    for (const row of await prisma.programVersion.findMany({ where: { programId: owner.id } })) names.add(row.version)
    const sorted = [...names].sort((a, b) => compareVersions(parseVersion(b) ?? [], parseVersion(a) ?? []))
    return { items: sorted.map((v) => describe(owner.name, v)) }
  })

  fastify.get('/api/v1/programs/:name/versions/:version', { schema: { tags: ['versions'], summary: 'Read a version', params: versionParams } }, async (request) => {
    const owner = await program(request.params.name)
    if (repository.version(owner.name, request.params.version) === undefined && catalog.version(owner.name, request.params.version) === undefined) throw notFound(`Version ${request.params.version} of ${owner.name}`)
    return describe(owner.name, request.params.version)
  })

  fastify.patch('/api/v1/programs/:name/versions/:version', {
    schema: { tags: ['versions'], summary: 'Edit release notes or the release date (backdating)', params: versionParams, body: z.object({ notesEn: z.string().max(20_000).nullable().optional(), notesEl: z.string().max(20_000).nullable().optional(), releasedAt: instant.optional() }) }
  }, async (request) => {
    const owner = await program(request.params.name)
    const folder = repository.version(owner.name, request.params.version)
    if (folder === undefined) throw notFound(`Version ${request.params.version} of ${owner.name}`)
    const newest = folder.files.reduce((max, f) => Math.max(max, f.mtimeMs), 0)
    await prisma.programVersion.upsert({
      where: { programId_version: { programId: owner.id, version: request.params.version } },
      create: { programId: owner.id, version: request.params.version, releasedAt: request.body.releasedAt ?? new Date(Math.floor(newest / 1000) * 1000), notesEn: request.body.notesEn ?? null, notesEl: request.body.notesEl ?? null },
      update: request.body
    })
    await catalog.refresh()
    await audit(prisma, request.adminName, 'version.update', `${owner.name}/${request.params.version}`, request.body)
    return describe(owner.name, request.params.version)
  })

  for (const [action, yanked] of [['yank', true], ['unyank', false]] as const) {
    fastify.post(`/api/v1/programs/:name/versions/:version/${action}`, {
      schema: { tags: ['versions'], summary: yanked ? 'Withdraw a version: it leaves qrymaxver at once and its links stop working' : 'Offer a withdrawn version again', params: versionParams }
    }, async (request) => {
      const owner = await program(request.params.name)
      const folder = repository.version(owner.name, request.params.version)
      const row = await prisma.programVersion.findUnique({ where: { programId_version: { programId: owner.id, version: request.params.version } } })
      if (folder === undefined && row === null) throw notFound(`Version ${request.params.version} of ${owner.name}`)
      const newest = folder?.files.reduce((max, f) => Math.max(max, f.mtimeMs), 0) ?? Date.now()
      await prisma.programVersion.upsert({
        where: { programId_version: { programId: owner.id, version: request.params.version } },
        create: { programId: owner.id, version: request.params.version, releasedAt: new Date(Math.floor(newest / 1000) * 1000), yankedAt: yanked ? new Date() : null },
        update: { yankedAt: yanked ? new Date() : null }
      })
      await catalog.refresh()
      await audit(prisma, request.adminName, `version.${action}`, `${owner.name}/${request.params.version}`)
      return describe(owner.name, request.params.version)
    })
  }
}

export default versionRoutes
