import * as core from '@actions/core'
import type { CheckAnswer, CompareOptions } from '../verification/check-answers.js'
import { answerChecks, sampleRowsFor, verifyChecks } from '../verification/checks.js'
import { RunContext, writeLocationCheck } from './run-context.js'
import { compareTables, type SideFigures, type TableComparison } from '../verification/compare.js'
import { tableKey, type TableName } from '../util/table-name.js'
import { UserError, withHint } from '../util/errors.js'
import type {
  AmcheckResult,
  DatabaseDefaults,
  Engine,
  KeptProduction,
  OwnersPlan,
  PrivilegeReplay,
  RestoreRights,
  RestoreRoleMode,
  Sanitizer,
  SchemaObject,
  SchemaObjectDifference,
  SeamSession,
  ServerFacts,
  StreamOutcome,
  TableTraits
} from '../engines/types.js'
import type { ManifestFile } from '../report/manifest.js'
import { mapPool } from '../util/pool.js'
import { logVerification, pinDifferingTables } from './copy-findings.js'
import { checkServers } from './server-checks.js'
import { beginProductionSnapshot, elapsed, onTimeline, recordStream, refuseProductionSkew } from './snapshot-stream.js'
import { Counter, reportProgress } from './progress.js'
import { judgeRestoreFailed, judgeVerified, type CopyVerification as VerificationOf, type Report } from '../report/report.js'
import { runDrill, type CopyContext } from './drill-copies.js'
import {
  createRestorePoint,
  discardRestorePoint,
  finishRestorePoint,
  hashRestorePoint,
  restorePointsOf,
  writeManifest,
  type RestorePoint
} from './restore-point.js'
import { LAZARUS_VERSION } from '../util/version.js'
import { compareSequences, type SequenceValue } from '../verification/sequence-check.js'
import { byKindAndName } from '../util/text-order.js'
import { requireProduction, type ProductionSettings, type Settings } from './settings.js'
import { saveWorkDir } from '../util/leftovers.js'
import { formatBytes } from '../util/bytes.js'
import type { Workspace } from './workspace.js'

/**
 * The verification of a backup, for every engine: the run asks the engine its run chose
 * (engines/types.ts Engine) for what only the engine knows, and its optional capabilities for what
 * only some engines do (`if (engine.largeObjects)`).
 */

/** A context for one run (a fresh dump, a stored backup), over the engine its settings chose. */
export function runContext<S extends Settings>(settings: S, workspace: Workspace, report: Report): RunContext<S> {
  return new RunContext<S>(settings.engine, settings, workspace, report)
}

/** What verifying a restored copy found. */
export type CopyVerification = VerificationOf<SchemaObjectDifference>

/**
 * Production's side of the comparison, as plain data: what the report, the manifest and a later
 * verification read. The live session that took it stays apart (in the run's context, RunContext,
 * and verifyRestored's `live`): nothing that outlives the run holds a connection.
 */
export interface ProductionSnapshot extends ProductionSide {
  /** What the drill needs to corrupt copies that still restore (Engine.readDrillCatalog); only read when a drill runs. */
  drillCatalog?: unknown
}

/** Where tests may act on a run from inside: never set by the action itself. */
export interface RunHooks {
  /** Called with the restored copy (the engine's target) once it is verified, before amcheck checks it. */
  beforeAmcheck?: (restored: unknown) => Promise<void>
}

/**
 * One verification run of a fresh dump, for every engine: check the servers and the client
 * programs → create a marked scratch database → take production's snapshot → dump | sanitize |
 * restore, streamed, while production's side is read inside the snapshot → verify the restored
 * copy (figures, schema, counters, rows pinned by key, the user's checks) → the verdict → keep the
 * restore point → the drill (each operator on its own copy of the dump) → cleanup, always. Fills
 * `report` as it goes, so that a failure part way still reports everything established before it.
 */
export async function verifyBackup(
  givenSettings: Settings,
  workspace: Workspace,
  report: Report,
  hooks: RunHooks = {}
): Promise<void> {
  const settings = requireProduction(givenSettings, 'to dump production')
  const context = runContext(settings, workspace, report)
  // The URLs alone: a clean room that is production by its address is refused before anything connects.
  context.engine.assertSeparateTargets(settings.production, settings.cleanroom)
  saveWorkDir(workspace.workDir)
  await context.connectProduction()
  // The restore point this run keeps (backup-dir, upload-dump), and whether it was kept whole.
  const keeping: Keeping = { kept: false }
  // A failed or cancelled run leaves no partial restore point behind.
  await context.run(
    () => runStages(context, hooks, keeping),
    () => {
      if (keeping.point && !keeping.kept) discardRestorePoint(keeping.point)
    }
  )
}

