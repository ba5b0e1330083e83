import * as fs from 'node:fs'
import * as path from 'node:path'
import { messageOf } from '../../util/errors.js'
import type { DumpRestoreRequest, RestoreFileRequest, EngineShapes, StageOutcome, StreamOutcome } from '../types.js'
import type { KeptFormat } from './backup-format.js'
import type { ConnectionTarget } from './connection.js'
import { ownSession } from './database.js'
import type { TableRef } from './figure-queries.js'
import { ownFilter } from './sanitizer.js'
import { dumpAndRestoreDirectory, type DirectoryStreamOutcome } from './directory-stream.js'
import { failurePlace, tocEntryInFile } from './failure-place.js'
import {
  DEFAULT_FAULT_LIMITS,
  diskFullError,
  restoreDump,
  streamDumpIntoRestore,
  writeWorkFile,
  type ClientTools,
  type FaultLimits,
  type StreamOptions,
  type WorkFile
} from './pg-tools.js'
import { replayPrivileges, splitPrivileged, type PrivilegeReplay } from './privileged-pass.js'
import { tocEntryAt } from './restore-failure.js'
import { sedFilter } from './sed.js'
import { lostSnapshot, streamFault } from './stream-failure.js'
import { tocLines } from './stored-restore.js'

/**
 * PostgreSQL's side of the seam's stream (engines/types.ts streamDumpToRestore, restoreDumpFile),
 * over pg-tools.ts. The neutral request says what every engine's stream does; what only
 * PostgreSQL's does travels in its own shapes (`options`): pg_dump joins the snapshot production's
 * session exported, psql waits at a gate until its scratch database exists and admits the restore
 * role, runs the location check first, and a restore point is kept in its format as the same
 * pg_dump run is restored (a directory-format one dumped in parallel, then restored in sections).
 * How it ended comes back neutral, with PostgreSQL's own account in `detail`.
 */

/**
 * What only PostgreSQL's fresh stream takes (PostgresDumpRestoreRequest's `options`): pg-tools.ts's
 * StreamOptions as the run gives them (the work files of the script are the stream's own), plus
 * what the sectioned restore of a directory-format backup and a failed restore's place need.
 */
export type PostgresStreamOptions = Pick<
  StreamOptions,
  | 'snapshot'
  | 'productionTakesOptions'
  | 'restoreTargetReady'
  | 'checkFile'
  | 'onDumpEnded'
  | 'keep'
  | 'limits'
  | 'workFiles'
  | 'exclusiveLocks'
> & {
  /** Dump owners and privileges: only when the clean room has every role they name (cleanroom-roles.ts). */
  withOwnersAndPrivileges: boolean
  /**
   * The sanitizer's argv for the n-th pipeline (from 2) of a directory-format backup's sectioned
   * restore: each pipeline records what it removed in files of its own. Needed with keep.format directory.
   */
  sanitizerFor?: (pipeline: number) => string[]
  /** Pipelines of a directory-format backup's sectioned restore (one when the dump is kept: keepDumpAt). */
  jobs: number
  /** Production's database encoding: the dump's, in which the names of where a failed restore stopped are written. */
  encoding: string
  /** The line index the sanitizer writes (SanitizeRuleOptions.linesFile): where a failed restore stopped is found in it. */
  linesFile?: string
}

/** What only PostgreSQL's restore of a kept dump takes (RestoreFileRequest's `options`). */
export interface PostgresRestoreOptions {
  /** The SQL psql runs first, which stops it unless it is where Lazarus checked. */
  checkFile: string
  /** Production's database encoding: the dump's, in which the names of where a failed restore stopped are written. */
  encoding: string
  limits?: FaultLimits
  /**
   * The dump's ownership and privilege statements are split out of the restore and replayed
   * afterwards (privileged-pass.ts), by the clean room's own role at `as` (the scratch database
   * as the clean-room role, not the restore role).
   */
  replay?: { plan: PrivilegeReplay; as: ConnectionTarget }
}

/** PostgreSQL's account of a stream (StreamOutcome's `detail`): pg-tools.ts's, with a sectioned restore's TOC. */
export type PostgresStreamDetail = DirectoryStreamOutcome

