import { isProgramName } from '../../catalog/program-name.js'
import { ProtocolError } from '../../errors.js'
import { newPcid } from '../../license/pcid.js'
import { scalar } from '../../protocol/fields.js'
import type { IupdateFunction } from './types.js'

const USER_AGENT_MAX = 512

/** f=getpcid (docs/protocol.md §2): issues a new PC id and stores it with the time, address, user agent and program. */
export const getpcid: IupdateFunction = async ({ request, fields, app }) => {
  const program = scalar(fields, 'prog')
  if (program !== undefined && program !== '' && !isProgramName(program)) {
    throw new ProtocolError('BAD_REQUEST', 'prog must be a program name (letters, digits, dot, dash, underscore; at most 64).')
  }
  const id = newPcid()
  await app.contacts.register(id, {
    address: request.ip,
    userAgent: request.headers['user-agent']?.slice(0, USER_AGENT_MAX) ?? null,
    program: program === '' ? null : program ?? null
  })
  request.log.info({ pcid: id, prog: program }, 'pcid issued')
  return [['PCID', id]]
}