/** Writes the manifest (signed with signing-key) beside the kept backup and records it in the report. */
function keepRestorePoint(
  context: RunContext<ProductionSettings>,
  point: RestorePoint,
  files: ManifestFile[],
  { tools, production, snapshot }: { tools: unknown; production: KeptProduction; snapshot: ProductionSnapshot }
): void {
  const { settings, report } = context
  const restorePoints = restorePointsOf(context.engine)
  const withOwners = snapshot.privileges !== undefined
  const compression = restorePoints.describeCompression(point)
  const manifest = writeManifest(
    point,
    {
      createdAt: new Date(),
      lazarusVersion: LAZARUS_VERSION,
      result: report.result,
      cleanroomServerVersion: report.cleanroom.serverVersion,
      production: {
        server: context.engine.describe(settings.production),
        serverVersion: production.serverVersion,
        serverVersionNum: production.serverVersionNum,
        systemIdentifier: production.systemIdentifier,
        startedAt: production.startedAt,
        database: settings.productionAddress.database,
        ...production.database
      },
      snapshotTakenAt: production.snapshotTakenAt.toISOString(),
      dump: restorePoints.keptDump(point, tools, {
        withOwnersAndPrivileges: withOwners,
        lockTimeoutSeconds: settings.lockTimeoutSeconds
      }),
      files,
      verify: settings.verify,
      tables: snapshot.tables.map(table => restorePoints.keptTable(table)),
      figures: snapshot.figures,
      schema: snapshot.schema,
      privileges: snapshot.privileges,
      largeObjects: snapshot.largeObjects,
      sequencesBefore: snapshot.sequencesBefore,
      sequencesAfter: snapshot.sequencesAfter,
      checks: { definitions: settings.checks, answers: snapshot.checks, showValues: settings.showValues }
    },
    restorePoints.manifest,
    settings.signingKey
  )
  const bytes = files.reduce((sum, file) => sum + file.bytes, 0)
  const finished = finishRestorePoint(point)
  report.restorePoint = {
    backupPath: point.persistent ? finished.backupPath : '',
    manifestPath: point.persistent ? finished.manifestPath : '',
    directory: point.directory,
    format: point.format,
    bytes,
    files: files.length,
    signed: manifest.signature !== undefined,
    kept: point.persistent
  }
  const signed = manifest.signature ? `, signed (key sha256 ${manifest.signature.publicKeySha256.slice(0, 16)}…)` : ''
  if (point.persistent) {
    core.info(
      `Kept the ${point.format}-format backup at ${finished.backupPath} (${formatBytes(bytes)}, compression ${compression}), ` +
        `manifest ${finished.manifestPath}${signed}.`
    )
  }
  if (report.result !== 'verified') {
    core.warning(
      `The kept backup did not verify: its manifest records '${report.result}'. Do not rely on it as a restore point.`,
      {
        title: 'Lazarus: kept backup not verified'
      }
    )
  }
}

/**
 * The restore point this run keeps: backup-dir keeps one; upload-dump uploads one (from the
 * workspace without backup-dir); none otherwise. Its format and compression are the inputs', read
 * by the engine's restore points (settings.ts; an engine without them refuses those inputs).
 */
function restorePointOf(context: RunContext<ProductionSettings>): RestorePoint | undefined {
  const { settings, workspace, engine } = context
  if (settings.backupDir === undefined && !settings.uploadDump) return undefined
  const restorePoints = restorePointsOf(engine)
  const format = restorePoints.formats.find(known => known === settings.backupFormat)
  if (format === undefined)
    throw new Error(`backup-format '${settings.backupFormat}' was not read by ${engine.name}'s restore points`)
  return createRestorePoint(restorePoints, {
    backupDir: settings.backupDir,
    workDir: workspace.workDir,
    database: settings.productionAddress.database,
    format,
    compression: settings.backupCompression,
    jobs: settings.jobs,
    time: new Date()
  })
}

/** Who restores (input restore-role), as settings.ts read it against the engine's modes: one of them. */
export function restoreRoleOf(context: RunContext): RestoreRoleMode {
  const { settings, engine } = context
  const mode = engine.ownersAndPrivileges?.restoreRoleModes.find(known => known === settings.restoreRole)
  if (mode === undefined)
    throw new Error(`restore-role '${settings.restoreRole}' was not read by ${engine.name}'s clean-room roles`)
  return mode
}

/** The restore point a run keeps, shared with its cancellation and cleanup. */
interface Keeping {
  point?: RestorePoint
  kept: boolean
}

