import { z } from 'zod'
import { endDate, text } from '../admin/fields.js'

/** What a license's fields may hold: the admin API's bodies and the CSV import's lines follow the same rules. */
export const licenseStatus = z.enum(['active', 'suspended', 'revoked'])

export const licenseFields = {
  customerName: text(200).min(1),
  customerEmail: z.email().max(200).nullable().optional(),
  maintenanceEnd: endDate.nullable().optional(),
  seatLimit: z.number().int().min(1).max(100_000).optional(),
  notes: text(5000).nullable().optional()
}
