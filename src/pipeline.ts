import * as fs from 'node:fs'
import * as core from '@actions/core'
import { onCancel } from './cancellation.js'
import { CleanRoom } from './cleanroom.js'
import { compareTables, detectingCheck, displayName, tableKey, type SideFigures, type TableComparison } from './compare.js'
import { describe, type ConnectionTarget } from './connection.js'
import { DatabaseSession } from './database.js'
import { rewriteDump } from './dump-rewrite.js'
import { UserError } from './errors.js'
import type { TableRef } from './fingerprint-queries.js'
import { assertSeparateClusters } from './guards.js'
import { dumpDatabase, psqlUnderstandsRestrict, resolveClientTools, restoreDump, type ClientTools } from './pg-tools.js'
import { mapPool } from './pool.js'
import { Counter, reportProgress } from './progress.js'
import type { Report, SabotageResult } from './report.js'
import { chooseRogueRowTarget, rogueRowRewriter, type SabotageOperator, type TableShape } from './sabotage.js'
import { buildSedProgram, summarizeRemovedLines } from './sanitize-rules.js'
import { runSedProgram } from './sed.js'
import type { Settings } from './settings.js'
import { saveWorkDir } from './state.js'
import { formatBytes } from './summary.js'
import type { Workspace } from './workspace.js'

/**
 * What production looked like at the dump's snapshot. Its sessions stay inside that snapshot
 * until the run ends, so later questions (which rows differ) get answers from the same moment.
 */
interface ProductionSnapshot {
  sessions: DatabaseSession[]
  figures: SideFigures[]
  shapes: TableShape[]
  database: { encoding: string; collate: string; ctype: string }
}

/**
 * One verification run: dump, sanitize, restore, verify, then the sabotage drill. Fills `report`
 * as it goes, so that a failure part way still reports everything established before it.
 */
export async function verifyBackup(settings: Settings, workspace: Workspace, report: Report): Promise<void> {
  assertSeparateClusters(settings.production, settings.cleanroom)
  saveWorkDir(workspace.workDir)
  const production = await core.group('Connect', () => DatabaseSession.open(settings.production, 'production'))
  const sessions: DatabaseSession[] = [production]
  let cleanroom: CleanRoom | undefined
  const closeAll = async () => {
    await cleanroom?.close()
    for (const session of sessions) await session.close()
  }
  const stopCancelHandler = onCancel(async () => {
    await closeAll()
    workspace.removeWorkFiles()
  })
  try {
    cleanroom = await CleanRoom.open(settings.cleanroom, workspace.runId)
    const tools = await core.group('Check servers and client tools', () => checkServers(production, cleanroom!, settings, report))
    const dumpFile = workspace.file('dump.sql')
    const snapshot = await core.group('Dump production', () => dumpFromSnapshot(production, sessions, tools, settings, dumpFile, report))

    const backupFile = workspace.file('backup.sql')
    await core.group('Sanitize', () => sanitize(cleanroom!, tools, dumpFile, backupFile, workspace, report))

    const verification = await verifyCopy(backupFile, 'backup', cleanroom, tools, settings, snapshot, report)
    if (verification.restoreError !== undefined) {
      report.result = 'restore-failed'
      report.error = verification.restoreError
      return
    }
    report.tables = verification.tables
    report.result = report.tables.every(table => table.match) ? 'verified' : 'mismatch'

    for (const operator of settings.sabotage) {
      report.sabotage.push(
        await core.group(`Sabotage drill: ${operator}`, () =>
          runDrill(operator, backupFile, cleanroom!, tools, settings, snapshot, workspace, report)
        )
      )
    }
  } finally {
    stopCancelHandler()
    await closeAll()
  }
}

