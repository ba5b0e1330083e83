/**
 * Which server errors describe the server rather than the data: a restore that stops on one of
 * them says nothing about the backup, and a table that cannot be read because of one has not
 * been shown to differ. Pure: SQLSTATEs and messages in, verdicts and hints out.
 */

/**
 * SQLSTATE classes of the environment: 08 connection exception, 53 insufficient resources (disk
 * full, out of memory, too many connections), 57 operator intervention (shutdown, cancelled by a
 * timeout, database dropped), 58 system error (an I/O error, a file such as an extension's control
 * file that is not there), XX internal error (the server's own failure, data corruption).
 */
const ENVIRONMENT_CLASSES = new Set(['08', '53', '57', '58', 'XX'])

/** 55P03 lock_not_available: another session holds a lock longer than Lazarus waits. */
export const LOCK_NOT_AVAILABLE = '55P03'
/** 42501 insufficient_privilege: the role restoring lacks a right the dump's statements need. */
const INSUFFICIENT_PRIVILEGE = '42501'

/** True for a SQLSTATE that blames the server or its setup (or another session's lock), not the data. */
export function isEnvironmentSqlState(code: string | undefined): boolean {
  if (!code || !/^[0-9A-Z]{5}$/.test(code)) return false
  return ENVIRONMENT_CLASSES.has(code.slice(0, 2)) || code === LOCK_NOT_AVAILABLE
}

/**
 * True when a restore that stopped on this SQLSTATE failed because of the clean room: its
 * environment, or a clean-room role without a privilege the dump's statements need (restored by
 * the right role, the same dump would load).
 */
export function blamesCleanroom(code: string): boolean {
  return isEnvironmentSqlState(code) || code === INSUFFICIENT_PRIVILEGE
}

/** What to do about an environment error the clean room raised during a restore. */
export function cleanroomHint(code: string, message: string): string {
  if (/extension control file|could not access file "\$libdir/i.test(message)) {
    return 'the clean room lacks an extension or library that production uses: use a clean-room server (image) that ships it'
  }
  if (code === INSUFFICIENT_PRIVILEGE) {
    return 'the clean-room role lacks a privilege the restore needs: use a role that has it (a superuser restores any dump)'
  }
  if (code === '53100' || /No space left on device/i.test(message)) return 'free disk space on the clean-room server'
  if (code.startsWith('53')) return 'give the clean-room server more resources (memory, max_connections)'
  if (code === '57014')
    return 'a timeout on the clean room cancelled the statement: raise statement_timeout for the clean-room role'
  if (code.startsWith('57') || code.startsWith('08'))
    return 'check that the clean-room server stays up: its log says why it ended the session'
  return "check the clean-room server's log"
}

/** Splits "ERROR:  53100: could not extend file" (psql's verbose form) into code and message. */
export function parseVerboseError(line: string): { code: string; message: string } | undefined {
  const match = /\b(?:ERROR|FATAL|PANIC):\s+([0-9A-Z]{5}):\s+(.*)$/.exec(line)
  return match ? { code: match[1], message: match[2] } : undefined
}

/**
 * psql's verbose error output as a person reads it: without the SQLSTATE after the severity and
 * without the LOCATION lines (the server's source file), which verbose mode adds.
 */
export function withoutVerboseDetail(stderr: string): string {
  return stderr
    .split('\n')
    .filter(line => !/^LOCATION:\s/.test(line))
    .map(line => line.replace(/\b(ERROR|FATAL|PANIC|WARNING|NOTICE|DETAIL|HINT):(\s+)[0-9A-Z]{5}:\s+/, '$1:$2'))
    .join('\n')
}
