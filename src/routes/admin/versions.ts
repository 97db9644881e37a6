import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { rolloutState, CHANNELS, type ReleaseControl } from '../../catalog/release-control.js'
import { scheduleJson } from '../../catalog/rollouts.js'
import { badRequest, notFound } from '../../errors.js'
import { instant, programName, text, versionName } from './schemas.js'
import { receiveUpload } from './upload.js'

const versionParams = z.object({ name: programName, version: versionName })
const notes = text(20_000)
const share = z.number().min(0).max(100)

/** The release control fields of PATCH …/versions/{version} (docs/admin-api.md, "Release control"). */
const releaseSettings = {
  rollout: share.optional().describe('share of PCs offered this version, 0 to 100 (a stable cohort of program and PCID)'),
  rolloutSchedule: z.array(z.object({ at: instant, rollout: share })).max(100).nullable().optional().describe('steps the server takes by itself; null or [] clears them'),
  channel: z.enum(CHANNELS).optional().describe('beta: offered only to PCs whose license or PCID is on the beta channel'),
  requiredStep: z.boolean().optional().describe('a stepping stone: clients below it are offered it before anything newer'),
  minFromVersion: versionName.nullable().optional().describe('clients below this version are not offered this one'),
  autoHalt: z.object({ maxFailureRate: z.number().min(0).max(1), minDownloads: z.number().int().min(1).max(1_000_000_000) }).nullable().optional()
    .describe('halt by itself when more than maxFailureRate of at least minDownloads downloads since the rollout began failed')
}

/** A version's release control settings as the admin API shows them. */
function settings (control: ReleaseControl | undefined): Record<string, unknown> {
  return {
    rollout: control?.rollout ?? 100,
    rolloutSchedule: scheduleJson(control?.schedule ?? []),
    channel: control?.channel ?? 'stable',
    requiredStep: control?.requiredStep ?? false,
    minFromVersion: control?.minFromVersion?.text ?? null,
    autoHalt: control?.autoHalt ?? null
  }
}

/**
 * Versions: publish by upload (atomic: the version folder appears whole or not at all),
 * list with files, edit notes and release date, yank and restore.
 */
const versionRoutes: FastifyPluginAsyncZod = async (fastify) => {
  const { repository, catalog, config, programRecords, versionRecords, rollouts } = fastify

  function describe (programName: string, version: string): Record<string, unknown> {
    const folder = repository.version(programName, version)
    const info = catalog.version(programName, version)
    return {
      version,
      releasedAt: info?.releasedAt ?? null,
      notesEn: info?.notesEn ?? null,
      notesEl: info?.notesEl ?? null,
      yanked: info?.yanked ?? false,
      ...settings(info?.control),
      state: rolloutState(info?.control, new Date()),
      haltReason: info?.control?.haltReason ?? null,
      haltedAt: info?.control?.haltedAt ?? null,
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
    schema: {
      tags: ['versions'],
      summary: 'Edit release notes, the release date (backdating) or the release control settings',
      params: versionParams,
      body: z.object({ notesEn: notes.nullable().optional(), notesEl: notes.nullable().optional(), releasedAt: instant.optional(), ...releaseSettings })
    }
  }, async (request) => {
    const owner = await programRecords.find(request.params.name)
    await versionRecords.edit(owner, request.params.version, request.body, request.adminName)
    return describe(owner.name, request.params.version)
  })

  fastify.post('/api/v1/programs/:name/versions/:version/halt', {
    schema: { tags: ['versions'], summary: 'Halt a rollout: offered to no PC that does not run it yet; links handed out keep working', params: versionParams, body: z.object({ reason: text(1000).optional() }).optional() }
  }, async (request) => {
    const owner = await programRecords.find(request.params.name)
    await rollouts.halt(owner, request.params.version, request.body?.reason ?? null, request.adminName)
    return describe(owner.name, request.params.version)
  })

  fastify.post('/api/v1/programs/:name/versions/:version/resume', {
    schema: { tags: ['versions'], summary: 'Resume a halted rollout; downloads count for the automatic halt from now on', params: versionParams }
  }, async (request) => {
    const owner = await programRecords.find(request.params.name)
    await rollouts.resume(owner, request.params.version, request.adminName)
    return describe(owner.name, request.params.version)
  })

  fastify.get('/api/v1/programs/:name/versions/:version/rollout', {
    schema: { tags: ['versions'], summary: 'A rollout: settings, state, PCs offered the version, its downloads since the rollout began', params: versionParams }
  }, async (request) => {
    const owner = await programRecords.find(request.params.name)
    const view = await rollouts.view(owner, request.params.version)
    return { settings: settings(catalog.version(owner.name, request.params.version)?.control), ...view }
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