/** Versions, the separate-cluster guard, the clean room's CREATEDB right, and the client tools. */
async function checkServers(production: DatabaseSession, cleanroom: CleanRoom, settings: Settings, report: Report): Promise<ClientTools> {
  const [productionFacts, cleanroomFacts] = await Promise.all([production.serverFacts(), cleanroom.maintenance.serverFacts()])
  report.production.serverVersion = productionFacts.serverVersion
  report.cleanroom.serverVersion = cleanroomFacts.serverVersion
  core.info(`Production: PostgreSQL ${productionFacts.serverVersion} at ${describe(settings.production)} (read-only session)`)
  core.info(`Clean room: PostgreSQL ${cleanroomFacts.serverVersion} at ${describe(settings.cleanroom)}`)
  const [productionIdentity, cleanroomIdentity] = await Promise.all([
    production.clusterIdentity(),
    cleanroom.maintenance.clusterIdentity()
  ])
  assertSeparateClusters(settings.production, settings.cleanroom, { production: productionIdentity, cleanroom: cleanroomIdentity })
  await cleanroom.assertCanCreateDatabases()
  const tools = await resolveClientTools(productionFacts.major, settings.postgresBinDir)
  report.tools = { pg_dump: toolInfo(tools.pgDump), psql: toolInfo(tools.psql) }
  core.info(`Client tools: pg_dump ${tools.pgDump.version} (${tools.pgDump.path}), psql ${tools.psql.version} (${tools.psql.path})`)
  return tools
}

/**
 * Dumps production and fingerprints it from one exported snapshot, in parallel: the figures
 * describe exactly the data in the dump, even while production keeps taking writes. Extra
 * sessions join the snapshot to checksum several tables at once.
 */
async function dumpFromSnapshot(
  exporter: DatabaseSession,
  sessions: DatabaseSession[],
  tools: ClientTools,
  settings: Settings,
  dumpFile: string,
  report: Report
): Promise<ProductionSnapshot> {
  await exporter.pinSettings()
  const database = await exporter.databaseFacts()
  const snapshotId = await exporter.beginSnapshot()
  const tables = await exporter.listTables()
  if (tables.length === 0) {
    throw new UserError(
      `Production database '${settings.production.database}' has no tables, so there is nothing to verify: ` +
        `check that '${settings.production.inputName}' names the right database.`
    )
  }
  // pg_dump takes one connection; the checksum workers share the rest of `jobs`.
  for (let i = 1; i < Math.max(1, settings.jobs - 1); i++) {
    const session = await DatabaseSession.open(settings.production, 'production')
    sessions.push(session)
    await session.pinSettings()
    await session.joinSnapshot(snapshotId)
  }
  core.info(`Snapshot ${snapshotId}: ${tables.length} table(s) to fingerprint with ${sessions.length} session(s) while pg_dump runs.`)

  const dumpStarted = performance.now()
  const stopDumpProgress = reportProgress(() => `Dumped ${formatBytes(fileSize(dumpFile))} so far.`)
  const dumping = dumpDatabase(tools, settings.production, { file: dumpFile, snapshot: snapshotId }).finally(() => {
    stopDumpProgress()
    report.timings.dump = elapsed(dumpStarted)
  })
  const [, figures] = await Promise.all([dumping, fingerprint(sessions, tables, settings, true, 'production')])
  // Production's fingerprint overlaps the dump; only the part that outlasts it adds to verify time.
  report.timings.verify = Math.max(0, elapsed(dumpStarted) - (report.timings.dump ?? 0))
  const shapes = settings.sabotage.length > 0 ? await tableShapes(exporter, figures) : []
  report.dumpBytes = fileSize(dumpFile)
  core.info(`Dumped ${formatBytes(report.dumpBytes)} in ${report.timings.dump?.toFixed(2)} s.`)
  return { sessions, figures, shapes, database }
}