/** The stages after connecting: check, stream, verify, keep, drill. */
async function runStages(context: RunContext<ProductionSettings>, hooks: RunHooks, keeping: Keeping): Promise<void> {
  const { settings, workspace, report, cleanroom, group, engine } = context
  const production = context.production!
  const servers = await group('Check servers and client tools', () => checkServers(context))
  const { tools } = servers
  const owners = engine.ownersAndPrivileges
  if (owners) recordRestoreRights(await owners.setUpRestoreRights(cleanroom.roles, restoreRoleOf(context)), report)
  const backupFile = workspace.backupFile
  // The drill reads the sanitized backup again afterwards; otherwise it never lands on disk.
  const keepCopy = settings.sabotage.length > 0
  const point = (keeping.point = restorePointOf(context))
  const defaults = await production.databaseDefaults()
  // Its tables are reported under production's database name, where the engine names tables by database.
  const restoreTarget = context.scratchTarget('backup', settings.productionAddress.database)
  // CREATE DATABASE waits for a checkpoint (PostgreSQL 14 and older): meanwhile the sanitizer is
  // built and the dump starts, while the restore waits for the database at the stream's gate.
  const created = context.createScratchDatabase('backup', defaults)
  const exists = created.then(
    () => true,
    () => false
  )
  let verification: CopyVerification
  let snapshot: ProductionSnapshot
  let kept: KeptProduction | undefined
  let hashing: Promise<ManifestFile[]> | undefined
  try {
    // An unprivileged restore leaves the dump's ownership and privilege statements to the clean-room
    // role; otherwise those naming a predefined role the clean room lacks go (the capability's routedStatements).
    const routing = owners
      ? await owners.routedStatements(cleanroom.roles, cleanroom.maintenance, workspace.file('privileged.sql'))
      : {}
    const sanitizer = await engine.sanitizer.build(cleanroom.maintenance, {
      tools,
      workFile: name => workspace.file(name),
      production,
      copyFile: keepCopy ? backupFile : undefined,
      linesFile: workspace.file('stream-lines'),
      ...routing
    })
    context.collationsRewritten = sanitizer.collationsRewritten
    const checkFile = engine.locationCheck
      ? writeLocationCheck(context, restoreTarget, workspace.file('restore-check.sql'))
      : undefined
    const streamed = await group("Dump, sanitize and restore (streamed), read production's figures", () =>
      streamFromSnapshot(context, {
        tools,
        sanitizer,
        target: restoreTarget,
        scratchName: cleanroom.scratchName('backup'),
        created,
        defaults,
        checkFile,
        keep: point,
        productionFacts: servers.production
      })
    )
    kept = streamed.kept
    if (streamed.restoreError !== undefined) {
      Object.assign(report, judgeRestoreFailed(streamed.restoreError, streamed.restoreFailedAt))
      if (point?.persistent) core.warning(`Nothing kept in ${settings.backupDir}: the backup does not restore.`)
      return
    }
    const replay = routing.routedFile ? streamed.replay : undefined
    if (
      replay &&
      !(await replayOwners(context, "the dump's", { tools, target: restoreTarget, filter: sanitizer, checkFile, replay }))
    )
      return
    // The kept files are whole: hashed (streamed) while the copy is verified.
    hashing = point && hashRestorePoint(point)
    verification = await group('Verify', async () => {
      const started = performance.now()
      const startedAt = Date.now() / 1000
      const result = await verifyRestored(context, restoreTarget, settings, streamed.production, 'restored', production)
      // Everything verification added after the restore, production's figures included.
      report.timings.verify = elapsed(started)
      onTimeline(report, 'Verify', startedAt, Date.now() / 1000)
      result.schema = withoutEnvironment(result.schema, report)
      logVerification(result, settings)
      return result
    })
    snapshot = await streamed.production
    if (settings.amcheck) {
      await hooks.beforeAmcheck?.(restoreTarget)
      report.amcheck = await group('amcheck on the restored copy', () =>
        amcheckRestored(context, restoreTarget, settings, report)
      )
    }
  } finally {
    if (await exists) await dropOrKeep(context, 'backup')
  }
  report.tables = verification.tables
  report.schema = verification.schema
  if (settings.checks.length > 0) report.checks = verification.checks
  Object.assign(report, judgeVerified(report))
  if (point && hashing && kept) {
    const files = await hashing
    const production = kept
    await group('Keep the restore point', async () => keepRestorePoint(context, point, files, { tools, production, snapshot }))
    keeping.kept = true
  }

  if (settings.sabotage.length === 0) return
  const drillStarted = performance.now()
  const drillStartedAt = Date.now() / 1000
  try {
    for (const operator of settings.sabotage) {
      report.sabotage.push(
        await group(`Sabotage drill: ${operator}`, () =>
          runDrill(operator, backupFile, drillContext(context, tools, settings, snapshot, defaults))
        )
      )
    }
  } finally {
    // The copy holds production's data: gone as soon as the drill is done with it.
    workspace.removeFile(backupFile)
    report.timings.drill = elapsed(drillStarted)
    onTimeline(report, 'Drill', drillStartedAt, Date.now() / 1000)
  }
}

/**
 * Replays owners and privileges on a restored copy, as the clean-room role, after an unprivileged
 * restore left them out (the engine's ownersAndPrivileges.replay): the statements the sanitizer
 * routed, with stand-ins for the roles the clean room must not lend. False, with the verdict given
 * (`restore-failed`, naming `whose` statements), when they do not replay.
 */
export async function replayOwners(
  context: RunContext,
  whose: "the dump's" | "the backup's",
  restored: {
    tools: unknown
    target: unknown
    filter: Sanitizer
    checkFile: string | undefined
    replay: PrivilegeReplay
  }
): Promise<boolean> {
  const { group, workspace, settings, report, engine } = context
  const { tools, target, filter, checkFile, replay } = restored
  // The replay runs in the restored copy as the clean-room role: where the restore's location check stops anything else.
  if (!checkFile) throw new Error(`${engine.name}'s replay of owners and privileges needs the restore's location check`)
  const replayed = await group('Replay owners and privileges (as the clean-room role)', () =>
    required(engine, 'ownersAndPrivileges').replay({
      tools,
      target,
      // Each of a directory's restore pipelines routed its own statements (in pipeline order).
      routed: filter.routedFiles(),
      script: workspace.file('privileged-replay.sql'),
      check: checkFile,
      replay,
      limits: settings
    })
  )
  if (!replayed.ok) Object.assign(report, judgeRestoreFailed(`${whose} owners and privileges did not replay: ${replayed.error}`))
  return replayed.ok
}

/**
 * The schema differences that are the backup's: an extension the clean room installs at another
 * version than production's is the servers' difference, already reported as such.
 */
function withoutEnvironment(schema: SchemaObjectDifference[], report: Report): SchemaObjectDifference[] {
  const environment = new Set((report.environment ?? []).map(difference => difference.name))
  return schema.filter(
    difference =>
      !(
        difference.kind === 'extension' &&
        difference.production !== null &&
        difference.restored !== null &&
        environment.has(unquoted(difference.name))
      )
  )
}

/** An identifier as quote_ident printed it, unquoted. */
function unquoted(name: string): string {
  return /^"(.*)"$/s.test(name) ? name.slice(1, -1).replace(/""/g, '"') : name
}

