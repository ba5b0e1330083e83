import * as fs from 'node:fs'
import * as core from '@actions/core'
import { onCancel } from './cancellation.js'
import { CleanRoom } from './cleanroom.js'
import { compareTables, detectingCheck, displayName, tableKey, type SideFigures, type TableComparison } from './compare.js'
import { describe, type ConnectionTarget } from './connection.js'
import { DatabaseSession } from './database.js'
import { rewriteDump } from './dump-rewrite.js'
import { UserError, messageOf } from './errors.js'
import type { TableRef } from './fingerprint-queries.js'
import { assertSeparateClusters } from './guards.js'
import { dumpDatabase, psqlUnderstandsRestrict, resolveClientTools, restoreDump, type ClientTools } from './pg-tools.js'
import { mapPool } from './pool.js'
import { Counter, reportProgress } from './progress.js'
import type { Report, SabotageResult } from './report.js'
import { planSabotage, type SabotageCatalog, type SabotageOperator, type SabotagePlan } from './sabotage.js'
import { readSabotageCatalog } from './sabotage-catalog.js'
import { pinDifferingRows, readPrimaryKeys } from './row-diff.js'
import { byKindAndName, diffSchema, readSchemaFingerprint, type SchemaDifference, type SchemaObject } from './schema-fingerprint.js'
import { compareSequences, findSequencesBehindData, readSequenceValues, type SequenceValue } from './sequence-check.js'
import { buildSedProgram, summarizeRemovedLines } from './sanitize-rules.js'
import { runSedProgram } from './sed.js'
import type { Settings } from './settings.js'
import { saveWorkDir } from './state.js'
import { formatBytes } from './summary.js'
import type { Workspace } from './workspace.js'

/** The oldest server Lazarus's catalog queries understand. */
const OLDEST_SUPPORTED_MAJOR = 12

/**
 * What production looked like at the dump's snapshot. Its sessions stay inside that snapshot
 * until the run ends, so later questions (which rows differ) get answers from the same moment.
 */
interface ProductionSnapshot {
  /** The session that exported the snapshot; it answers follow-up questions (row pinning). */
  exporter: DatabaseSession
  tables: TableRef[]
  figures: SideFigures[]
  schema: SchemaObject[]
  /** Sequences are not transactional: their values are bracketed by reads before and after the dump. */
  sequencesBefore: SequenceValue[]
  sequencesAfter: SequenceValue[]
  primaryKeys: Map<string, string[]>
  /** What the drill needs to corrupt copies that still restore; only read when a drill runs. */
  sabotageCatalog?: SabotageCatalog
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

    const backupFile = workspace.backupFile
    await core.group('Sanitize', () => sanitize(cleanroom!, tools, dumpFile, backupFile, workspace, report))

    const verification = await verifyCopy(backupFile, 'backup', cleanroom, tools, settings, snapshot, report)
    if (verification.restoreError !== undefined) {
      report.result = 'restore-failed'
      report.error = verification.restoreError
      return
    }
    report.tables = verification.tables
    report.schema = verification.schema
    const clean = report.tables.every(table => table.match) && verification.schema.length === 0
    report.result = clean ? 'verified' : 'mismatch'

