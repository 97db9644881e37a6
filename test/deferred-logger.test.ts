import { Writable } from 'node:stream'
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify'
import pino from 'pino'
import t from 'tap'
import { DeferredChildLogger, RequestLogController, requestLogger } from '../src/deferred-logger.js'

/** A pino logger at `level` writing into `lines`, with a count of the children made from it. */
function root (level: string): { log: FastifyBaseLogger, lines: Array<Record<string, unknown>>, children: () => number } {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({ write (chunk, _enc, cb) { lines.push(JSON.parse(String(chunk))); cb() } })
  const log = pino({ level, redact: { paths: ['token'], censor: '[REDACTED]' } }, stream)
  let made = 0
  // Children inherit this method from the root (pino builds them on its prototype): keep `this`.
  const child = log.child
  log.child = function (this: typeof log, ...args: Parameters<typeof child>) { made++; return child.apply(this, args) } as typeof log.child
  return { log, lines, children: () => made }
}

t.test('above info: no child until a line is written, then the same line as pino\'s child writes', async (t) => {
  const { log, lines, children } = root('warn')
  const deferred = requestLogger(log, { reqId: 'r-1' }, {})
  t.type(deferred, DeferredChildLogger)
  deferred.info({ token: 'x' }, 'dropped')
  deferred.debug('dropped')
  deferred.trace('dropped')
  deferred.silent('dropped')
  t.equal(deferred.level, 'warn', 'reports the level it writes at')
  t.equal(children(), 0, 'nothing written, nothing built')
  t.equal(lines.length, 0)

  deferred.warn({ token: 'SECRET', n: 1 }, 'careful %s', 'now')
  deferred.error(new Error('broken'))
  deferred.fatal('fatal')
  t.equal(children(), 1, 'one child, built at the first line written')
  t.match(lines, [
    { level: 40, reqId: 'r-1', n: 1, token: '[REDACTED]', msg: 'careful now' },
    { level: 50, reqId: 'r-1', err: { message: 'broken' } },
    { level: 60, reqId: 'r-1', msg: 'fatal' }
  ])
  const direct = root('warn')
  direct.log.child({ reqId: 'r-1' }).warn({ token: 'SECRET', n: 1 }, 'careful %s', 'now')
  const { time: _a, pid: _b, hostname: _c, ...same } = direct.lines[0]
  t.match(lines[0], same, 'as pino\'s child would have written it')
})

t.test('level changes and grandchildren go through a real child', async (t) => {
  const { log, lines } = root('warn')
  const deferred = requestLogger(log, { reqId: 'r-2' }, {})
  deferred.level = 'debug'
  t.equal(deferred.level, 'debug')
  t.equal(log.level, 'warn', 'the parent keeps its level')
  deferred.debug('now written')
  const grandchild = deferred.child({ part: 'upload' })
  grandchild.warn('from the grandchild')
  t.match(lines, [{ level: 20, reqId: 'r-2', msg: 'now written' }, { level: 40, reqId: 'r-2', part: 'upload' }])

  const silent = requestLogger(root('silent').log, { reqId: 'r-3' }, {})
  silent.fatal('nothing at silent')
  t.equal(silent.level, 'silent')
})

t.test('at info and below, or with a route\'s own level or serializers: pino\'s child at once', async (t) => {
  for (const level of ['info', 'debug']) {
    const { log, children } = root(level)
    t.notOk(requestLogger(log, { reqId: 'a' }, {}) instanceof DeferredChildLogger, level)
    t.equal(children(), 1)
  }
  const { log } = root('warn')
  t.notOk(requestLogger(log, { reqId: 'b' }, { level: 'debug' }) instanceof DeferredChildLogger, 'route level')
  t.notOk(requestLogger(log, { reqId: 'c' }, { serializers: { x: (v: unknown) => v } }) instanceof DeferredChildLogger, 'route serializers')
})

t.test('Fastify\'s request lines: written at info, skipped above it, errors written at every level', async (t) => {
  const controller = new RequestLogController()
  const exchange = (log: FastifyBaseLogger): { request: FastifyRequest, reply: FastifyReply } => {
    const request = { log, id: 'r-9' } as unknown as FastifyRequest
    return { request, reply: { log, request, statusCode: 200, elapsedTime: 1.5 } as unknown as FastifyReply }
  }
  const info = root('info')
  const atInfo = exchange(requestLogger(info.log, { reqId: 'r-9' }, {}))
  controller.incomingRequest(atInfo.request, atInfo.reply)
  controller.requestCompleted(null, atInfo.request, atInfo.reply)
  t.match(info.lines, [{ level: 30, reqId: 'r-9', msg: 'incoming request' }, { level: 30, reqId: 'r-9', responseTime: 1.5, msg: 'request completed' }])

  const warn = root('warn')
  const atWarn = exchange(requestLogger(warn.log, { reqId: 'r-10' }, {}))
  controller.incomingRequest(atWarn.request, atWarn.reply)
  controller.requestCompleted(undefined, atWarn.request, atWarn.reply)
  t.same(warn.lines, [], 'nothing for a request that went well')
  t.equal(warn.children(), 0, 'and no child logger built for it')
  controller.requestCompleted(new Error('socket reset'), atWarn.request, atWarn.reply)
  t.match(warn.lines, [{ level: 50, reqId: 'r-10', err: { message: 'socket reset' }, msg: 'request errored' }])
})
