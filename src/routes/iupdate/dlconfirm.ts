import { ProtocolError } from '../../errors.js'
import { scalar } from '../../protocol/fields.js'
import type { IupdateFunction } from './types.js'

const ERROR_TEXT_MAX = 1000

/**
 * f=dlconfirm&t=<token>[&ok=0&err=<text>] (docs/protocol.md §7): the client reports a
 * download's outcome. Confirmed, the link is spent and the download counts once; a failure is
 * recorded with the client's text and the link stays usable until it expires.
 */
export const dlconfirm: IupdateFunction = async ({ fields, app, request }) => {
  const token = scalar(fields, 't')
  if (token === undefined || token === '') throw new ProtocolError('BAD_REQUEST', 'Missing t: the token of the download link.')
  const opened = app.tokens.open(token)
  if (opened === null) throw new ProtocolError('FORBIDDEN', 'This is not a download link token of this server.')
  const ok = scalar(fields, 'ok') !== '0'
  const error = ok ? null : (scalar(fields, 'err') ?? '').slice(0, ERROR_TEXT_MAX)
  if (!(await app.downloads.confirm(opened.key, ok, error))) {
    throw new ProtocolError('NOT_FOUND', 'No download was made with this link.')
  }
  request.log.info({ pcid: opened.claims.pcid, ok }, 'download outcome recorded')
  return [['DLCONFIRM', ok ? 'CONFIRMED' : 'FAILED']]
}