/** What the stream of a fresh dump gives the run: production's side (still being read), or why the backup does not restore. */
interface Streamed {
  /** Production's side, read inside the snapshot from the dump's end on; awaited by whoever verifies the copy. */
  production: Promise<ProductionSnapshot>
  restoreError?: string
  restoreFailedAt?: string
  /** How owners and privileges are replayed after the restore, when they are. */
  replay?: PrivilegeReplay
  /** What the manifest records of production, read inside the snapshot, when a restore point is kept. */
  kept?: KeptProduction
}

/**
 * Streams production's dump through the sanitizer into the restore while reading production's
 * side, all from one snapshot: production's figures describe exactly the data in the dump, even
 * while production keeps taking writes. Production's first session begins the snapshot and the
 * figure sessions join it (beginProductionSnapshot); the dump joins it too where the engine's dump
 * can (PostgreSQL's exported snapshot), or starts its own while the engine's brief global lock
 * holds every writer (MySQL), the lock released as soon as the dump's snapshot has begun, or,
 * while production holds tables no snapshot isolates, once production's side is read. Production's
 * catalog is read while the dump runs; its tables are counted and checksummed once the dump has
 * ended, so that on a machine that hosts both servers (service containers on a runner) the
 * checksums do not take CPU from the stream, and overlap the end of the restore instead.
 * Returns when the restore has ended: production's side may still be being read, so it comes as
 * a promise. A failed restore is returned as `restoreError`; a failed dump or sanitizer, a lost
 * snapshot, a fault of the servers, or a restore target that could not be created, throws.
 */
async function streamFromSnapshot(
  context: RunContext<ProductionSettings>,
  stream: {
    tools: unknown
    sanitizer: Sanitizer
    /** The scratch database the backup is restored into: where, and its name. */
    target: unknown
    scratchName: string
    /** Settles once the scratch database exists: the restore waits for it at the stream's gate. */
    created: Promise<unknown>
    defaults: DatabaseDefaults
    checkFile?: string
    keep?: RestorePoint
    /** Production's server as the checks before the dump read it: its identity for the manifest, its major for a failure's hint. */
    productionFacts: ServerFacts
  }
): Promise<Streamed> {
  const { settings, workspace, report, engine, cleanroom } = context
  const { tools, sanitizer, target, defaults } = stream
  const owners = engine.ownersAndPrivileges
  const exporter = context.production!
  // Production's writers never wait on the clean room: with a snapshot that holds them, the scratch
  // database exists before the snapshot begins (a failure to create it then takes no lock at all).
  if (engine.snapshotHoldsWriters) await stream.created
  const { id: snapshotId, tables, countersBefore, unisolated } = await beginProductionSnapshot(context, exporter)
  // Production's writers wait while the engine's snapshot lock is held (MySQL's): released once, said once.
  let released: Promise<void> | undefined
  const release = (): Promise<void> => {
    released ??= exporter.releaseSnapshotLock().then(seconds => {
      if (seconds === undefined) return
      report.snapshotLockSeconds = seconds
      const why = unisolated.length > 0 ? "the dump and production's figures are read" : "the dump's snapshot has begun"
      core.info(`Released production's snapshot lock after ${seconds.toFixed(2)} s: ${why}.`)
    })
    // Whoever calls it need not wait; the run awaits it once the stream has ended, and fails there.
    released.catch(() => undefined)
    return released
  }
  let streaming: Promise<StreamOutcome>
  let production: Promise<ProductionSnapshot>
  let replay: PrivilegeReplay | undefined
  let kept: KeptProduction | undefined
  const streamStarted = performance.now()
  try {
    kept = stream.keep && (await restorePointsOf(engine).keptProduction(exporter, stream.productionFacts.instance))
    await refuseProductionSkew(engine, exporter, sanitizer.cleanroomMajor, false)
    core.info(
      `Snapshot ${snapshotId}: ${tables.length} table(s) to count and checksum with ${context.productionSessions.length} ` +
        'session(s) once the dump has read them, while the restore goes on.'
    )
    await assertRestorableWithRights(context)
    // The roles the dump names, as of the snapshot: the restore needs each of them in the clean room.
    const roles = await planRoles(context)
    // GRANT and REVOKE are in the dump only when owners and privileges are restored.
    if (roles.restore) await refuseProductionSkew(engine, exporter, sanitizer.cleanroomMajor, true)
    replay = owners?.privilegeReplay(cleanroom.roles, roles, defaults.characterSet)
    // The restore starts once the database exists, holds every role the dump names, and admits the restore role.
    const restoreTargetReady = stream.created.then(() => owners?.prepareRestore(cleanroom.roles, target))
    // Awaited by the stream; should the run fail before it starts, nobody does.
    restoreTargetReady.catch(() => undefined)
    const stopProgress = reportProgress(async () =>
      engine.databaseBytes
        ? `Restore in progress: ${formatBytes(await engine.databaseBytes(target))} restored so far.`
        : `Dump and restore in progress (${elapsed(streamStarted).toFixed(0)} s).`
    )
    let dumpEnded!: (succeeded: boolean) => void
    const dumped = new Promise<boolean>(resolve => (dumpEnded = resolve))
    streaming = engine
      .streamDumpToRestore({
        tools,
        production: settings.production,
        snapshot: { session: exporter, id: snapshotId },
        restoreInto: owners ? owners.restoreTarget(cleanroom.roles, target) : target,
        restoreTargetReady,
        sanitizer,
        workDir: workspace.workDir,
        checkFile: stream.checkFile,
        withOwnersAndPrivileges: roles.restore,
        defaults,
        jobs: settings.jobs,
        limits: settings,
        keep: stream.keep,
        // Tables no snapshot isolates hold still only under the lock: it stays until production's side is read.
        onDumpSnapshotStarted: unisolated.length > 0 ? async () => undefined : release,
        onDumpEnded: dumpEnded
      })
      .finally(stopProgress)
    // How owners and privileges are replayed goes with production's side: the restored copy's
    // stand-ins are read back as the roles they play, and each drill copy replays them as well.
    const replaying = replay
    production = readProductionSide(context, {
      tables,
      countersBefore,
      owners: roles,
      dumped
    }).then(side => ({ ...side, replay: replaying }))
    // Awaited by whoever verifies the copy; on every other path nobody does.
    production.catch(() => undefined)
  } catch (error) {
    await exporter.releaseSnapshotLock().catch(() => undefined)
    throw error
  }
  let outcome: StreamOutcome
  try {
    outcome = await streaming
    // Under the lock still (tables no snapshot isolates): production's side is read before it goes.
    if (unisolated.length > 0 && outcome.ok) await production.catch(() => undefined)
  } finally {
    // A dump that ended before its snapshot began (an empty database, a failure) releases the lock too.
    await release().catch(() => undefined)
  }
  // A lock lost before its release fails the run: nothing then proves the dump saw the snapshot's data.
  await release()
  recordStream(context, outcome, { sanitizer, streamSeconds: elapsed(streamStarted) })
  // The byte count as the stream read it: none when its counter never ended.
  report.dumpBytes = outcome.dumpBytes > 0 ? outcome.dumpBytes : undefined
  if (outcome.ok) {
    const bytes = report.dumpBytes === undefined ? '' : ` (${formatBytes(report.dumpBytes)} of dump)`
    core.info(`Dumped, sanitized and restored into ${stream.scratchName} in ${report.timings.restore!.toFixed(2)} s${bytes}.`)
    return { production, replay, kept }
  }
  const stopped = sanitizer.stopped()
  if (stopped) throw new UserError(stopped)
  // The dump could not join the snapshot because the session that held it ended: whatever ended
  // it (a lock, a lost connection) is the error, not the dump's.
  if (outcome.snapshotLost) {
    const cause = await production.then(
      () => undefined,
      (error: unknown) => error
    )
    if (cause instanceof UserError) throw cause
  }
  // A failure of the servers, the setup or a full disk, not the backup's.
  if (outcome.fault) throw outcome.fault
  // The step's failure message carries the restore's error; the restore program printed it in full above.
  const error = outcome.restoreError ?? 'the restore failed'
  const skew = engine.serverChecks?.explainRestoreFailure({
    error,
    cleanroomMajor: sanitizer.cleanroomMajor,
    productionMajor: stream.productionFacts.major,
    dumpMajor: engine.clientPrograms(tools)?.dump.major ?? stream.productionFacts.major
  })
  const hint = skew ?? owners?.missingRightHint(error, owners.restoreRights(cleanroom.roles))
  // Where the restore stopped, from the sanitizer's line index (or the TOC comments a directory's pipeline saw).
  if (outcome.failedAt) core.info(`The restore stopped ${outcome.failedAt}.`)
  return { production, replay, kept, restoreError: withHint(error, hint), restoreFailedAt: outcome.failedAt }
}

