import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { identifier, programName, versionName } from './schemas.js'

/** A day (UTC) of the years 2000 to 9999. */
const day = z.iso.date().refine((value) => value >= '2000-01-01' && value <= '9999-12-31', 'a date (YYYY-MM-DD) in the years 2000 to 9999')
/** The default range: the last 30 days, today included. */
const DEFAULT_DAYS = 30

function range (query: { from?: string, to?: string }): { from: string, to: string } {
  const to = query.to ?? new Date().toISOString().slice(0, 10)
  const from = query.from ?? new Date(Date.parse(`${to}T00:00:00Z`) - (DEFAULT_DAYS - 1) * 86_400_000).toISOString().slice(0, 10)
  return { from, to }
}

const dayRange = { program: programName, from: day.optional().describe('first day (UTC), default 29 days before `to`'), to: day.optional().describe('last day (UTC), included; default today') }

/** Analytics of the installed base (docs/analytics.md): active installations, adoption, the update funnel, downloads, license use. */
const analyticsRoutes: FastifyPluginAsyncZod = async (fastify) => {
  const { analytics } = fastify

  fastify.get('/api/v1/analytics/active', {
    schema: { tags: ['analytics'], summary: 'Active installations (PCs that polled) per day, by version and channel', querystring: z.object(dayRange) }
  }, async (request) => {
    const { from, to } = range(request.query)
    return { program: request.query.program, days: await analytics.active(request.query.program, from, to) }
  })

  fastify.get('/api/v1/analytics/versions', {
    schema: { tags: ['analytics'], summary: 'The split by version of the installations active on the latest day with polls (or asOf)', querystring: z.object({ program: programName, asOf: day.optional() }) }
  }, async (request) => ({ program: request.query.program, ...await analytics.versions(request.query.program, request.query.asOf) }))

  fastify.get('/api/v1/analytics/adoption', {
    schema: { tags: ['analytics'], summary: 'Installations on a version by days since its release', querystring: z.object({ program: programName, version: versionName }) }
  }, async (request) => {
    const { program, version } = request.query
    return { program, version, ...await analytics.adoption(program, version) }
  })

  fastify.get('/api/v1/analytics/funnel', {
    schema: { tags: ['analytics'], summary: 'The update funnel of a version: PCs offered it, given links, downloading, delivered, confirmed, failed, running it', querystring: z.object({ program: programName, version: versionName }) }
  }, async (request) => {
    const { program, version } = request.query
    return { program, version, ...await analytics.funnel(program, version) }
  })

  fastify.get('/api/v1/analytics/downloads', {
    schema: { tags: ['analytics'], summary: 'Downloads of a program per day (UTC): started, delivered, failed, bytes sent', querystring: z.object(dayRange) }
  }, async (request) => {
    const { from, to } = range(request.query)
    return { program: request.query.program, days: await analytics.downloads(request.query.program, from, to) }
  })

  fastify.get('/api/v1/analytics/licenses/:key', {
    schema: { tags: ['analytics'], summary: 'A license in use: seats used, the PCs holding them and the versions they run', params: z.object({ key: identifier }) }
  }, async (request) => await analytics.license(request.params.key))
}

export default analyticsRoutes
