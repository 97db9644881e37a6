import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { ClientError } from './errors.js'

/**
 * HTTP as the client needs it: node:http(s) directly, so that a download streams to disk and
 * resumes with Range, nothing is decompressed, and a server that stops sending is given up
 * after `timeoutMs` of silence (not after a total time: a large file may take hours).
 */
export const USER_AGENT = `iupdate-client/0.1.0 (node ${process.version}; ${process.platform})`

/** The answers this client reads are small; a larger body is not an iUpdate answer. */
const MAX_ANSWER_BYTES = 16 * 1024 * 1024

export class NetworkError extends ClientError {}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'HEAD'
  headers?: OutgoingHttpHeaders
  body?: Buffer
  timeoutMs: number
}

export interface Answer {
  status: number
  headers: IncomingHttpHeaders
  body: Buffer
}

/** Opens a request and returns the response with its body unread. */
export async function open (url: string, options: RequestOptions): Promise<IncomingMessage> {
  const target = new URL(url)
  if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new NetworkError(`not an http(s) URL: ${url.slice(0, 100)}`)
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest
  const headers: OutgoingHttpHeaders = { 'user-agent': USER_AGENT, ...options.headers }
  if (options.body !== undefined) headers['content-length'] = options.body.length
  return await new Promise<IncomingMessage>((resolve, reject) => {
    const req = send(target, { method: options.method ?? 'GET', headers, timeout: options.timeoutMs }, resolve)
    req.on('timeout', () => req.destroy(new NetworkError(`no answer from ${target.host} within ${options.timeoutMs} ms`)))
    req.on('error', (err) => reject(err instanceof NetworkError ? err : new NetworkError(`${target.host}: ${err.message}`, { cause: err })))
    req.end(options.body)
  })
}

/** A whole (small) answer. */
export async function fetchAnswer (url: string, options: RequestOptions): Promise<Answer> {
  const res = await open(url, options)
  return { status: res.statusCode ?? 0, headers: res.headers, body: await readBody(res, new URL(url).host) }
}

/** The body of a response that is an answer, not a file. */
export async function readBody (res: IncomingMessage, host: string): Promise<Buffer> {
  const chunks: Buffer[] = []
  let length = 0
  try {
    for await (const chunk of res) {
      length += (chunk as Buffer).length
      if (length > MAX_ANSWER_BYTES) throw new NetworkError(`the answer of ${host} is larger than ${MAX_ANSWER_BYTES} bytes`)
      chunks.push(chunk as Buffer)
    }
  } catch (err) {
    res.destroy()
    if (err instanceof NetworkError) throw err
    throw new NetworkError(`${host}: the answer was cut short (${(err as Error).message})`, { cause: err })
  }
  return Buffer.concat(chunks)
}