export function recordRestoreRights(rights: RestoreRights, report: Report): void {
  report.restoreRights = { mode: rights.mode, role: rights.role, superuser: rights.superuser, description: rights.description }
  if (rights.superuser) core.warning(`${rights.description}.`, { title: 'Lazarus: the restore runs as a superuser' })
  else core.info(`${rights.description}.`)
}

/**
 * Stops the run before the dump when production holds what only a superuser can restore and
 * the restore runs without superuser rights (the engine's ownersAndPrivileges.superuserObjectsRefusal):
 * one line naming the objects and the input, rather than a failed restore of a good backup.
 */
async function assertRestorableWithRights(context: RunContext<ProductionSettings>): Promise<void> {
  const { cleanroom, engine } = context
  const owners = engine.ownersAndPrivileges
  if (!owners) return
  const refusal = await owners.superuserObjectsRefusal(cleanroom.roles, context.production!, cleanroom.maintenance)
  if (refusal) throw new UserError(refusal)
}

/**
 * Decides whether owners and privileges are restored and compared, records it in the report and
 * says so in the log: a check that cannot run is never a silent pass.
 */
export async function planRoles(context: RunContext): Promise<OwnersPlan> {
  const { cleanroom, report, engine } = context
  const owners = engine.ownersAndPrivileges
  // An engine without owners and privileges (no ownersAndPrivileges capability) has none to restore or compare.
  if (!owners) return { restore: false, provided: [], existing: [] }
  const named = await owners.readNamedRoles(context.production!)
  const plan = await owners.planRoles(cleanroom.roles, named)
  return recordRolePlan(plan, report, `Owners and privileges are restored and compared${plan.detail ?? ''}.`)
}

/**
 * Records in the report whether owners and privileges are compared, and says so in the log: a
 * warning when they are not (never a silent pass), `compared` when they are.
 */
export function recordRolePlan(plan: OwnersPlan, report: Report, compared: string): OwnersPlan {
  report.privileges = {
    compared: plan.restore,
    ...(plan.reason ? { reason: plan.reason } : {}),
    rolesCreated: plan.provided,
    rolesExisting: plan.existing
  }
  if (!plan.restore) {
    core.warning(`Owners and privileges are not verified: ${plan.reason}.`, {
      title: 'Lazarus: owners and privileges not verified'
    })
  } else {
    core.info(compared)
  }
  return plan
}

