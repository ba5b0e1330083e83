import * as fs from 'node:fs'
import * as core from '@actions/core'
import type { SeamSession, ServerFacts, StreamOutcome } from '../engines/types.js'
import { lastLine } from '../util/errors.js'
import { saveWorkDir } from '../util/leftovers.js'
import type { TableName } from '../util/table-name.js'
import type { SequenceValue } from '../verification/sequence-check.js'
import { judgeRestoreFailed, judgeVerified, type Report } from '../report/report.js'
import type { ProductionSettings } from './settings.js'
import { logVerification } from './copy-findings.js'
import { runDrill, type JudgedCopy } from './drill-copies.js'
import { readProductionSide, verifyRestored, type ReadProductionSide } from './pipeline.js'
import { beginProductionSnapshot, collationsRewrittenBy, elapsed, recordStream } from './snapshot-stream.js'
import { reportProgress } from './progress.js'
import { RunContext } from './run-context.js'
import { checkServers } from './server-checks.js'
import type { Workspace } from './workspace.js'

/**
 * One verification of a backup over the engine seam (engines/types.ts, Engine): MySQL and
 * MariaDB today. It does what PostgreSQL's pipeline (pipeline.ts) does, in engine-neutral terms:
 *
 *   connect, check the servers (versions, the same-server guard, the right to create databases,
 *   the client programs) → create a marked scratch database → take production's snapshot (the
 *   engine's brief global lock while every Lazarus session and the dump start their consistent
 *   snapshots, released as soon as the dump's has begun) → dump | sanitize | restore, streamed →
 *   production's figures inside the snapshot and the restored copy's (counts, checksums, on
 *   `jobs` sessions each), the schema, the AUTO_INCREMENT counters → differing rows pinned by key
 *   → the verdict → the drill (each operator on its own copy of the dump) → cleanup, always.
 *
 * Fills `report` as it goes, so that a failure part way still reports everything established before it.
 */
export async function verifyOverEngine(settings: ProductionSettings, workspace: Workspace, report: Report): Promise<void> {
  // The URLs alone: a clean room that is production by its address is refused before anything connects.
  settings.engine.assertSeparateTargets(settings.production, settings.cleanroom)
  saveWorkDir(workspace.workDir)
  const run = new SeamRunContext(settings.engine, settings, workspace, report)
  await run.run(() => runStages(run))
}

/**
 * The run context (run-context.ts) with what this run establishes as it goes: the servers' facts,
 * the client programs, and what the sanitizer changed that the schema comparison must know.
 */
class SeamRunContext extends RunContext<ProductionSettings> {
  facts!: { production: ServerFacts; cleanroom: ServerFacts }
  tools: unknown

  /** Production's session that holds the snapshot: the dump's data as of its start; row pinning asks it. */
  override get production(): SeamSession {
    return super.production!
  }

  /** Production's session and the clean room's maintenance handle at once, then the watchdog over both. */
  protected override async connect(): Promise<void> {
    const { engine, settings } = this
    const production = await core.group('Connect', async () => {
      const [production, maintenance] = await Promise.allSettled([
        this.open(settings.production, 'production'),
        engine.openMaintenance(settings.cleanroom)
      ])
      // The clean room closes with the run, whether or not production connected.
      if (maintenance.status === 'fulfilled') this.openedCleanroom(maintenance.value)
      for (const result of [production, maintenance]) if (result.status === 'rejected') throw result.reason
      return (production as PromiseFulfilledResult<SeamSession>).value
    })
    this.productionSessions.push(production)
    await this.watchServers()
  }
}

/** The report a run over the seam starts from: where it reads and restores, nothing established yet. */
export function emptyEngineReport(settings: ProductionSettings): Report {
  return {
    result: 'error',
    verify: settings.verify,
    production: { server: settings.engine.describe(settings.production), database: settings.productionAddress.database },
    cleanroom: { server: settings.engine.describe(settings.cleanroom) },
    sanitized: [],
    tables: [],
    sabotage: [],
    timings: {},
    startedAt: new Date().toISOString()
  }
}