/** Counts (and checksums) every table, largest first, on as many sessions as there are. */
async function fingerprint(
  sessions: DatabaseSession[],
  tables: TableRef[],
  settings: Settings,
  inTransaction: boolean,
  side: string
): Promise<SideFigures[]> {
  const counter = new Counter(tables.length, `${side} tables fingerprinted`)
  const stopProgress = reportProgress(() => counter.describe())
  try {
    const largestFirst = [...tables].sort((a, b) => b.bytes - a.bytes)
    const figures = await mapPool(sessions, largestFirst, async (session, table): Promise<SideFigures> => {
      const result = { schema: table.schema, name: table.name, figures: await session.tableFigures(table, settings.verify === 'checksums', inTransaction) }
      counter.done++
      return result
    })
    const byKey = new Map(figures.map(side => [tableKey(side), side]))
    return tables.map(table => byKey.get(tableKey(table))!)
  } finally {
    stopProgress()
  }
}

async function tableShapes(session: DatabaseSession, figures: SideFigures[]): Promise<TableShape[]> {
  const rows = new Map(figures.map(side => [tableKey(side), side.figures.rows ?? 0]))
  const shapes = await session.tableShapes()
  return shapes.map(shape => ({ ...shape, rows: rows.get(tableKey(shape)) ?? 0 }))
}

/** Removes the directives the clean room would reject, with sed, and records what went. */
async function sanitize(
  cleanroom: CleanRoom,
  tools: ClientTools,
  dumpFile: string,
  backupFile: string,
  workspace: Workspace,
  report: Report
): Promise<void> {
  const started = performance.now()
  const removedLinesFile = workspace.file('sanitize-removed.sql')
  const program = buildSedProgram({
    knownSettings: await cleanroom.maintenance.settingNames(),
    psqlUnderstandsRestrict: psqlUnderstandsRestrict(tools.psql),
    removedLinesFile,
    outputFile: backupFile
  })
  await runSedProgram(program, workspace.file('sanitize.sed'), dumpFile)
  workspace.removeFile(dumpFile)
  const removed = fs.existsSync(removedLinesFile) ? fs.readFileSync(removedLinesFile, 'latin1').split('\n') : []
  report.sanitized = summarizeRemovedLines(removed)
  report.timings.sanitize = elapsed(started)
  if (report.sanitized.length === 0) core.info('Nothing to sanitize: the clean room knows every directive in the dump.')
  for (const item of report.sanitized) {
    core.info(`Removed ${item.lines} line(s) setting ${item.parameter}, which the clean room does not know.`)
  }
}

interface CopyVerification {
  restoreError?: string
  tables: TableComparison[]
}

/** Restores a dump file into a fresh scratch database and compares it with production's snapshot. */
async function verifyCopy(
  file: string,
  purpose: string,
  cleanroom: CleanRoom,
  tools: ClientTools,
  settings: Settings,
  snapshot: ProductionSnapshot,
  report: Report
): Promise<CopyVerification> {
  const isBackup = purpose === 'backup'
  const target = await cleanroom.createScratchDatabase(purpose, snapshot.database)
  try {
    const restored = await (isBackup
      ? core.group('Restore', () => restore(tools, target, file, cleanroom, report))
      : restoreDump(tools, target, file))
    if (!restored.ok) {
      if (isBackup) core.error(`Restore failed: ${restored.error}`, { title: 'Lazarus: backup does not restore' })
      return { restoreError: restored.error, tables: [] }
    }
    const verify = () => verifyRestored(target, settings, snapshot, isBackup ? 'restored' : `${purpose} copy`)
    if (!isBackup) return { tables: await verify() }
    return await core.group('Verify', async () => {
      const started = performance.now()
      const tables = await verify()
      report.timings.verify = (report.timings.verify ?? 0) + elapsed(started)
      logComparisons(tables)
      return { tables }
    })
  } finally {
    if (isBackup && settings.keepCleanroom) {
      cleanroom.keep(target)
      core.notice(`Kept the restored database '${target.database}' on the clean room (${describe(target)}) for debugging.`)
    } else {
      await cleanroom.dropScratchDatabase(target)
    }
  }
}