/**
 * Counts (and checksums) every table on as many sessions as there are: where the engine knows the
 * tables' sizes (Engine.tableTraits), largest first, the small ones several a statement; otherwise
 * a few tables a statement, in the order listed.
 */
export async function readFigures<Table extends TableName>(
  engine: { tableTraits?(table: Table): TableTraits },
  sessions: SeamSession<Table>[],
  tables: Table[],
  settings: Pick<Settings, 'verify'>,
  inTransaction: boolean,
  side: string
): Promise<SideFigures[]> {
  const counter = new Counter(tables.length, `${side} tables read`)
  const stopProgress = reportProgress(() => counter.describe())
  try {
    const listed = tables.map(table => ({ table, ...engine.tableTraits?.(table) }))
    const sized = listed.some(entry => entry.bytes !== undefined)
    const largestFirst = [...listed].sort((a, b) => (b.bytes ?? 0) - (a.bytes ?? 0))
    // A materialized view's rows are derived, not backed up: reading them would only cost time.
    const derived = largestFirst.filter(entry => entry.derived)
    const read = largestFirst.filter(entry => !entry.derived)
    const batches = await mapPool(
      sessions,
      sized
        ? batchSmallTables(
            read.map(entry => ({ ...entry, bytes: entry.bytes ?? 0 })),
            sessions.length
          )
        : batchesOf(read, sessions.length),
      async (session, batch): Promise<SideFigures[]> => {
        const figures = await session.tablesFigures(
          batch.map(entry => entry.table),
          settings.verify === 'checksums',
          inTransaction
        )
        counter.done += batch.length
        return batch.map(({ table, wholeTree }, index) => ({
          schema: table.schema,
          name: table.name,
          figures: figures[index],
          ...(wholeTree ? { wholeTree: true } : {})
        }))
      }
    )
    counter.done += derived.length
    const figures = [
      ...batches.flat(),
      ...derived.map(({ table }) => ({ schema: table.schema, name: table.name, figures: {}, derived: true }))
    ]
    const byKey = new Map(figures.map(side => [tableKey(side), side]))
    return tables.map(table => byKey.get(tableKey(table))!)
  } finally {
    stopProgress()
  }
}

/** At most this many tables of unknown size are read by one statement. */
const BATCH_UNSIZED_TABLES = 50

/**
 * Splits tables of unknown size into batches, order kept, so that each of `sessions` gets work
 * and no batch is large.
 */
export function batchesOf<T>(tables: T[], sessions: number): T[][] {
  const size = Math.max(1, Math.min(BATCH_UNSIZED_TABLES, Math.ceil(tables.length / Math.max(1, sessions * 2))))
  const batches: T[][] = []
  for (let i = 0; i < tables.length; i += size) batches.push(tables.slice(i, i + size))
  return batches
}

/** Tables at most this big on disk are read together, up to BATCH_TABLES or BATCH_BYTES per statement. */
const SMALL_TABLE_BYTES = 1024 * 1024
const BATCH_TABLES = 100
const BATCH_BYTES = 8 * 1024 * 1024

/**
 * Groups small tables into batches read by one statement each (DatabaseSession.tablesFigures):
 * a schema of thousands of small tables then costs a few hundred round trips, not several per
 * table. Larger tables keep a statement (and a session) of their own. A few small tables are
 * spread over the `sessions` that read them rather than left to one. Order is kept.
 */
export function batchSmallTables<T extends { bytes: number }>(tables: T[], sessions = 1): T[][] {
  const small = tables.filter(table => table.bytes <= SMALL_TABLE_BYTES).length
  const perBatch = Math.max(1, Math.min(BATCH_TABLES, Math.ceil(small / Math.max(1, sessions))))
  const batches: T[][] = []
  let open: T[] = []
  let openBytes = 0
  for (const table of tables) {
    if (table.bytes > SMALL_TABLE_BYTES) {
      batches.push([table])
      continue
    }
    if (open.length >= perBatch || openBytes + table.bytes > BATCH_BYTES) {
      batches.push(open)
      open = []
      openBytes = 0
    }
    open.push(table)
    openBytes += table.bytes
  }
  if (open.length > 0) batches.push(open)
  return batches
}

/**
 * What every drill copy of a run (a fresh dump, a stored backup) is restored into and verified
 * against (drill-copies.ts): production's side as plain data, and each copy verified as the backup
 * was, against production's live session inside the snapshot when there is one. `defaults`:
 * production's database's, each copy's scratch database is created like it.
 */
export function drillContext(
  run: RunContext,
  tools: unknown,
  settings: Settings,
  snapshot: ProductionSnapshot,
  defaults: DatabaseDefaults
): CopyContext {
  return {
    run,
    tools,
    settings,
    snapshot,
    defaults,
    // A copy's tables are reported under production's database name, where the engine names tables by database.
    reportAs: run.settings.productionAddress?.database,
    verify: (target, side) => verifyRestored(run, target, settings, snapshot, side, run.production)
  }
}

/** Stand-ins by the name they carry, to the role each plays: how the restored copy's catalog is read back. */
export function standInsByName(replay: PrivilegeReplay | undefined): Map<string, string> {
  return new Map([...(replay?.standIns ?? new Map<string, string>())].map(([role, standIn]) => [standIn, role]))
}

