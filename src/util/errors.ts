/**
 * A mistake the user can fix (a bad input, an unreachable server, a missing client tool).
 * Its message is shown as one annotation without a stack trace, so it must say what to fix.
 */
export class UserError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'UserError'
  }
}

/**
 * The clean room already has a database of the name a run chose for a scratch database: someone
 * else's, which the run must neither drop nor record as its own (run/cleanroom.ts). Every other
 * failure of CREATE DATABASE leaves the name recorded, since the server may have made it.
 */
export class ScratchNameTaken extends UserError {}

/** The message of any thrown value, for logs and reports. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message
  return String(error)
}

/** The last non-empty line of a program's stderr: what it said when it stopped. */
export function lastLine(text: string): string {
  return (
    text
      .split('\n')
      .map(line => line.trim())
      .filter(Boolean)
      .pop() ?? ''
  )
}

/**
 * A failure's message with the hint that explains it (a right the restoring role lacks, a version
 * skew), after ` | `, the one way the report's `error` and the step's message join them; the
 * message alone when there is no hint.
 */
export function withHint(error: string, hint: string | undefined): string {
  return hint ? `${error} | ${hint}` : error
}