/** The seam's shapes the stream reads: PostgreSQL's targets, tables, programs and options. */
interface StreamShapes extends EngineShapes {
  target: ConnectionTarget
  table: TableRef
  tools: ClientTools
  restoreOptions: PostgresRestoreOptions
  streamDetail: PostgresStreamDetail
}

/** A fresh stream as PostgreSQL's stream takes it: the sed program as text, and its own options. */
export interface PostgresDumpRestoreRequest {
  tools: ClientTools
  production: ConnectionTarget
  restoreInto: ConnectionTarget
  /** The sed program (sanitize-rules.ts), written into the work directory as sanitize.sed. */
  sanitizer: string
  workDir: string
  /** The copy of the sanitized dump the program writes (its copyFile), named so that a full disk names it. */
  keepDumpAt?: string
  onDumpSnapshotStarted(): Promise<void>
  options: PostgresStreamOptions
}

/**
 * The run's request (engines/types.ts DumpRestoreRequest) as PostgreSQL's stream takes it: pg_dump
 * joins the snapshot production's session exported, and takes startup options unless a pooler
 * stands in front of production; psql runs the location check first and waits at the gate until
 * its database is ready; the sanitizer is the run's sed filter (sanitizer.ts), each further
 * pipeline of a sectioned restore with its own files.
 */
export function streamForRun(
  request: DumpRestoreRequest<StreamShapes>
): Promise<StreamOutcome<PostgresStreamDetail> & { detail: PostgresStreamDetail }> {
  const filter = ownFilter(request.sanitizer)
  const exporter = ownSession(request.snapshot.session)
  // psql runs the location check first (Engine.locationCheck): never a restore without it.
  if (!request.checkFile) throw new Error("PostgreSQL's restore needs its location check")
  return streamDumpToRestore({
    tools: request.tools,
    production: request.production,
    restoreInto: request.restoreInto,
    sanitizer: filter.program,
    workDir: request.workDir,
    // The drill's copies are made from the sanitizer's copy of the stream (then one pipeline restores a directory).
    keepDumpAt: filter.copyFile,
    onDumpSnapshotStarted: request.onDumpSnapshotStarted,
    options: {
      checkFile: request.checkFile,
      productionTakesOptions: !exporter.viaPooler,
      snapshot: request.snapshot.id,
      restoreTargetReady: request.restoreTargetReady,
      onDumpEnded: request.onDumpEnded,
      withOwnersAndPrivileges: request.withOwnersAndPrivileges,
      keep: request.keep && { ...request.keep, format: request.keep.format as KeptFormat },
      sanitizerFor: pipeline => filter.argvFor(pipeline),
      jobs: request.jobs,
      limits: request.limits,
      encoding: request.defaults.characterSet,
      linesFile: filter.linesFile,
      workFiles: filter.files,
      exclusiveLocks: () => exporter.exclusiveLocks()
    }
  })
}

/** A kept dump's restore needs psql only (a stored backup's run has no pg_dump). */
interface RestoreShapes extends EngineShapes {
  target: ConnectionTarget
  tools: Pick<ClientTools, 'psql'>
  restoreOptions: PostgresRestoreOptions
  streamDetail: PostgresStreamDetail
}

/** The programs that record their end, in the order the report names them. */
const STAGES = ['dump', 'keep', 'convert', 'sanitize', 'restore'] as const

/**
 * pg_dump | [tee | pg_restore] | sed | psql, streamed from production's exported snapshot into the
 * scratch database (pg-tools.ts streamDumpIntoRestore); a directory-format restore point is dumped
 * in parallel and then restored in sections (directory-stream.ts). The sanitizer is the sed
 * program `request.sanitizer` (written into the work directory as sanitize.sed); the kept copy
 * of the dump (`keepDumpAt`) is one that program writes (sanitize-rules.ts copyFile), named here
 * so that a full disk names it, and with it a sectioned restore runs one pipeline, whose copy is
 * whole and in order. Throws when the restore target could not be made ready, or psql was not
 * where it was checked; a failure of production or the clean room rather than of the backup is
 * the detail's `environmentError`.
 */