/** Drops the scratch database for `purpose` (the restored backup), or keeps it for debugging when asked to (keep-cleanroom). */
export async function dropOrKeep(context: RunContext, purpose: string): Promise<void> {
  const { cleanroom, engine, settings } = context
  const name = cleanroom.scratchName(purpose)
  if (settings.keepCleanroom) {
    cleanroom.keep(name)
    const where = engine.describe(engine.withDatabase(settings.cleanroom, name))
    core.notice(`Kept the restored database '${name}' on the clean room (${where}) for debugging.`)
  } else {
    await cleanroom.drop(name)
  }
}

/**
 * Production's side of the comparison, read inside the snapshot on production's sessions, for
 * every engine: the schema and the keys while the dump runs; owners and privileges when the plan
 * restores them (Engine.ownersAndPrivileges); once the dump has read production (`dumped`: a dump
 * that did not finish leaves nothing to compare), the counters again (SeamSession.readCounters
 * forgets the locks it takes inside the snapshot), every table's figures on
 * all of production's sessions, the user's checks, large objects, and the drill's catalog (with
 * the owners and privileges it may aim at). The figures' reading goes on the report's timeline.
 * How owners and privileges are replayed is the run's plan, not production's: the caller adds it.
 */
export async function readProductionSide(
  context: RunContext,
  side: {
    tables: TableName[]
    countersBefore: SequenceValue[]
    owners?: OwnersPlan
    dumped: Promise<boolean>
  }
): Promise<Omit<ProductionSnapshot, 'replay'>> {
  const { engine, report, workspace, settings } = context
  const production = context.production!
  const { tables, owners: plan } = side
  const owners = engine.ownersAndPrivileges
  const schema = await production.readSchema()
  const primaryKeys = await production.primaryKeys()
  const privileges = plan?.restore && owners ? await owners.readPrivileges(production) : undefined
  if (!(await side.dumped)) throw new Error("The dump did not finish: production's figures were not read")
  const figuresStartedAt = Date.now() / 1000
  // Counters are not transactional: read again once the dump is over, they bracket what it saw.
  const sequencesAfter = await production.readCounters()
  const figures = await readFigures(engine, context.productionSessions, tables, settings, true, 'production')
  onTimeline(report, 'Production figures', figuresStartedAt, Date.now() / 1000)
  const checks =
    settings.checks.length > 0
      ? await answerChecks(
          required(engine, 'userChecks').side(production),
          settings.checks,
          sampleRowsFor(checkOptions(engine, settings))
        )
      : []
  const largeObjects = engine.largeObjects ? await engine.largeObjects.read(production) : []
  const rowCounts = new Map(figures.map(entry => [tableKey(entry), entry.figures.rows ?? 0]))
  const drillCatalog = settings.sabotage.length > 0 ? await engine.readDrillCatalog(production, rowCounts) : undefined
  if (drillCatalog && owners && plan) await owners.addDrillTargets(drillCatalog, production, plan, workspace.runId)
  return {
    tables,
    figures,
    schema,
    largeObjects,
    privileges,
    sequencesBefore: side.countersBefore,
    sequencesAfter,
    primaryKeys,
    checks,
    drillCatalog
  }
}

/**
 * Production's side of a comparison as a restored copy is verified against it, whatever the
 * engine: what a fresh snapshot (ProductionSnapshot) or a manifest gives.
 */
export interface ProductionSide<Table extends TableName = TableName> {
  tables: Table[]
  figures: SideFigures[]
  schema: SchemaObject[]
  /** Large objects (Engine.largeObjects): OID, size and content digest; none where the engine has none. */
  largeObjects: SchemaObject[]
  /** Sequences are not transactional: their values are bracketed by reads before and after the dump. */
  sequencesBefore: SequenceValue[]
  sequencesAfter: SequenceValue[]
  primaryKeys: Map<string, string[]>
  /** Owners, ACLs and default privileges, when the restore keeps them (see cleanroom-roles.ts). */
  privileges?: SchemaObject[]
  /**
   * How owners and privileges are replayed after an unprivileged restore (privileged-pass.ts),
   * for the backup's restore and each drill copy's alike; absent when the restore replays them itself.
   */
  replay?: PrivilegeReplay
  /** Production's answers to the user's checks, in the snapshot, in the checks' order. */
  checks: CheckAnswer[]
}

/** What verifying a copy reads of the settings (a manifest of counts only verifies by counts). */
export type VerifySettings = Pick<Settings, 'jobs' | 'verify' | 'showValues' | 'maxRowsReported'> & {
  checks?: Settings['checks']
}

/**
 * Reads a restored copy like production (tables' figures, schema, sequences), compares, and pins
 * each differing table's difference to rows by comparing hash aggregates on both sides.
 */
export async function verifyRestored(
  context: RunContext,
  target: unknown,
  settings: VerifySettings,
  production: ProductionSide | Promise<ProductionSide>,
  side: string,
  /** Production's session inside the snapshot, when there is one: row pinning and the checks' rows ask it. */
  live?: SeamSession
): Promise<CopyVerification> {
  const engine: Engine = context.engine
  const sessions: SeamSession[] = []
  try {
    // `jobs` sessions checksum the tables; one more compares the schema meanwhile. All connect at once.
    await context.openPinned(target, 'cleanroom', settings.jobs + 1, sessions)
    const [restored] = sessions
    const catalogSession = sessions[settings.jobs]
    // Production's figures may still be being read: the restored copy's are read meanwhile.
    const [figures, schema] = await Promise.all([
      readFigures(engine, sessions.slice(0, settings.jobs), await restored.listTables(), settings, false, side),
      compareSchemas(context, catalogSession, production, live)
    ])
    const snapshot = await production
    const tables = compareTables(snapshot.figures, figures)
    await pinRows(engine, tables, restored, snapshot, settings, live)
    const checks =
      settings.checks && settings.checks.length > 0
        ? await verifyChecks(
            required(engine, 'userChecks').side(restored),
            { session: live && required(engine, 'userChecks').side(live), answers: snapshot.checks },
            settings.checks,
            checkOptions(engine, settings)
          )
        : []
    return { tables, schema, checks }
  } finally {
    for (const session of sessions) await context.release(session)
  }
}

