import { lastLine } from '../../util/errors.js'
import type { DumpRestoreRequest, EngineShapes, Sanitizer, StreamOutcome } from '../types.js'
import { describe, type MysqlTarget } from './connection.js'
import { cleanroomClientError } from './fault-classes.js'
import type { MysqlTable } from './figure-queries.js'
import type { MysqlSanitizer } from './sanitizer.js'
import { streamDumpToRestore, type MysqlClientTools } from './tools.js'

/**
 * MySQL's side of the seam's stream (engines/types.ts streamDumpToRestore): the run's request as
 * tools.ts's stream takes it. The dump starts its own consistent snapshot under the run's lock
 * (the request's snapshot id is not for it), there is no location check to run first, and the
 * stream runs in the sanitizer's own directory, whose marker tells when the dump's snapshot began.
 */

interface StreamShapes extends EngineShapes {
  target: MysqlTarget
  table: MysqlTable
  tools: MysqlClientTools
}

export async function streamForRun(request: DumpRestoreRequest<StreamShapes>): Promise<StreamOutcome> {
  const sanitizer = own(request.sanitizer)
  let outcome: StreamOutcome
  try {
    // One script runs the dump and the restore together: it starts once the scratch database is
    // ready (the run created it before taking the lock: Engine.snapshotHoldsWriters).
    await request.restoreTargetReady
    outcome = await streamDumpToRestore({
      tools: request.tools,
      production: request.production,
      restoreInto: request.restoreInto,
      sanitizer: sanitizer.program,
      workDir: sanitizer.workDir,
      keepDumpAt: sanitizer.copyFile,
      onDumpSnapshotStarted: request.onDumpSnapshotStarted
    })
  } catch (error) {
    request.onDumpEnded(false)
    throw error
  }
  // The script tells when the whole stream ended, the dump's end with it.
  request.onDumpEnded(outcome.stages.find(stage => stage.stage === 'dump')?.exitCode === 0)
  return judged(outcome, request.restoreInto)
}

/**
 * A failed stream, told apart: the client stopping on the dump is the backup's failure (its last
 * line is MySQL's error), unless the clean room is to blame (fault-classes.ts: a lost connection,
 * a full disk, a missing right, a killed client); that, and any other program's failure (the
 * dump, sed, a construct the sanitizer refused, the copy of the dump), is a fault of the run's,
 * raised rather than judged.
 */
export function judged(outcome: StreamOutcome, restoreInto: MysqlTarget): StreamOutcome {
  if (outcome.ok || outcome.fault) return outcome
  const failed = outcome.stages.find(stage => stage.exitCode !== 0)
  if (failed?.stage === 'restore') {
    // The clean room's failure (a lost or refused connection, a full disk, a missing right) says nothing of the dump.
    const where = `the clean room (${describe(restoreInto)}, '${restoreInto.inputName}')`
    const cleanroom = cleanroomClientError(failed.exitCode, failed.stderr, where)
    if (cleanroom) return { ...outcome, fault: cleanroom }
    return { ...outcome, restoreError: lastLine(failed.stderr) || 'the restore failed' }
  }
  const fault = new Error(failed ? `${failed.stage} (${failed.program}) failed: ${lastLine(failed.stderr)}` : 'the stream failed')
  return { ...outcome, fault }
}

/** The run hands back the sanitizer this engine built (sanitizer.ts): its program runs in its own directory. */
function own(sanitizer: Sanitizer): MysqlSanitizer {
  if (!('workDir' in sanitizer) || typeof sanitizer.workDir !== 'string')
    throw new Error("MySQL's stream runs its own sanitizer, in the directory it was built for")
  return sanitizer as MysqlSanitizer
}
