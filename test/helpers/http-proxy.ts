import { createServer, request, type IncomingMessage } from 'node:http'
import type { Test } from 'tap'

/**
 * An HTTP proxy in front of the server, as the network between a PC and its server: it passes
 * requests on (Host included, so download links name the proxy), records them, and can cut a
 * response after some bytes or rewrite an answer's body.
 */
export interface SeenRequest {
  method: string
  url: string
  range?: string
}

export interface HttpProxyOptions {
  /** Bytes of the body after which this response's connection is cut; undefined: passed whole. */
  cutAfter?: (req: IncomingMessage) => number | undefined
  /** A new body for this response; undefined: passed as it is. */
  rewrite?: (req: IncomingMessage, body: Buffer) => Buffer | undefined
  /** Drops this request's connection before it reaches the server, as a network that fails. */
  refuse?: (req: IncomingMessage) => boolean
}

export async function httpProxy (t: Test, target: string, options: HttpProxyOptions = {}): Promise<{ base: string, host: string, seen: SeenRequest[] }> {
  const seen: SeenRequest[] = []
  const server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', range: req.headers.range })
    if (options.refuse?.(req) === true) {
      req.socket.destroy()
      return
    }
    const upstream = request(`${target}${req.url ?? '/'}`, { method: req.method, headers: req.headers }, (answer) => {
      const chunks: Buffer[] = []
      const limit = options.cutAfter?.(req)
      let sent = 0
      if (limit !== undefined || options.rewrite === undefined) res.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.on('data', (chunk: Buffer) => {
        if (limit === undefined && options.rewrite !== undefined) {
          chunks.push(chunk)
        } else if (limit !== undefined && sent + chunk.length >= limit) {
          res.write(chunk.subarray(0, limit - sent))
          sent = limit
          // As a dropped connection: no end of the response, the socket closed.
          setTimeout(() => { res.socket?.destroy(); answer.destroy() }, 20)
        } else if (sent < (limit ?? Infinity)) {
          sent += chunk.length
          res.write(chunk)
        }
      })
      answer.on('end', () => {
        if (limit !== undefined && sent >= limit) return
        if (limit === undefined && options.rewrite !== undefined) {
          const body = Buffer.concat(chunks)
          const changed = options.rewrite(req, body) ?? body
          res.writeHead(answer.statusCode ?? 502, { ...answer.headers, 'content-length': changed.length })
          res.end(changed)
        } else {
          res.end()
        }
      })
    })
    upstream.on('error', () => res.destroy())
    req.pipe(upstream)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => { server.closeAllConnections(); await new Promise((resolve) => server.close(resolve)) })
  const host = `127.0.0.1:${(server.address() as { port: number }).port}`
  return { base: `http://${host}`, host, seen }
}
