import { z } from 'zod'
import { PROGRAM_NAME, PROGRAM_NAME_RULE } from '../../catalog/program-name.js'

/** Shared pieces of the admin API's request schemas. */
export const programName = z.string().regex(PROGRAM_NAME, PROGRAM_NAME_RULE)
export const versionName = z.string().regex(/^(0|[1-9]\d{0,8})(\.(0|[1-9]\d{0,8})){0,7}$/, 'a version: dot-separated numbers without leading zeros, e.g. 2.7.0.0')
export const httpUrl = z.string().max(2000).regex(/^https?:\/\/[^\s"'<>]+$/, 'an http:// or https:// URL')
export const pagination = {
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).default(0)
}

/**
 * A date (`2027-01-01`, meaning through the end of that day, UTC) or an instant
 * (`2027-01-01T12:00:00Z`), as a Date.
 */
export const endDate = z.string().refine((s) => /^\d{4}-\d\d-\d\d$/.test(s) || !Number.isNaN(Date.parse(s)), 'a date (YYYY-MM-DD) or an ISO 8601 instant')
  .transform((s) => /^\d{4}-\d\d-\d\d$/.test(s) ? new Date(`${s}T23:59:59.999Z`) : new Date(s))
export const instant = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'a date (YYYY-MM-DD) or an ISO 8601 instant')
  .transform((s) => new Date(s))

export const programParams = z.object({ name: programName })