async function restore(tools: ClientTools, target: ConnectionTarget, file: string, cleanroom: CleanRoom, report: Report) {
  const started = performance.now()
  const stopProgress = reportProgress(async () => {
    const [row] = await cleanroom.maintenance.query<{ bytes: string }>('SELECT pg_catalog.pg_database_size($1)::text AS bytes', [target.database])
    return `Restored ${formatBytes(Number(row.bytes))} so far.`
  })
  try {
    const outcome = await restoreDump(tools, target, file)
    report.timings.restore = elapsed(started)
    if (outcome.ok) core.info(`Restored into ${target.database} in ${report.timings.restore.toFixed(2)} s.`)
    return outcome
  } finally {
    stopProgress()
  }
}

async function verifyRestored(target: ConnectionTarget, settings: Settings, snapshot: ProductionSnapshot, side: string): Promise<TableComparison[]> {
  const sessions: DatabaseSession[] = []
  try {
    for (let i = 0; i < settings.jobs; i++) {
      const session = await DatabaseSession.open(target, 'cleanroom')
      sessions.push(session)
      await session.pinSettings()
    }
    const restored = await fingerprint(sessions, await sessions[0].listTables(), settings, false, side)
    return compareTables(snapshot.figures, restored)
  } finally {
    for (const session of sessions) await session.close()
  }
}

function logComparisons(tables: TableComparison[]): void {
  for (const table of tables) {
    if (table.match) {
      core.info(`✓ ${displayName(table)}: ${table.production.rows} rows match`)
    } else {
      core.error(`${displayName(table)}: ${table.difference}`, { title: 'Lazarus: restored table differs from production' })
    }
  }
}

/** Corrupts a copy of the backup, restores and verifies it, and reports whether that was noticed. */
async function runDrill(
  operator: SabotageOperator,
  backupFile: string,
  cleanroom: CleanRoom,
  tools: ClientTools,
  settings: Settings,
  snapshot: ProductionSnapshot,
  workspace: Workspace,
  report: Report
): Promise<SabotageResult> {
  const target = chooseRogueRowTarget(snapshot.shapes)
  if (!target) {
    core.warning(`Sabotage ${operator}: no table can take this corruption and still restore; drill skipped.`)
    return { operator, target: null, applied: false, detected: false, detectedBy: null, evidence: 'no eligible table' }
  }
  const targetName = displayName(target)
  const copyFile = workspace.file(`sabotage-${operator}.sql`)
  try {
    const rewriter = rogueRowRewriter(target)
    await rewriteDump(backupFile, copyFile, rewriter)
    const injected = rewriter.result()
    if (!injected) {
      core.warning(`Sabotage ${operator}: ${targetName} has no data in the dump to copy; drill skipped.`)
      return { operator, target: targetName, applied: false, detected: false, detectedBy: null, evidence: 'target not found in the dump' }
    }
    core.info(`Injected a rogue row ${injected.evidence} into ${targetName}.`)
    const verification = await verifyCopy(copyFile, `drill_${operator}`, cleanroom, tools, settings, snapshot, report)
    if (verification.restoreError !== undefined) {
      return { operator, target: targetName, applied: true, detected: true, detectedBy: 'restore', evidence: verification.restoreError }
    }
    const flagged = verification.tables.find(table => tableKey(table) === tableKey(target) && !table.match)
    const result: SabotageResult = flagged
      ? { operator, target: targetName, applied: true, detected: true, detectedBy: detectingCheck(flagged), evidence: `rogue row ${injected.evidence}: ${flagged.difference}` }
      : { operator, target: targetName, applied: true, detected: false, detectedBy: null, evidence: `rogue row ${injected.evidence} went unnoticed` }
    if (result.detected) core.info(`Caught: ${result.evidence}`)
    else core.error(`Sabotage ${operator} on ${targetName} went undetected.`, { title: 'Lazarus: sabotage missed' })
    return result
  } finally {
    workspace.removeFile(copyFile)
  }
}

function toolInfo(tool: { path: string; version: string }) {
  return { path: tool.path, version: tool.version }
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size
  } catch {
    return 0
  }
}

function elapsed(since: number): number {
  return (performance.now() - since) / 1000
}
