import type { FastifyRequest } from 'fastify'
import { ApiError, badRequest } from '../../errors.js'
import { UnsafePathError } from '../../storage/paths.js'
import { Staging, UploadTooLargeError } from '../../storage/publish.js'

export interface Upload {
  fields: Record<string, string>
  staging: Staging
}

/**
 * Receives a multipart upload: every file part is streamed into a new staging folder
 * under its file name, which may carry subfolders (`@win32/x.dll`, `Forms/a.frm`; `\` is
 * read as `/`); text parts are collected as fields. On any failure, including the client
 * going away half-way, the staging folder is removed and nothing is left behind.
 */
export async function receiveUpload (request: FastifyRequest, root: string, limit: number): Promise<Upload> {
  if (!request.isMultipart()) throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the files as multipart/form-data.')
  const staging = await Staging.open(root)
  const fields: Record<string, string> = {}
  try {
    for await (const part of request.parts()) {
      if (part.type === 'field') {
        fields[part.fieldname] = typeof part.value === 'string' ? part.value : String(part.value)
        continue
      }
      const name = (part.filename ?? '').replace(/\\/g, '/').replace(/^\/+/, '')
      if (name === '') throw badRequest('A file part has no file name.', [{ field: part.fieldname, message: 'missing filename' }])
      await staging.write(name, part.file, limit)
      if (part.file.truncated) throw new UploadTooLargeError(limit)
    }
    return { fields, staging }
  } catch (err) {
    await staging.discard()
    if (err instanceof UnsafePathError) throw badRequest(`A file name is not a safe path: ${err.message}`, [{ field: 'filename', message: err.message }])
    if (err instanceof UploadTooLargeError || (err as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE') {
      throw new ApiError(413, 'PAYLOAD_TOO_LARGE', `A file is larger than UPLOAD_MAX_BYTES (${limit} bytes).`)
    }
    if ((err as { code?: string }).code === 'EEXIST') throw badRequest('Two files with the same name.')
    throw err
  }
}
