import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http'
import type { FastifyServerOptions } from 'fastify'

/**
 * Answers a request before Fastify routes it, or declines (returns false) and Fastify handles
 * it as usual. See src/routes/iupdate/fast-path.ts for the one there is and why.
 */
export type FrontHandler = (req: IncomingMessage, res: ServerResponse, requestId: RequestId) => boolean

/** Fastify's `genReqId`, which the front handler also uses: ids are unique whichever path answers. */
export type RequestId = (req: IncomingMessage) => string

/** The front handler shared by every server one factory made (Fastify makes one per address it listens on). */
interface Front {
  handler: FrontHandler | undefined
}

const fronts = new WeakMap<Server, Front>()

/** The settings of Fastify's (defaults applied) that it gives a server it makes. */
interface ServerSettings {
  http?: ServerOptions
  keepAliveTimeout?: number
  requestTimeout?: number
  connectionTimeout?: number
  maxRequestsPerSocket?: number | null
}

/**
 * Fastify's `serverFactory`: the HTTP/1.1 server Fastify would make (same timeouts), whose
 * requests go first to the front handler a plugin installed with `setFrontHandler`, then to
 * Fastify. Without a front handler every request goes straight to Fastify.
 */
export function frontServerFactory (requestId: RequestId): NonNullable<FastifyServerOptions['serverFactory']> {
  const front: Front = { handler: undefined }
  return (fastifyHandler, given) => {
    const options = given as ServerSettings
    const server = createServer(options.http ?? {}, (req, res) => {
      if (front.handler === undefined || !front.handler(req, res, requestId)) fastifyHandler(req, res)
    })
    // What Fastify does with the server it creates itself (lib/server.js getServerInstance).
    if (options.keepAliveTimeout !== undefined) server.keepAliveTimeout = options.keepAliveTimeout
    if (options.requestTimeout !== undefined) server.requestTimeout = options.requestTimeout
    server.setTimeout(options.connectionTimeout ?? 0)
    if (options.maxRequestsPerSocket != null && options.maxRequestsPerSocket > 0) server.maxRequestsPerSocket = options.maxRequestsPerSocket
    fronts.set(server, front)
    return server
  }
}

/**
 * Installs the front handler of the servers made by `frontServerFactory`. Returns false, and
 * installs nothing, for a server made otherwise (an instance built without serverOptions).
 */
export function setFrontHandler (server: Server, handler: FrontHandler | undefined): boolean {
  const front = fronts.get(server)
  if (front === undefined) return false
  front.handler = handler
  return true
}
