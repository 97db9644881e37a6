import { z } from 'zod'
import { programName, text } from '../../admin/fields.js'

/** Shared pieces of the admin API's request schemas; the value rules are src/admin/fields.ts. */
export { endDate, httpUrl, instant, programName, text, versionName } from '../../admin/fields.js'

export const pagination = {
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).default(0)
}

export const programParams = z.object({ name: programName })
/** A PCID or license key as given in a path or query: looked up, so no NUL. */
export const identifier = text(64)