export async function streamDumpToRestore(
  request: PostgresDumpRestoreRequest
): Promise<StreamOutcome<PostgresStreamDetail> & { detail: PostgresStreamDetail }> {
  const options = request.options
  const file = (name: string) => path.join(request.workDir, name)
  const programFile = file('sanitize.sed')
  writeWorkFile(programFile, request.sanitizer, 'the sanitizer (a sed program)')
  const filter = await sedFilter(programFile)
  const workFiles: Record<string, WorkFile> = {
    ...options.workFiles,
    ...(request.keepDumpAt ? { [request.keepDumpAt]: { what: 'the copy of the dump', dumpSized: true } } : {})
  }
  let told = false
  const onDumpEnded = (succeeded: boolean) => {
    options.onDumpEnded?.(succeeded)
    // pg_dump read the exported snapshot, which production's session holds: nothing is released
    // early, and the seam's signal is given once pg_dump has ended, the latest it can matter.
    if (!told) void request.onDumpSnapshotStarted().catch(() => undefined)
    told = true
  }
  const streamOptions = {
    checkFile: options.checkFile,
    productionTakesOptions: options.productionTakesOptions,
    snapshot: options.snapshot,
    filter,
    statusFile: file('stream-status'),
    bytesFile: file('stream-bytes'),
    scriptFile: file('stream.sh'),
    gateFile: file('stream-gate'),
    restoreTargetReady: options.restoreTargetReady,
    onDumpEnded,
    withOwnersAndPrivileges: options.withOwnersAndPrivileges,
    keep: options.keep,
    limits: options.limits,
    workFiles,
    exclusiveLocks: options.exclusiveLocks
  }
  const keep = options.keep
  let detail: PostgresStreamDetail
  if (keep?.format === 'directory') {
    const sanitizerFor = options.sanitizerFor
    if (!sanitizerFor) throw new Error("a directory-format backup's sectioned restore needs the sanitizer of each pipeline")
    detail = await dumpAndRestoreDirectory(request.tools, request.production, request.restoreInto, {
      ...streamOptions,
      keep: { ...keep, format: 'directory' },
      filter: pipeline => (pipeline <= 1 ? filter : sanitizerFor(pipeline)),
      jobs: options.jobs,
      single: request.keepDumpAt !== undefined,
      workDir: request.workDir
    })
  } else {
    detail = await streamDumpIntoRestore(request.tools, request.production, request.restoreInto, streamOptions)
  }
  const failedAt = !detail.ok && detail.stage === 'restore' ? await placeOf(detail, options) : undefined
  const outcome = neutralOutcome(request.tools, detail, failedAt)
  if (detail.ok) return outcome
  const fault = streamFault(detail, keep, request.keepDumpAt)
  return { ...outcome, ...(fault ? { fault } : {}), ...(lostSnapshot(detail) ? { snapshotLost: true } : {}) }
}

/** Where a failed stream's restore stopped: in a sectioned restore's TOC, or in the sanitizer's line index. */
async function placeOf(
  detail: PostgresStreamDetail & { ok: false },
  options: PostgresStreamOptions
): Promise<string | undefined> {
  const tocFile = detail.tocFile
  if (tocFile) return failurePlace(detail.error, options.encoding, line => tocEntryAt(tocLines({ tocFile }), line))
  const linesFile = options.linesFile
  return linesFile && failurePlace(detail.error, options.encoding, line => tocEntryInFile(linesFile, line))
}

/** The seam's neutral outcome of PostgreSQL's: each program that ran, the failed one's error as what it said. */
function neutralOutcome(
  tools: ClientTools,
  detail: PostgresStreamDetail,
  failedAt: string | undefined
): StreamOutcome<PostgresStreamDetail> & { detail: PostgresStreamDetail } {
  const programs: Record<(typeof STAGES)[number], string> = {
    dump: tools.pgDump.path,
    keep: 'tee',
    convert: tools.pgRestore?.path ?? 'pg_restore',
    sanitize: 'sed',
    restore: tools.psql.path
  }
  const failed = detail.ok ? undefined : detail.stage
  const stages: StageOutcome[] = STAGES.filter(stage => detail[stage] !== undefined || stage === failed).map(stage => ({
    stage,
    program: programs[stage],
    exitCode: stage === failed ? detail[stage]?.exitCode || 1 : (detail[stage]?.exitCode ?? null),
    stderr: stage === failed && !detail.ok ? detail.error : ''
  }))
  const seconds = Object.fromEntries(STAGES.flatMap(stage => (detail[stage] ? [[stage, detail[stage].seconds]] : [])))
  return {
    ok: detail.ok,
    stages,
    dumpBytes: detail.dumpBytes ?? 0,
    seconds,
    ...(detail.startedAt !== undefined ? { startedAt: detail.startedAt } : {}),
    ...(detail.restoreStartedAt !== undefined ? { restoreStartedAt: detail.restoreStartedAt } : {}),
    ...(failedAt ? { failedAt } : {}),
    // psql stopped on the dump: its error, whole, is the verdict's (the stream's fault, if any, says when it is not the backup's).
    ...(!detail.ok && detail.stage === 'restore' ? { restoreError: detail.error } : {}),
    detail
  }
}

