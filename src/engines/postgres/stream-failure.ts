import * as path from 'node:path'
import type { UserError } from '../../util/errors.js'
import type { DirectoryStreamOutcome } from './directory-stream.js'
import { diskFullError, type KeepBackup } from './pg-tools.js'

/**
 * What a failed fresh stream (stream.ts) means beyond the backup, for the seam's neutral outcome:
 * whether pg_dump lost production's exported snapshot (the run's own session then says why), and
 * the failure that is not the backup's (a full disk, a server), which the run raises as it is.
 */

/** pg_dump's error when the transaction that exported the snapshot has ended. */
const SNAPSHOT_GONE = /could not import the requested snapshot|invalid snapshot identifier/

type Failed = DirectoryStreamOutcome & { ok: false }

/** pg_dump could not take the snapshot because the exporting transaction ended (a lock, a lost connection). */
export function lostSnapshot(outcome: Failed): boolean {
  return outcome.stage === 'dump' && SNAPSHOT_GONE.test(outcome.error)
}

/**
 * The failure that is not the backup's, in the order it is weighed: the kept backup's full disk
 * (it lies outside the work directory: its fix is its own), a server's or the setup's failure,
 * then any program's but psql's (sed's copy of the dump filling the disk, named). Undefined when
 * psql stopped on the dump: that is the backup's, judged by the run.
 */
export function streamFault(outcome: Failed, keep: KeepBackup | undefined, copyFile: string | undefined): Error | undefined {
  const keptFull = keep && keptBackupDiskFull(outcome, keep)
  if (keptFull) return keptFull
  if (outcome.environmentError) return outcome.environmentError
  if (outcome.stage !== 'restore') {
    return (copyFile && diskFullError(outcome.error, 'sed', 'the copy of the dump', copyFile)) || new Error(outcome.error)
  }
  return undefined
}

/** The error for a restore point that filled its disk (tee or pg_dump writing it), naming where. */
function keptBackupDiskFull(outcome: Failed, point: KeepBackup): UserError | undefined {
  if (outcome.stage !== 'keep' && outcome.stage !== 'dump') return undefined
  const program = outcome.stage === 'keep' ? 'tee' : 'pg_dump'
  const where = point.persistent ? `input 'backup-dir'` : 'RUNNER_TEMP (upload-dump keeps the backup there until it is uploaded)'
  return diskFullError(
    outcome.error,
    program,
    'the kept backup',
    point.format === 'directory' ? path.join(point.path, 'toc.dat') : point.path,
    `A restore point needs room for the whole backup: free disk space there, or point ${where} at a volume with room for it.`
  )
}
