import { Transform, type TransformCallback } from 'node:stream'
import { ApiError } from '../errors.js'

/**
 * A streamed request body cut at `limit` bytes: the stream fails with a 413 as soon as one
 * byte more arrives, whatever the Content-Length said (a body sent chunked has none), so that
 * whatever reads it (a CSV import, all lines or none) stops and keeps nothing.
 */
export function byteLimit (limit: number, what: string): Transform {
  let seen = 0
  return new Transform({
    transform (chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      seen += chunk.length
      if (seen > limit) callback(tooLarge(limit, what))
      else callback(null, chunk)
    }
  })
}

export function tooLarge (limit: number, what: string): ApiError {
  return new ApiError(413, 'PAYLOAD_TOO_LARGE', `${what} is larger than UPLOAD_MAX_BYTES (${limit} bytes); nothing was stored.`)
}