/**
 * Restores a kept sanitized dump into a scratch database with psql (pg-tools.ts restoreDump:
 * the location check first, ON_ERROR_STOP), as it is: a drill's copy comes already rewritten
 * (run/drill-copies.ts, drill/rewrite.ts). With `options.replay` the ownership and privilege
 * statements are split out and replayed afterwards as the clean-room role. A failed restore is
 * `ok: false` with psql's error and where it stopped; a failure that is not the backup's (the
 * clean room's, a misplaced psql) is thrown, but for a full disk while the statements are split
 * out, which is the outcome's `fault`.
 */
export async function restoreDumpFile(request: RestoreFileRequest<RestoreShapes>): Promise<StreamOutcome<PostgresStreamDetail>> {
  const options = request.options
  if (!options) throw new Error("PostgreSQL's restore needs its options: the location check and the dump's encoding")
  const started = performance.now()
  const file = request.file
  const replay = options.replay
  const routedFile = `${file}.privileged.sql`
  const restoredFile = replay ? `${file}.unprivileged.sql` : file
  const scriptFile = `${file}.replay.sql`
  try {
    if (replay) {
      try {
        await splitPrivileged(file, restoredFile, routedFile, replay.plan.onlyNaming)
      } catch (error) {
        // The copy without its ownership and privilege statements is as large as the dump: a full
        // disk there is the runner's, not the backup's (the outcome's fault, which the run raises).
        const full = diskFullError(
          messageOf(error),
          'Lazarus',
          'a copy of the dump without its owners and privileges',
          restoredFile
        )
        if (!full) throw error
        return {
          ok: false,
          stages: [{ stage: 'restore', program: request.tools.psql.path, exitCode: null, stderr: '' }],
          dumpBytes: fs.statSync(file).size,
          fault: full
        }
      }
    }
    let restored = await restoreDump(request.tools, request.restoreInto, restoredFile, options.checkFile, options.limits)
    // psql's line numbers are those of the file it read: with the ownership and privilege
    // statements split out, not the dump's. A failed replay has no place in the dump at all.
    const failedAt = restored.ok
      ? undefined
      : await failurePlace(restored.error, options.encoding, line => tocEntryInFile(restoredFile, line))
    if (replay && restoredFile !== file) fs.rmSync(restoredFile, { force: true })
    if (restored.ok && replay) {
      restored = await replayPrivileges(
        request.tools,
        replay.as,
        { routed: [routedFile], script: scriptFile, check: options.checkFile },
        replay.plan,
        options.limits ?? DEFAULT_FAULT_LIMITS
      )
      if (!restored.ok) restored = { ok: false, error: `the owners and privileges did not replay: ${restored.error}` }
    }
    const seconds = (performance.now() - started) / 1000
    return {
      ok: restored.ok,
      stages: [
        {
          stage: 'restore',
          program: request.tools.psql.path,
          exitCode: restored.ok ? 0 : 1,
          stderr: restored.ok ? '' : restored.error
        }
      ],
      dumpBytes: fs.statSync(file).size,
      seconds: { restore: seconds },
      ...(failedAt ? { failedAt } : {}),
      // psql stopped on the copy (or its owners did not replay): the verdict's words, as the fresh stream's.
      ...(restored.ok ? {} : { restoreError: restored.error })
    }
  } finally {
    for (const extra of [routedFile, `${file}.unprivileged.sql`, scriptFile]) fs.rmSync(extra, { force: true })
  }
}
