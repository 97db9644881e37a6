/** A failure the user is told about in one line (exit status 1): bad input, a refused answer, a server error. */
export class ClientError extends Error {
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ClientError'
  }
}

/** A command line that cannot be read (exit status 2, with the usage). */
export class UsageError extends ClientError {
  constructor (message: string) {
    super(message)
    this.name = 'UsageError'
  }
}

/** An `ERROR=<CODE>` answer of the server (docs/protocol.md §1). */
export class ServerError extends ClientError {
  constructor (readonly code: string, readonly status: number, message: string) {
    super(`server answered ${code} (${status}): ${message}`)
    this.name = 'ServerError'
  }
}

/** An answer refused because it could not be trusted (docs/protocol.md §9) or read. */
export class AnswerRefused extends ClientError {
  constructor (message: string) {
    super(`answer refused: ${message}`)
    this.name = 'AnswerRefused'
  }
}

export function messageOf (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
