import { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest } from 'fastify'
import type { Bindings, ChildLoggerOptions } from 'pino'
import pino from 'pino'
import { logsInfo } from './log-level.js'
import { wasHandedOver } from './request-id.js'

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'

/**
 * A request's logger that becomes pino's child logger only when something is written.
 * Fastify gives every request a child (pino serializes its bindings, the request id, up
 * front); when the level is above info most requests never write a line, and on a busy
 * server that child is a measurable part of answering a poll. Lines written through it are
 * the same as through the child: same bindings, same serializers, same redaction.
 */
export class DeferredChildLogger implements FastifyBaseLogger {
  private real: FastifyBaseLogger | undefined

  constructor (private readonly parent: FastifyBaseLogger, private readonly bindings: Bindings) {}

  private logger (): FastifyBaseLogger {
    this.real ??= this.parent.child(this.bindings)
    return this.real
  }

  get level (): string {
    return (this.real ?? this.parent).level
  }

  set level (level: string) {
    this.logger().level = level
  }

  private write (level: Level, args: unknown[]): void {
    const threshold = pino.levels.values[this.level]
    if (threshold === undefined || pino.levels.values[level] < threshold) return
    const logger = this.logger()
    Reflect.apply(logger[level], logger, args)
  }

  fatal (...args: unknown[]): void { this.write('fatal', args) }
  error (...args: unknown[]): void { this.write('error', args) }
  warn (...args: unknown[]): void { this.write('warn', args) }
  info (...args: unknown[]): void { this.write('info', args) }
  debug (...args: unknown[]): void { this.write('debug', args) }
  trace (...args: unknown[]): void { this.write('trace', args) }
  silent (): void {}

  child (bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.logger().child(bindings, options)
  }
}

/**
 * Fastify's `childLoggerFactory`: at info and below every request writes its own lines
 * (`incoming request`, `request completed`), so it gets pino's child at once; above info,
 * a deferred one. A route's own level or serializers also get pino's child at once.
 */
export function requestLogger (logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  if (logsInfo(logger) || options.level !== undefined || options.serializers !== undefined) return logger.child(bindings, options)
  return new DeferredChildLogger(logger, bindings)
}

/**
 * Fastify's own per-request lines, `incoming request` and `request completed`, are info lines,
 * and Fastify builds their arguments (reading the clock for the response time) before the
 * logger drops them. Above info this skips them before that work; a request that ends in an
 * error is still logged, at error level, as by Fastify's own controller. A poll the fast path
 * began and handed over has logged its `incoming request` there already.
 */
export class RequestLogController extends LogController {
  override incomingRequest (request: FastifyRequest, reply: FastifyReply, metadata?: Record<string, unknown>): void {
    if (logsInfo(request.log) && !wasHandedOver(request.raw)) super.incomingRequest(request, reply, metadata)
  }

  override requestCompleted (error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply, metadata?: Record<string, unknown>): void {
    if (error != null || logsInfo(reply.log)) super.requestCompleted(error, request, reply, metadata)
  }
}
