import { stat } from 'node:fs/promises'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import rateLimit from '@fastify/rate-limit'
import { ProtocolError } from '../../errors.js'
import { rateLimitOptions } from '../../http/rate-limit.js'
import { parseRange, coalesce, type ByteRange } from '../../downloads/ranges.js'
import { sendFileRanges } from '../../downloads/send.js'
import { assertSafeSegments, UnsafePathError } from '../../storage/paths.js'
import type { RepoFile } from '../../storage/scan.js'

/**
 * Downloads: GET and HEAD /ftp/<path>?t=<token> (docs/protocol.md §7). Only files in the
 * repository index are served, with a valid unspent token bound to that file. Responses are
 * what Windows BITS needs: Content-Length always, Range and multi-range, strong ETag,
 * Last-Modified, no chunked encoding, no compression.
 */
const ftpRoutes: FastifyPluginAsync = async (fastify) => {
  const { repository, tokens, catalog, downloads, licenses, config } = fastify
  await fastify.register(rateLimit, rateLimitOptions({ max: config.DOWNLOAD_RATE_LIMIT_MAX, windowMs: config.RATE_LIMIT_WINDOW_MS, clients: config.RATE_LIMIT_CLIENTS }))

  async function prepare (request: FastifyRequest): Promise<{ file: RepoFile, real: string, path: string, check: Extract<ReturnType<typeof tokens.verify>, { ok: true }> }> {
    const raw = request.url.slice('/ftp/'.length).split('?')[0]
    let segments: string[]
    try {
      segments = raw.split('/').map((segment) => decodeURIComponent(segment))
      assertSafeSegments(segments)
    } catch (err) {
      if (err instanceof UnsafePathError || err instanceof URIError) throw new ProtocolError('BAD_REQUEST', 'The path is not a repository path.')
      throw err
    }
    const path = segments.join('/')
    const token = (request.query as Record<string, unknown>).t
    if (typeof token !== 'string' || token === '') throw new ProtocolError('FORBIDDEN', 'A download link needs its token (t=…); ask f=qrymaxver for one.')
    const check = tokens.verify(token, path)
    if (!check.ok) throw new ProtocolError(check.status === 410 ? 'GONE' : 'FORBIDDEN', check.status === 410 ? 'This download link has expired; ask f=qrymaxver again.' : 'This download link is not valid.')
    const file = repository.file(path)
    if (file === undefined || !file.sha256.startsWith(check.claims.contentTag)) throw new ProtocolError('GONE', 'This file is no longer offered; ask f=qrymaxver again.')
    if (segments[1] !== 'updates' && catalog.isYanked(segments[0], segments[1])) throw new ProtocolError('GONE', 'This version was withdrawn.')
    // A license suspended or revoked since the link was issued takes its links with it (within LICENSE_CACHE_MS on every instance).
    if (check.claims.licenseId !== null) {
      const status = await licenses.status(check.claims.licenseId)
      if (status !== 'active') throw new ProtocolError('GONE', status === undefined ? 'The license of this link no longer exists.' : `The license of this link is ${status}.`)
    }
    const real = await repository.open(file)
    const info = real === null ? null : await stat(real).catch(() => null)
    if (real === null || info === null || info.size !== file.size || info.mtimeMs !== file.mtimeMs) {
      throw new ProtocolError('GONE', 'This file is being replaced; ask f=qrymaxver again.')
    }
    return { file, real, path, check }
  }

  function headers (file: RepoFile): Record<string, string> {
    const name = file.path.slice(file.path.lastIndexOf('/') + 1)
    return {
      'Accept-Ranges': 'bytes',
      ETag: `"${file.sha256}"`,
      'Last-Modified': new Date(file.mtimeMs).toUTCString(),
      'Cache-Control': 'private, no-store, no-transform',
      'Content-Disposition': `attachment; filename*=UTF-8''${encodeURIComponent(name)}`,
      'X-Content-Type-Options': 'nosniff'
    }
  }

  /** The ranges to send, honouring If-Range; null: the whole file. */
  function wantedRanges (request: FastifyRequest, file: RepoFile): ByteRange[] | null {
    const ifRange = typeof request.headers['if-range'] === 'string' ? request.headers['if-range'] : undefined
    if (ifRange !== undefined && ifRange !== `"${file.sha256}"` && Date.parse(ifRange) !== Math.floor(file.mtimeMs / 1000) * 1000) return null
    const parsed = parseRange(typeof request.headers.range === 'string' ? request.headers.range : undefined, file.size)
    if (parsed === 'unsatisfiable') {
      throw new ProtocolError('RANGE_NOT_SATISFIABLE', `The file has ${file.size} bytes.`, { 'content-range': `bytes */${file.size}` })
    }
    return parsed === null ? null : coalesce(parsed)
  }

  fastify.head('/ftp/*', async (request, reply) => {
    const { file, check } = await prepare(request)
    if ((await downloads.find(check.key))?.spent === true) throw new ProtocolError('GONE', 'This download link was used up.')
    wantedRanges(request, file)
    // Fastify keeps a Content-Length set by the route on a HEAD answer: the file's size, no body.
    return await reply.headers({ ...headers(file), 'Content-Length': file.size }).type('application/octet-stream').send()
  })

  fastify.get('/ftp/*', { exposeHeadRoute: false }, async (request, reply: FastifyReply) => {
    const { file, real, path, check } = await prepare(request)
    const ranges = wantedRanges(request, file)
    const [program, folder] = path.split('/')[1] === 'updates' ? [path.split('/')[0], path.split('/')[2]] : path.split('/')
    const wanted = (ranges ?? [{ start: 0, end: file.size - 1 }]).reduce((sum, r) => sum + r.end - r.start + 1, 0)
    const id = await downloads.begin({
      tokenKey: check.key,
      pcid: check.claims.pcid,
      licenseId: check.claims.licenseId,
      program,
      folder,
      path,
      size: file.size,
      expiresAt: check.claims.expiresAt
    }, wanted)
    if (id === undefined) throw new ProtocolError('GONE', 'This download link was used up; ask f=qrymaxver again.')
    // The body is written by sendFileRanges: one or several ranges from the file with
    // backpressure, each byte counted once the socket took it, so that BITS can resume.
    reply.hijack()
    fastify.metrics.downloadStarted()
    const result = await sendFileRanges(reply.raw, {
      path: real,
      size: file.size,
      status: ranges === null ? 200 : 206,
      ranges: ranges ?? [{ start: 0, end: file.size - 1 }],
      headers: headers(file),
      contentType: 'application/octet-stream'
    }).finally(() => { fastify.metrics.downloadEnded() })
    fastify.metrics.bytesSent(result.sent.reduce((s, r) => s + r.bytes, 0))
    request.log.info({ path, pcid: check.claims.pcid, ranges: ranges?.length ?? 0, bytes: result.sent.reduce((s, r) => s + r.bytes, 0), finished: result.finished }, 'file delivered')
    await downloads.record(id, result)
  })
}

export default ftpRoutes
