import t, { type Test } from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { createServer, request, type IncomingMessage } from 'node:http'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import type { ByteRange } from '../../src/downloads/ranges.js'
import { sendFileRanges, type SendResult } from '../../src/downloads/send.js'

// Several read chunks (1 MiB each), and not a multiple of one.
const SIZE = 5 * 1024 * 1024 + 12_345

/** A server answering each request with sendFileRanges over `file` (of `size` bytes), with the ranges the test gives. */
async function serve (t: Test, file: string, ranges: () => ByteRange[], size = SIZE): Promise<{ port: number, results: SendResult[] }> {
  const results: SendResult[] = []
  const server = createServer((_req, res) => {
    const plan = ranges()
    sendFileRanges(res, { path: file, size, status: plan.length === 1 && plan[0].start === 0 && plan[0].end === size - 1 ? 200 : 206, ranges: plan, headers: {}, contentType: 'application/octet-stream' })
      .then((result) => { results.push(result) }, (err: unknown) => { res.destroy(err as Error) })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.closeAllConnections(); server.close() })
  return { port: (server.address() as AddressInfo).port, results }
}

/** The server's results once `count` requests have finished there: the client can see a response's end first. */
async function settled (served: { results: SendResult[] }, count = 1): Promise<SendResult[]> {
  while (served.results.length < count) await new Promise((resolve) => setTimeout(resolve, 5))
  return served.results
}

/** Reads a response slowly: pauses after every piece, so the server's socket is often full. */
async function slowBody (port: number): Promise<{ res: IncomingMessage, body: Buffer }> {
  return await new Promise((resolve, reject) => {
    request({ port, host: '127.0.0.1', path: '/' }, (res) => {
      const pieces: Buffer[] = []
      res.on('data', (piece: Buffer) => {
        pieces.push(piece)
        if (pieces.length % 8 === 0) {
          res.pause()
          setTimeout(() => res.resume(), 5)
        }
      })
      res.on('end', () => resolve({ res, body: Buffer.concat(pieces) }))
      res.on('error', reject)
    }).on('error', reject).end()
  })
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

t.test('a slow reader gets every byte right while the chunks\' buffers are reused', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'iupdate-send-'))
  t.teardown(async () => await rm(dir, { recursive: true, force: true }))
  const content = randomBytes(SIZE)
  const file = join(dir, 'big.bin')
  await writeFile(file, content)

  const whole = await serve(t, file, () => [{ start: 0, end: SIZE - 1 }])
  for (let i = 0; i < 2; i++) {
    const { res, body } = await slowBody(whole.port)
    t.equal(res.statusCode, 200)
    t.equal(body.length, SIZE)
    t.equal(sha(body), sha(content), 'the same bytes')
  }
  t.same((await settled(whole, 2)).map((r) => [r.finished, r.sent[0].bytes]), [[true, SIZE], [true, SIZE]], 'all bytes counted as sent')

  // Two ranges, each spanning several chunks and ending mid-chunk.
  const ranges = [{ start: 100, end: 1_500_000 }, { start: 2_000_000, end: SIZE - 7 }]
  const multi = await serve(t, file, () => ranges)
  const { res, body } = await slowBody(multi.port)
  t.equal(res.statusCode, 206)
  const boundary = String(res.headers['content-type']).split('boundary=')[1]
  const parts = body.toString('latin1').split(`--${boundary}`).slice(1, -1)
  t.equal(parts.length, 2)
  parts.forEach((part, i) => {
    const data = Buffer.from(part.slice(part.indexOf('\r\n\r\n') + 4).replace(/\r\n$/, ''), 'latin1')
    t.equal(sha(data), sha(content.subarray(ranges[i].start, ranges[i].end + 1)), `range ${i}`)
  })
  t.same((await settled(multi))[0].sent.map((s) => s.bytes), ranges.map((r) => r.end - r.start + 1))

  // An empty file: headers, no body, nothing read.
  const empty = join(dir, 'empty.bin')
  await writeFile(empty, '')
  const none = await serve(t, empty, () => [{ start: 0, end: -1 }], 0)
  const nothing = await slowBody(none.port)
  t.equal(nothing.res.statusCode, 200)
  t.equal(nothing.res.headers['content-length'], '0')
  t.equal(nothing.body.length, 0)
  t.same(await settled(none), [{ sent: [{ range: { start: 0, end: -1 }, bytes: 0 }], finished: true }])

  // A few bytes: a buffer of a few bytes.
  const small = await serve(t, file, () => [{ start: 10, end: 19 }])
  const tiny = await slowBody(small.port)
  t.same(tiny.body, content.subarray(10, 20))
})