/** The stages after connecting: check, snapshot and stream, verify, drill. */
async function runStages(run: SeamRunContext): Promise<void> {
  const { settings, report, engine } = run
  const servers = await run.group('Check servers and client tools', () => checkServers(run))
  run.facts = { production: servers.production, cleanroom: servers.cleanroom }
  run.tools = servers.tools
  const database = await run.production.databaseDefaults()
  const backup = await run.cleanroom.create('backup', database)
  const restoreTarget = engine.withDatabase(settings.cleanroom, backup, settings.productionAddress.database)
  const keepDumpAt = settings.sabotage.length > 0 ? run.workspace.backupFile : undefined

  const streamed = await run.group('Snapshot, then dump, sanitize and restore (streamed)', () =>
    snapshotAndStream(run, restoreTarget, keepDumpAt)
  )
  let verification: JudgedCopy
  try {
    if (streamed.restoreError !== undefined) {
      Object.assign(report, judgeRestoreFailed(streamed.restoreError, streamed.failedAt))
      return
    }
    verification = await run.group('Verify', async () => {
      const started = performance.now()
      const copy = await verifyRestored(run, restoreTarget, settings, streamed.snapshot!, 'restored', run.production)
      report.timings.verify = elapsed(started)
      logVerification(copy, settings)
      return copy
    })
  } finally {
    if (settings.keepCleanroom) {
      run.cleanroom.keep(backup)
      core.notice(
        `Kept the restored database '${backup}' on the clean room (${engine.describe(settings.cleanroom)}) for debugging.`
      )
    } else await run.cleanroom.drop(backup)
  }
  report.tables = verification.tables
  report.schema = verification.schema
  Object.assign(report, judgeVerified(report))

  if (settings.sabotage.length === 0) return
  const snapshot = await streamed.snapshot!
  const drillStarted = performance.now()
  try {
    for (const operator of settings.sabotage) {
      report.sabotage.push(
        await run.group(`Sabotage drill: ${operator}`, () =>
          runDrill(operator, run.workspace.backupFile, {
            run,
            tools: run.tools,
            settings,
            snapshot,
            defaults: database,
            reportAs: settings.productionAddress.database,
            verify: (target, side) => verifyRestored(run, target, settings, snapshot, side, run.production)
          })
        )
      )
    }
  } finally {
    run.workspace.removeFile(run.workspace.backupFile)
    report.timings.drill = elapsed(drillStarted)
  }
}

/**
 * Production's side of the comparison, as plain data. The live session it was read in stays apart
 * (SeamRunContext.production), still inside the snapshot, for the rows a difference is pinned to.
 */
export type ProductionSnapshot = ReadProductionSide

interface Streamed {
  /** Production's side, read inside the snapshot once the backup restored; absent when it did not. */
  snapshot?: Promise<ProductionSnapshot>
  restoreError?: string
  failedAt?: string
}

/**
 * The snapshot protocol and the stream. Production's figures must describe exactly the data in
 * the dump, even while production takes writes: the engine's brief global lock is taken, every
 * Lazarus session starts its consistent snapshot inside it, the dump starts its own, and the lock
 * is released as soon as the dump's snapshot has begun (the sanitizer sees its marker line) or the
 * dump ended. No write can land between the snapshots, so all of them see the same data.
 */