async function compareSchemas(
  context: RunContext,
  restored: SeamSession,
  production: ProductionSide | Promise<ProductionSide>,
  live?: SeamSession
): Promise<SchemaObjectDifference[]> {
  const engine: Engine = context.engine
  const restoredSchema = await restored.readSchema()
  const restoredSequences = await restored.readCounters()
  const restoredLargeObjects = engine.largeObjects ? await engine.largeObjects.read(restored) : []
  const behind = await restored.countersBehindData()
  const snapshot = await production
  // A sequence production itself has behind its data is faithfully restored, not broken.
  const productionBehind = behind.length > 0 && live ? await withSavepoint(live, () => live.countersBehindData()) : []
  const owners = engine.ownersAndPrivileges
  const privileges =
    snapshot.privileges && owners
      ? engine.diffSchema(snapshot.privileges, await owners.readPrivileges(restored, standInsByName(snapshot.replay)))
      : []
  // Collations the sanitizer rewrote count as the same, objects it restored unable to run as dumped.
  let definitions = [
    ...engine.diffSchema(snapshot.schema, restoredSchema, context.collationsRewritten, context.restoredDisabled),
    ...privileges
  ]
  // Another major prints the same objects differently: the clean room settles those (engine.crossMajor).
  if (engine.crossMajor && live && (await live.facts()).major !== (await restored.facts()).major) {
    definitions = await engine.crossMajor.settle(
      { production: live, restored, standIns: standInsByName(snapshot.replay) },
      definitions
    )
  }
  return [
    ...definitions,
    ...engine.diffSchema(snapshot.largeObjects, restoredLargeObjects),
    ...compareSequences(snapshot.sequencesBefore, snapshot.sequencesAfter, restoredSequences, behind, productionBehind)
  ].sort(byKindAndName)
}

/** Runs `work` on production's snapshot so that a failing statement leaves the snapshot usable, where the engine needs that. */
function withSavepoint<T>(session: SeamSession, work: () => Promise<T>): Promise<T> {
  return session.withSavepoint ? session.withSavepoint(work) : work()
}

/** Check answers shown whole (with show-values) have at most max-rows-reported rows, and never more than this. */
const MAX_SHOWN_CHECK_ROWS = 100

function checkOptions(engine: Engine, settings: Pick<Settings, 'showValues' | 'maxRowsReported'>): CompareOptions {
  return {
    showValues: settings.showValues,
    maxRows: Math.min(settings.maxRowsReported, MAX_SHOWN_CHECK_ROWS),
    rowValues: required(engine, 'userChecks').dialect.rowValues
  }
}

/**
 * amcheck on the restored copy, on `jobs` sessions. Runs after verification: the extension it
 * creates in the scratch database is not production's and must not be compared.
 */
export async function amcheckRestored(
  context: RunContext,
  target: unknown,
  settings: Pick<Settings, 'jobs'>,
  report: Report
): Promise<AmcheckResult> {
  const started = performance.now()
  const sessions: SeamSession[] = []
  try {
    await context.openPinned(target, 'cleanroom', settings.jobs, sessions)
    const result = await required(context.engine, 'amcheck').check(sessions)
    const heap = result.heapChecked
      ? ` and ${result.tables} table(s) (verify_heapam)`
      : ' (verify_heapam needs PostgreSQL 14 or later)'
    core.info(`amcheck checked ${result.indexes} B-tree index(es)${heap}.`)
    for (const finding of result.findings) {
      core.error(`${finding.kind} ${finding.name}: ${finding.message}`, {
        title: 'Lazarus: amcheck found corruption in the restored copy'
      })
    }
    return result
  } finally {
    for (const session of sessions) await context.release(session)
    report.timings.amcheck = elapsed(started)
  }
}

/** Finds which rows differ in each table whose figures differ (both sides readable), by key. */
async function pinRows(
  engine: Engine,
  tables: TableComparison[],
  restored: SeamSession,
  snapshot: ProductionSide,
  settings: VerifySettings,
  live?: SeamSession
): Promise<void> {
  // Rows can only be pinned by asking production; a manifest holds figures, not rows.
  if (!live) return
  await pinDifferingTables(
    tables,
    snapshot,
    settings,
    (ref, key, compare) => {
      // Both sides are read through production's table (its columns) and production's key.
      const read = () => compare(engine.rowDiffSide(live, ref, key), engine.rowDiffSide(restored, ref, key))
      return engine.aroundRowReads ? engine.aroundRowReads(live, restored, ref, read) : read()
    },
    ref => !engine.tableTraits?.(ref).unreadable
  )
}

/**
 * A capability the run cannot do without where its inputs ask for it (the checks, amcheck, a
 * stored backup's owners): an engine without it is refused such inputs when they are read
 * (engine-settings.ts); or where the engine's own answer asks for it (a replay it planned).
 */
export function required<K extends 'userChecks' | 'amcheck' | 'ownersAndPrivileges'>(
  engine: Engine,
  capability: K
): NonNullable<Engine[K]> {
  const found = engine[capability]
  if (!found) throw new Error(`${engine.name} has no ${capability} capability`)
  return found
}
