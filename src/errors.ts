/**
 * Every error code the public iUpdate endpoint can answer with, and its HTTP status.
 * A client tells failure from success by the first body line `ERROR=<CODE>`.
 */
export const PROTOCOL_ERRORS = {
  BAD_REQUEST: 400,
  UNKNOWN_FUNCTION: 400,
  TOO_MANY_PROGRAMS: 400,
  BAD_CHARSET: 400,
  FORBIDDEN: 403,
  UNKNOWN_PCID: 404,
  NOT_FOUND: 404,
  ALREADY_ANSWERED: 409,
  GONE: 410,
  PAYLOAD_TOO_LARGE: 413,
  URI_TOO_LONG: 414,
  RANGE_NOT_SATISFIABLE: 416,
  RATE_LIMITED: 429,
  QUOTA_EXCEEDED: 429,
  INTERNAL: 500,
  UNAVAILABLE: 503,
  STORAGE_FULL: 507
} as const

export type ProtocolErrorCode = keyof typeof PROTOCOL_ERRORS

/**
 * An expected answer to a bad request, not a bug: built without a stack trace, which would
 * cost more than the rest of a small request.
 */
class AnswerError extends Error {
  constructor (message: string) {
    const limit = Error.stackTraceLimit
    Error.stackTraceLimit = 0
    super(message)
    Error.stackTraceLimit = limit
  }
}

/** A failure the client is told about, in the protocol's `ERROR=` format. */
export class ProtocolError extends AnswerError {
  readonly code: ProtocolErrorCode
  readonly statusCode: number
  readonly headers: Record<string, string>

  constructor (code: ProtocolErrorCode, message: string, headers: Record<string, string> = {}) {
    super(message)
    this.name = 'ProtocolError'
    this.code = code
    this.statusCode = PROTOCOL_ERRORS[code]
    this.headers = headers
  }
}

/** What is wrong with one field of a request, or of one line of an imported file. */
export interface FieldError { line?: number, field: string, message: string }

/** A failure on the admin API, answered as JSON problem details (RFC 9457). */
export class ApiError extends AnswerError {
  readonly statusCode: number
  readonly title: string
  readonly errors: FieldError[] | undefined

  constructor (statusCode: number, title: string, message: string, errors?: FieldError[]) {
    super(message)
    this.name = 'ApiError'
    this.statusCode = statusCode
    this.title = title
    this.errors = errors
  }
}

export const notFound = (what: string): ApiError => new ApiError(404, 'NOT_FOUND', `${what} does not exist.`)
export const conflict = (message: string): ApiError => new ApiError(409, 'CONFLICT', message)
export const badRequest = (message: string, errors?: Array<{ field: string, message: string }>): ApiError => new ApiError(400, 'BAD_REQUEST', message, errors)