async function snapshotAndStream(run: SeamRunContext, restoreTarget: unknown, keepDumpAt?: string): Promise<Streamed> {
  const { engine, settings, report, workspace } = run
  const production = run.production
  // The stream's private directory: option files, the sanitizer's marker and its records, stderr.
  const streamDir = workspace.file('stream')
  fs.mkdirSync(streamDir, { recursive: true, mode: 0o700 })
  const cleanroomCollations = await run.maintenance.collations()
  const sanitizer = engine.sanitizerProgram({
    tools: run.tools,
    production: run.facts.production,
    productionTarget: settings.production,
    cleanroom: run.facts.cleanroom,
    cleanroomCollations,
    workDir: streamDir
  })
  run.collationsRewritten = collationsRewrittenBy(engine, cleanroomCollations)
  // The lock is released on any failure before the stream starts (beginProductionSnapshot), or by the stream.
  const { tables, countersBefore, unisolated, lockStarted } = await beginProductionSnapshot(run, production)
  let released: Promise<void> | undefined
  const release = (): Promise<void> => {
    if (released) return released
    released = production.releaseSnapshotLock().then(held => {
      const seconds = held ?? elapsed(lockStarted)
      report.snapshotLockSeconds = seconds
      const why = unisolated.length > 0 ? "the dump and production's figures are read" : "the dump's snapshot has begun"
      core.info(`Released production's snapshot lock after ${seconds.toFixed(2)} s: ${why}.`)
    })
    // Whoever calls it need not wait; the run awaits it once the stream has ended, and fails there.
    released.catch(() => undefined)
    return released
  }
  const streamStarted = performance.now()
  let streaming: Promise<StreamOutcome>
  try {
    streaming = engine.streamDumpToRestore({
      tools: run.tools,
      production: settings.production,
      restoreInto: restoreTarget,
      sanitizer,
      workDir: streamDir,
      keepDumpAt,
      onDumpSnapshotStarted: unisolated.length > 0 ? async () => {} : release,
      signal: run.abort.signal
    })
    core.info(
      `Snapshot taken: ${tables.length} table(s) to count and checksum with ${run.productionSessions.length} session(s) ` +
        'once the dump has read them, while the restore goes on.'
    )
  } catch (error) {
    await production.releaseSnapshotLock().catch(() => undefined)
    throw error
  }
  const stopProgress = reportProgress(() => `Dump and restore in progress (${elapsed(streamStarted).toFixed(0)} s).`)
  let outcome: StreamOutcome
  try {
    outcome = await streaming
  } finally {
    stopProgress()
  }
  // Under the lock still (tables no snapshot isolates): production's side is read before it goes.
  let heldSnapshot: ProductionSnapshot | undefined
  if (unisolated.length > 0 && outcome.ok) {
    try {
      const counters = await production.readCounters()
      heldSnapshot = await readProduction(run, tables, countersBefore, counters)
    } catch (error) {
      await release().catch(() => undefined)
      throw error
    }
  }
  // A dump that ended before its marker (an empty database, a failure) releases the lock too. A
  // lock lost before its release throws here: nothing then proves the dump saw the snapshot's data.
  await release()
  recordStream(run, outcome, { streamSeconds: elapsed(streamStarted) })
  report.dumpBytes = outcome.dumpBytes
  const countersAfter = await production.readCounters()
  const failed = outcome.stages.find(stage => stage.exitCode !== 0)
  if (!outcome.ok && failed?.stage !== 'restore') {
    const what = failed ? `${failed.stage} (${failed.program}) failed: ${lastLine(failed.stderr)}` : 'the stream failed'
    throw new Error(what)
  }
  if (!outcome.ok) {
    // The backup does not restore: the verdict, not an error of Lazarus's.
    const error = lastLine(failed?.stderr ?? '') || 'the restore failed'
    core.error(`The restore stopped${outcome.failedAt ? ` at ${outcome.failedAt}` : ''}: ${error}`, {
      title: 'Lazarus: the backup does not restore'
    })
    return { restoreError: error, failedAt: outcome.failedAt }
  }
  core.info(`Dumped, sanitized and restored in ${report.timings.restore!.toFixed(2)} s (${outcome.dumpBytes} bytes).`)
  // Production's figures are read from here on, while the restored copy's are (verifyCopy).
  const snapshot = heldSnapshot ? Promise.resolve(heldSnapshot) : readProduction(run, tables, countersBefore, countersAfter)
  // Awaited by whoever verifies the copy; on every other path nobody does.
  snapshot.catch(() => undefined)
  return { snapshot }
}

/** Production's figures, schema and drill catalog, all read inside the snapshot (pipeline.ts readProductionSide). */
function readProduction(
  run: SeamRunContext,
  tables: TableName[],
  countersBefore: SequenceValue[],
  countersAfter: SequenceValue[]
): Promise<ProductionSnapshot> {
  return readProductionSide(run, { tables, countersBefore, countersAfter: async () => countersAfter })
}