    const drillStarted = performance.now()
    for (const operator of settings.sabotage) {
      report.sabotage.push(
        await core.group(`Sabotage drill: ${operator}`, () =>
          runDrill(operator, backupFile, cleanroom!, tools, settings, snapshot, workspace, report)
        )
      )
    }
    if (settings.sabotage.length > 0) report.timings.drill = elapsed(drillStarted)
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
  for (const [side, facts] of [['production', productionFacts], ['clean room', cleanroomFacts]] as const) {
    // The catalog fingerprint reads columns (generated columns, partitions) that PostgreSQL 12 introduced.
    if (facts.major < OLDEST_SUPPORTED_MAJOR) {
      throw new UserError(`The ${side} runs PostgreSQL ${facts.serverVersion}; Lazarus supports PostgreSQL ${OLDEST_SUPPORTED_MAJOR} or newer.`)
    }
  }
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
  const sequencesBefore = await readSequenceValues(exporter)
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
  const sequencesAfter = await readSequenceValues(exporter)
  const schema = await readSchemaFingerprint(exporter)
  const primaryKeys = await readPrimaryKeys(exporter)
  const sabotageCatalog =
    settings.sabotage.length > 0
      ? await readSabotageCatalog(exporter, new Map(figures.map(side => [tableKey(side), side.figures.rows ?? 0])))
      : undefined
  report.dumpBytes = fileSize(dumpFile)
  core.info(`Dumped ${formatBytes(report.dumpBytes)} in ${report.timings.dump?.toFixed(2)} s.`)
  return { exporter, tables, figures, schema, sequencesBefore, sequencesAfter, primaryKeys, sabotageCatalog, database }
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
  await runSedProgram(program, workspace.file('sanitize.sed'), dumpFile, backupFile)
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
  /** Schema objects and sequences that differ. */
  schema: SchemaDifference[]
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
      return { restoreError: restored.error, tables: [], schema: [] }
    }
    const verify = () => verifyRestored(target, settings, snapshot, isBackup ? 'restored' : `${purpose} copy`)
    if (!isBackup) return await verify()
    return await core.group('Verify', async () => {
      const started = performance.now()
      const verification = await verify()
      report.timings.verify = (report.timings.verify ?? 0) + elapsed(started)
      logVerification(verification, settings)
      return verification
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

/**
 * Fingerprints a restored copy like production (tables, schema, sequences), compares, and pins
 * each differing table's difference to rows by comparing hash aggregates on both sides.
 */
async function verifyRestored(target: ConnectionTarget, settings: Settings, snapshot: ProductionSnapshot, side: string): Promise<CopyVerification> {
  const sessions: DatabaseSession[] = []
  try {
    for (let i = 0; i < settings.jobs; i++) {
      const session = await DatabaseSession.open(target, 'cleanroom')
      sessions.push(session)
      await session.pinSettings()
    }
    const [restored] = sessions
    const tables = compareTables(snapshot.figures, await fingerprint(sessions, await restored.listTables(), settings, false, side))
    const schema = await compareSchemas(restored, snapshot)
    await pinRows(tables, restored, snapshot, settings)
    return { tables, schema }
  } finally {
    for (const session of sessions) await session.close()
  }
}

async function compareSchemas(restored: DatabaseSession, snapshot: ProductionSnapshot): Promise<SchemaDifference[]> {
  const restoredSchema = await readSchemaFingerprint(restored)
  const restoredSequences = await readSequenceValues(restored)
  const behind = await findSequencesBehindData(restored)
  // A sequence production itself has behind its data is faithfully restored, not broken.
  const productionBehind = behind.length > 0 ? await snapshot.exporter.withSavepoint(() => findSequencesBehindData(snapshot.exporter)) : []
  return [
    ...diffSchema(snapshot.schema, restoredSchema),
    ...compareSequences(snapshot.sequencesBefore, snapshot.sequencesAfter, restoredSequences, behind, productionBehind)
  ].sort(byKindAndName)
}

/** Finds which rows differ in each table whose figures differ (both sides readable). */
async function pinRows(tables: TableComparison[], restored: DatabaseSession, snapshot: ProductionSnapshot, settings: Settings): Promise<void> {
  const refs = new Map(snapshot.tables.map(table => [tableKey(table), table]))
  for (const table of tables) {
    const ref = refs.get(tableKey(table))
    const comparable = !table.match && ref?.populated && table.production.rows !== undefined && table.restored.rows !== undefined
    if (!comparable) continue
    try {
      table.differences = await snapshot.exporter.withSavepoint(() =>
        pinDifferingRows(snapshot.exporter, restored, ref, snapshot.primaryKeys.get(tableKey(table)), {
          maxRows: settings.maxRowsReported,
          showValues: settings.showValues
        })
      )
    } catch (error) {
      core.warning(`Could not pin the differing rows of ${displayName(table)}: ${messageOf(error)}`)
    }
  }
}

/** One line per table, and one annotation per difference a person must see. */
function logVerification(verification: CopyVerification, settings: Settings): void {
  for (const table of verification.tables) {
    if (table.match) {
      core.info(`✓ ${displayName(table)}: ${table.production.rows} rows match`)
      continue
    }
    core.error(`${displayName(table)}: ${table.difference}${describeRows(table, settings)}`, {
      title: 'Lazarus: restored table differs from production'
    })
  }
  for (const difference of verification.schema) {
    core.error(
      `${difference.kind} ${difference.name}: production ${difference.production ?? '(missing)'}; restored ${difference.restored ?? '(missing)'}`,
      { title: 'Lazarus: restored schema differs from production' }
    )
  }
}

function describeRows(table: TableComparison, settings: Settings): string {
  const rows = table.differences
  if (!rows) return ''
  const counts = [`${rows.missing} missing`, `${rows.extra} extra`, `${rows.changed} changed`].join(', ')
  const listed = rows.keys.map(row => {
    const values = settings.showValues ? ` (production ${row.production ?? '—'}, restored ${row.restored ?? '—'})` : ''
    return `${row.change} ${row.key}${values}`
  })
  const more = rows.notListed > 0 ? `; ${rows.notListed} more not listed` : ''
  return ` — ${counts}${listed.length > 0 ? ': ' + listed.join('; ') : ''}${more}`
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
  const plan = snapshot.sabotageCatalog ? planSabotage(operator, snapshot.sabotageCatalog) : undefined
  if (!plan) {
    core.warning(`Sabotage ${operator}: nothing in this schema can take this corruption and still restore; drill skipped.`)
    return { operator, target: null, applied: false, detected: false, detectedBy: null, evidence: 'no eligible target' }
  }
  const copyFile = workspace.file(`sabotage-${operator}.sql`)
  try {
    await rewriteDump(backupFile, copyFile, plan.rewriter)
    const injected = plan.rewriter.result()
    if (!injected) {
      core.warning(`Sabotage ${operator}: ${plan.target} was not found in the dump; drill skipped.`)
      return { operator, target: plan.target, applied: false, detected: false, detectedBy: null, evidence: 'target not found in the dump' }
    }
    core.info(`Sabotaged ${plan.target}: ${injected.evidence}.`)
    const verification = await verifyCopy(copyFile, `drill_${operator}`, cleanroom, tools, settings, snapshot, report)
    const result = judgeDrill(plan, injected.evidence, verification, settings)
    if (result.detected) core.info(`Caught by ${result.detectedBy}: ${result.evidence}`)
    else if (result.expectedMiss) core.notice(`Sabotage ${operator} on ${plan.target} went unnoticed, as expected: ${result.expectedMiss}`)
    else core.error(`Sabotage ${operator} on ${plan.target} went undetected.`, { title: 'Lazarus: sabotage missed' })
    return result
  } finally {
    workspace.removeFile(copyFile)
  }
}

/** Whether verifying a sabotaged copy reported the corruption, by which check, with what evidence. */
function judgeDrill(plan: SabotagePlan, injected: string, verification: CopyVerification, settings: Settings): SabotageResult {
  const base = { operator: plan.operator, target: plan.target, applied: true }
  if (verification.restoreError !== undefined) {
    return { ...base, detected: true, detectedBy: 'restore', evidence: `${injected}; restore failed: ${verification.restoreError}` }
  }
  const flagged = plan.targetTable && verification.tables.find(table => tableKey(table) === tableKey(plan.targetTable!) && !table.match)
  if (flagged) {
    const rows = flagged.differences?.keys.map(row => `${row.change} ${row.key}`).join(', ')
    return { ...base, detected: true, detectedBy: detectingCheck(flagged), evidence: `${injected}; ${flagged.difference}${rows ? ` (${rows})` : ''}` }
  }
  const schemaHit = plan.targetObject && verification.schema.find(difference => namesTarget(difference, plan.targetObject!))
  if (schemaHit) {
    const detectedBy = plan.targetObject!.kind === 'sequence' && plan.caughtBy.includes('sequences') ? 'sequences' : 'schema'
    return {
      ...base,
      detected: true,
      detectedBy,
      evidence: `${injected}; ${schemaHit.kind} ${schemaHit.name}: production ${schemaHit.production ?? '(missing)'}, restored ${schemaHit.restored ?? '(missing)'}`
    }
  }
  const expectedMiss = settings.verify === 'counts' ? plan.invisibleToCounts : undefined
  return { ...base, detected: false, detectedBy: null, evidence: `${injected}; went unnoticed`, expectedMiss }
}

/**
 * Whether a schema difference is about the sabotaged object. A dropped index that backed nothing
 * shows as an index; a dropped constraint as a constraint; a reset sequence as a sequence. Names
 * are schema-qualified in the fingerprint, so the last name part must match exactly.
 */
function namesTarget(difference: SchemaDifference, object: NonNullable<SabotagePlan['targetObject']>): boolean {
  if (difference.kind !== object.kind) return false
  const last = /(?:"((?:[^"]|"")*)"|([^."]+))$/.exec(difference.name)
  const lastPart = last?.[1] !== undefined ? last[1].replace(/""/g, '"') : last?.[2]
  return lastPart === object.name
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
