import { createConnection, createServer, type Server, type Socket } from 'node:net'

/**
 * A TCP proxy in front of Postgres that a test can cut and restore, to see what clients
 * get while the database is unreachable without stopping the server other tests share.
 */
export class CuttableProxy {
  private server: Server | undefined
  private readonly sockets = new Set<Socket>()
  port = 0

  constructor (private readonly targetHost: string, private readonly targetPort: number) {}

  async start (port = this.port): Promise<number> {
    const server = createServer((client) => {
      const upstream = createConnection({ host: this.targetHost, port: this.targetPort })
      for (const socket of [client, upstream]) {
        this.sockets.add(socket)
        socket.on('close', () => this.sockets.delete(socket))
        socket.on('error', () => { client.destroy(); upstream.destroy() })
      }
      client.pipe(upstream).pipe(client)
    })
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
    this.server = server
    this.port = (server.address() as { port: number }).port
    return this.port
  }

  /** Refuses new connections and drops the open ones, as a stopped database would. */
  async cut (): Promise<void> {
    const server = this.server
    this.server = undefined
    for (const socket of this.sockets) socket.destroy()
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

/** The URL `url` with its host and port replaced by the proxy's. */
export function throughProxy (url: string, port: number): string {
  const parsed = new URL(url)
  parsed.hostname = '127.0.0.1'
  parsed.port = String(port)
  return parsed.toString()
}
