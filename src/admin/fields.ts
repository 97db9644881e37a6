import { z } from 'zod'
import { PROGRAM_NAME, PROGRAM_NAME_RULE } from '../catalog/program-name.js'

/**
 * The values the admin API accepts, in request bodies, query strings, multipart fields and
 * CSV imports alike. docs/admin-api.md ("Values") states the rules.
 */

/** Text Postgres can store: anything but NUL, which no column takes (error 22021). */
export const text = (max: number): z.ZodString => z.string().max(max).refine((s) => !s.includes('\u0000'), 'must not contain NUL characters')

/** An admin token's name, as the audit log shows it. */
export const TOKEN_NAME = /^[\w.@-]{1,64}$/
export const tokenName = z.string().regex(TOKEN_NAME, 'letters, digits, . _ - @ (at most 64)')

export const programName = z.string().regex(PROGRAM_NAME, PROGRAM_NAME_RULE)
export const versionName = z.string().regex(/^(0|[1-9]\d{0,8})(\.(0|[1-9]\d{0,8})){0,7}$/, 'a version: dot-separated numbers without leading zeros, e.g. 2.7.0.0')
export const httpUrl = text(2000).regex(/^https?:\/\/[^\s"'<>]+$/, 'an http:// or https:// URL')

/**
 * Dates are calendar dates of the years 2000 to 9999: a LICENSE string's `mnt` claim and
 * every JSON answer write them as ISO 8601, which has four digits for the year.
 */
export const EARLIEST_DATE = new Date('2000-01-01T00:00:00.000Z')
export const LATEST_DATE = new Date('9999-12-31T23:59:59.999Z')
const DATE_RULE = 'a date (YYYY-MM-DD) or an instant (YYYY-MM-DDTHH:MM:SS with Z or an offset such as +02:00) in the years 2000 to 9999'
const isoDate = z.iso.date()
const isoInstant = z.iso.datetime({ offset: true })

function dateOrInstant (dayTime: string): z.ZodType<Date, string> {
  return z.string().max(40).transform((value, ctx) => {
    const date = isoDate.safeParse(value).success
      ? new Date(`${value}T${dayTime}Z`)
      : isoInstant.safeParse(value).success ? new Date(value) : undefined
    if (date === undefined || !(date >= EARLIEST_DATE && date <= LATEST_DATE)) {
      ctx.addIssue({ code: 'custom', message: DATE_RULE })
      return z.NEVER
    }
    return date
  })
}

/** An end date: a date means through the end of that day (UTC); or an instant. */
export const endDate = dateOrInstant('23:59:59.999')
/** An instant; a date means the start of that day (UTC). */
export const instant = dateOrInstant('00:00:00.000')
