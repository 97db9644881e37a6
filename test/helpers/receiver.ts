import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Received { headers: IncomingHttpHeaders, body: string }

/**
 * A webhook receiver on a real socket: records every request and answers with what
 * `answer` says (a status, or 'hang' to never answer).
 */
export class Receiver {
  readonly received: Received[] = []
  answer: number | 'hang' = 200
  private server: Server | undefined
  port = 0

  async start (port = 0): Promise<string> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (chunk: Buffer) => chunks.push(chunk))
      req.on('end', () => {
        this.received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') })
        if (this.answer !== 'hang') res.writeHead(this.answer).end(this.answer === 200 ? 'ok' : 'not now')
      })
    })
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
    this.server = server
    this.port = (server.address() as AddressInfo).port
    return `http://127.0.0.1:${this.port}/hook`
  }

  async stop (): Promise<void> {
    const server = this.server
    this.server = undefined
    if (server === undefined) return
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
}
