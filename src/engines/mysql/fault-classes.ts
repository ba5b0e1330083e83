import { lastLine, UserError } from '../../util/errors.js'

/**
 * Which failures of the restoring client describe the clean room rather than the dump (as
 * PostgreSQL's fault-classes.ts does by SQLSTATE): a restore that stops on one of them says
 * nothing about the backup, and a drill copy that stops on one was not tried. MySQL's error
 * numbers decide, since most of these share SQLSTATE HY000. Pure.
 */

/** Server errors of the clean room, each class with what to do about it. */
const CLEANROOM_SERVER_ERRORS: { codes: number[]; hint: string }[] = [
  {
    // ER_RECORD_FILE_FULL, ER_DISK_FULL (and errno 28 below).
    codes: [1021, 1114],
    hint: 'give the clean room more disk, or a smaller backup'
  },
  {
    // ER_CON_COUNT_ERROR, ER_OUT_OF_RESOURCES.
    codes: [1040, 1041],
    hint: 'give the clean room more connections or memory (max_connections, its container), or run fewer jobs'
  },
  {
    // Access denied to the database, the account, a table, a column; a missing privilege (SUPER...).
    codes: [1044, 1045, 1142, 1143, 1227],
    hint: 'give the clean-room account the privileges docs/mysql.md lists, or use an account that has them'
  },
  {
    // ER_BAD_DB_ERROR: the scratch database is gone (something else dropped it).
    codes: [1049],
    hint: 'make sure nothing else drops databases on the clean room while Lazarus runs'
  },
  {
    // Shutdown in progress, query interrupted, connection killed.
    codes: [1053, 1317, 1927],
    hint: 'make sure nothing restarts the clean room or kills its sessions while Lazarus runs'
  },
  {
    // Lock wait timeout, max_execution_time, a query killed by a limit.
    codes: [1205, 3024, 4031],
    hint: "raise the clean room's time limits (lock_wait_timeout, max_execution_time, wait_timeout) or lock-timeout-seconds"
  }
]

/**
 * Why a restoring client's failure is the clean room's, in one line naming it (`where`: the clean
 * room as engine.describe names it, and its input); undefined when the dump is to blame. A client
 * killed (no exit status, or a signal's) was stopped from outside; the client's own errors (2000
 * to 2999: a connection refused, lost, gone away) and the server errors above are the clean
 * room's; any other error is the statement's, the backup's.
 */
export function cleanroomClientError(exitCode: number | null, stderr: string, where: string): UserError | undefined {
  const said = lastLine(stderr) || 'no error output'
  if (exitCode === null || exitCode > 128) {
    return new UserError(
      `The restore was stopped from outside (the client ended ${exitCode === null ? 'without an exit status' : `with status ${exitCode}`}) ` +
        `on ${where}, so the backup was not fully tried: ${said}. Make sure nothing kills the client or the runner's processes.`
    )
  }
  const code = Number(/^ERROR (\d+)/m.exec(stderr)?.[1])
  const server = CLEANROOM_SERVER_ERRORS.find(known => known.codes.includes(code))
  const diskFull = /errno:? 28\b|No space left on device/i.test(stderr)
  const hint =
    code >= 2000 && code < 3000
      ? 'make sure the clean room stays up and reachable while Lazarus runs (its connection dropped or was refused)'
      : (server?.hint ?? (diskFull ? CLEANROOM_SERVER_ERRORS[0].hint : undefined))
  if (!hint) return undefined
  return new UserError(`The restore stopped on an error of ${where}, not of the backup: ${said}. To verify the backup, ${hint}.`)
}
