import * as fs from 'node:fs'
import * as zlib from 'node:zlib'
import * as core from '@actions/core'
import { detectBackup, HEAD_BYTES, type StoredBackup } from './backup-format.js'
import { onCancel } from './cancellation.js'
import { CleanRoom } from './cleanroom.js'
import { compareTables, displayName, type SideFigures } from './compare.js'
import { describe, type ConnectionTarget } from './connection.js'
import { DatabaseSession } from './database.js'
import { UserError } from './errors.js'
import { assertSeparateClusters } from './guards.js'
import {
  archivePreamble,
  majorOfVersion,
  plainDumpHasOwners,
  readArchiveToc,
  resolveRestoreTools,
  standardConformingStringsOf,
  type ArchiveToc,
  type RestoreTools
} from './pg-restore.js'
import {
  OLDEST_SUPPORTED_MAJOR,
  dropOrKeep,
  elapsed,
  failurePlace,
  fingerprint,
  logSanitized,
  onTimeline,
  planRoles,
  sanitizeFilter,
  writeLocationCheck,
  type SanitizeFilter
} from './pipeline.js'
import { readPrivileges } from './privileges.js'
import type { Report, ReportTable } from './report.js'
import { tocEntryAt } from './restore-failure.js'
import { byKindAndName, diffSchema, readSchemaFingerprint, type SchemaDifference } from './schema-fingerprint.js'
import { requireProduction, type ProductionSettings, type Settings } from './settings.js'

/** The manifest's file name beside a backup (manifest.ts). */
const MANIFEST_NAME = 'lazarus-manifest.json'
import { explainSkewFailure } from './skew-catalogue.js'
import { saveWorkDir } from './state.js'
import { restoreStoredBackup, tocLines } from './stored-restore.js'
import type { Workspace } from './workspace.js'

/**
 * Verifies a stored backup (input backup-path) instead of a fresh dump. Without a manifest it is
 * restore-tested: it must restore, and its schema and tables are compared with production as it
 * is now; its content cannot be proven (production has moved on since the backup was taken), so
 * the best verdict is `restored`, never `verified`.
 */
export async function verifyStoredBackup(givenSettings: Settings, workspace: Workspace, report: Report): Promise<void> {
  const backupPath = givenSettings.backupPath
  if (!backupPath) throw new Error('verifyStoredBackup needs backup-path')
  const backup = detectBackup(backupPath)
  if (givenSettings.manifestPath) {
    throw new UserError("Input 'manifest-path' is set, but this build of Lazarus does not read manifests yet: leave it empty.")
  }
  report.backup = { path: backup.path, format: backup.format, gzip: backup.gzip, bytes: backup.bytes, contentProven: false }
  report.dumpBytes = backup.bytes
  core.info(`Stored backup ${backup.path}: ${describeBackup(backup)}, ${backup.bytes} bytes (told by its content).`)
  if (givenSettings.sabotage.length > 0) {
    throw new UserError(
      "Input 'sabotage' needs a fresh dump or a stored backup with its manifest: without a manifest the stored backup's content " +
        'is not compared, so no corruption of it could be caught. Set sabotage to none, or verify the backup with its manifest.'
    )
  }
  const settings = requireProduction(
    givenSettings,
    `to restore-test a stored backup without its manifest (no ${MANIFEST_NAME} beside it, and no manifest-path): its schema is compared with production's`
  )
  assertSeparateClusters(settings.production, settings.cleanroom)
  saveWorkDir(workspace.workDir)
  const tools = await resolveRestoreTools(backup.format, settings.postgresBinDir)
  report.tools = {
    ...(tools.pgRestore ? { pg_restore: { path: tools.pgRestore.path, version: tools.pgRestore.version } } : {}),
    psql: { path: tools.psql.path, version: tools.psql.version }
  }
  // An archive pg_restore cannot read fails here, before any server is touched.
  const toc = backup.format === 'plain' ? undefined : await readArchiveToc(tools, backup)
  const head = await sqlHead(backup, tools, workspace)
  const dumpedFrom = toc?.header['Dumped from database version'] ?? /Dumped from database version (\S+)/.exec(head)?.[1]
  const dumpedBy = toc?.header['Dumped by pg_dump version'] ?? /Dumped by pg_dump version (\S+)/.exec(head)?.[1]
  if (dumpedFrom) report.backup.dumpedFrom = dumpedFrom
  if (toc) core.info(`pg_restore ${tools.pgRestore!.version} reads it: ${toc.entries} entries.`)

  const production = await core.group('Connect', () => DatabaseSession.open(settings.production, 'production'))
  let cleanroom: CleanRoom | undefined
  const closeAll = async () => {
    await cleanroom?.close()
    await production.close()
  }
  const stopCancelHandler = onCancel(async () => {
    await closeAll()
    workspace.removeWorkFiles()
  })
  try {
    cleanroom = await CleanRoom.open(settings.cleanroom, workspace.runId)
    const cleanroomMajor = await core.group('Check servers', () => checkServers(production, cleanroom!, settings, report))
    const database = await production.databaseFacts()
    const roles =
      backup.format === 'plain' && plainDumpHasOwners(head) === false
        ? withoutOwners(report, 'the plain dump was taken without owners (pg_dump --no-owner)')
        : await planRoles(production, cleanroom, report)
    const filter = await sanitizeFilter(standardConformingStringsOf(head), cleanroom, tools, workspace)
    const target = await cleanroom.createScratchDatabase('backup', database)
    try {
      if (roles.restore) await cleanroom.roles.provide(target.database)
      const checkFile = writeLocationCheck(cleanroom, target, workspace.file('restore-check.sql'))
      const restored = await core.group(`Sanitize and restore the stored backup (${describeBackup(backup)})`, () =>
        restore(backup, toc, tools, target, filter, checkFile, settings, workspace, report, roles.restore, {
          encoding: database.encoding,
          cleanroomMajor,
          dumpedFrom,
          dumpedBy
        })
      )
      if (!restored) return
      await core.group('Compare with production as it is now', () =>
        compareWithProductionNow(production, target, settings, report)
      )
    } finally {
      await dropOrKeep(cleanroom, target, settings)
    }
  } finally {
    stopCancelHandler()
    await closeAll()
  }
}

/** Owners and privileges left out of the restore and the comparison, and said so. */
function withoutOwners(report: Report, reason: string): { restore: false; provided: string[]; existing: string[] } {
  report.privileges = { compared: false, reason, rolesCreated: [], rolesExisting: [] }
  core.warning(`Owners and privileges are not verified: ${reason}.`, { title: 'Lazarus: owners and privileges not verified' })
  return { restore: false, provided: [], existing: [] }
}

function describeBackup(backup: StoredBackup): string {
  return backup.format === 'plain' ? (backup.gzip ? 'plain SQL, gzip-compressed' : 'plain SQL') : `${backup.format} archive`
}

/** The first bytes of the backup's SQL: the preamble pg_dump writes (its settings, its header comments). */
async function sqlHead(backup: StoredBackup, tools: RestoreTools, workspace: Workspace): Promise<string> {
  if (backup.format !== 'plain') return archivePreamble(tools, backup, workspace.file('empty.list'))
  const fd = fs.openSync(backup.path, 'r')
  try {
    const buffer = Buffer.alloc(HEAD_BYTES)
    const read = fs.readSync(fd, buffer, 0, HEAD_BYTES, 0)
    const head = buffer.subarray(0, read)
    return (backup.gzip ? zlib.gunzipSync(head, { finishFlush: zlib.constants.Z_SYNC_FLUSH }) : head).toString('latin1')
  } finally {
    fs.closeSync(fd)
  }
}

/** Versions, the separate-cluster guard and the clean room's CREATEDB right; returns the clean room's major. */
async function checkServers(
  production: DatabaseSession,
  cleanroom: CleanRoom,
  settings: ProductionSettings,
  report: Report
): Promise<number> {
  const [productionFacts, cleanroomFacts] = await Promise.all([production.serverFacts(), cleanroom.maintenance.serverFacts()])
  report.production.serverVersion = productionFacts.serverVersion
  report.cleanroom.serverVersion = cleanroomFacts.serverVersion
  for (const [side, facts] of [
    ['production', productionFacts],
    ['clean room', cleanroomFacts]
  ] as const) {
    if (facts.major < OLDEST_SUPPORTED_MAJOR) {
      throw new UserError(
        `The ${side} runs PostgreSQL ${facts.serverVersion}; Lazarus supports PostgreSQL ${OLDEST_SUPPORTED_MAJOR} or newer.`
      )
    }
  }
  core.info(`Production: PostgreSQL ${productionFacts.serverVersion} at ${describe(settings.production)} (read-only session)`)
  core.info(`Clean room: PostgreSQL ${cleanroomFacts.serverVersion} at ${describe(settings.cleanroom)}`)
  const [productionIdentity, cleanroomIdentity] = await Promise.all([
    production.clusterIdentity(),
    cleanroom.maintenance.clusterIdentity()
  ])
  assertSeparateClusters(settings.production, settings.cleanroom, {
    production: productionIdentity,
    cleanroom: cleanroomIdentity
  })
  cleanroom.recordIdentity(cleanroomIdentity)
  await cleanroom.assertCanCreateDatabases()
  return cleanroomFacts.major
}

/** Restores the backup; false (with the report filled) when it did not restore. An unreadable backup throws. */
async function restore(
  backup: StoredBackup,
  toc: ArchiveToc | undefined,
  tools: RestoreTools,
  target: ConnectionTarget,
  filter: SanitizeFilter,
  checkFile: string,
  settings: Settings,
  workspace: Workspace,
  report: Report,
  withOwnersAndPrivileges: boolean,
  context: { encoding: string; cleanroomMajor: number; dumpedFrom?: string; dumpedBy?: string }
): Promise<boolean> {
  const startedAt = Date.now() / 1000
  const outcome = await restoreStoredBackup({
    backup,
    toc,
    tools,
    target,
    filter: filter.argv,
    checkFile,
    workspace,
    jobs: settings.jobs,
    withOwnersAndPrivileges
  })
  report.timings.restore = outcome.seconds
  report.backup!.pipelines = outcome.pipelines
  onTimeline(report, 'Restore', startedAt, Date.now() / 1000)
  report.sanitized = filter.removed()
  logSanitized(report)
  if (outcome.ok) {
    core.info(
      `Sanitized and restored into ${target.database} in ${outcome.seconds.toFixed(2)} s (${outcome.pipelines} pipeline(s)).`
    )
    return true
  }
  const stopped = filter.stopped()
  if (stopped) throw new UserError(stopped)
  if (outcome.stage !== 'restore') throw new UserError(outcome.error)
  const productionMajor = majorOfVersion(context.dumpedFrom ?? '') ?? context.cleanroomMajor
  const skew = explainSkewFailure({
    error: outcome.error,
    cleanroomMajor: context.cleanroomMajor,
    productionMajor,
    pgDumpMajor: majorOfVersion(context.dumpedBy ?? '') ?? productionMajor
  })
  report.result = 'restore-failed'
  report.error = skew ? `${outcome.error} | ${skew}` : outcome.error
  const place = await failurePlace(outcome.error, context.encoding, line => tocEntryAt(tocLines(outcome), line))
  if (place) {
    report.restoreFailedAt = place
    core.info(`The restore stopped ${place}.`)
  }
  return false
}

/**
 * Compares the restored copy with production as it is now: the schema (and owners and
 * privileges, when restored) must match; tables must be the same set, their row counts are
 * shown side by side but not judged, since production has moved on since the backup was taken.
 */
async function compareWithProductionNow(
  production: DatabaseSession,
  target: ConnectionTarget,
  settings: Settings,
  report: Report
): Promise<void> {
  const started = performance.now()
  const startedAt = Date.now() / 1000
  const counting = { ...settings, verify: 'counts' as const }
  await production.pinSettings()
  await production.beginSnapshot()
  const sessions: DatabaseSession[] = []
  try {
    for (let i = 0; i < settings.jobs; i++) {
      const session = await DatabaseSession.open(target, 'cleanroom')
      sessions.push(session)
      await session.pinSettings()
    }
    const [restored] = sessions
    const productionTables = await production.listTables()
    const productionFigures = await fingerprint([production], productionTables, counting, true, 'production')
    const restoredFigures = await fingerprint(sessions, await restored.listTables(), counting, false, 'restored')
    const schema = [
      ...diffSchema(await readSchemaFingerprint(production), await readSchemaFingerprint(restored)),
      ...(report.privileges?.compared ? diffSchema(await readPrivileges(production), await readPrivileges(restored)) : [])
    ].sort(byKindAndName)
    report.tables = judgeTablesUnproven(productionFigures, restoredFigures)
    report.schema = schema
    report.result = report.tables.every(table => table.match) && schema.length === 0 ? 'restored' : 'mismatch'
    logComparison(report.tables, schema)
  } finally {
    for (const session of sessions) await session.close()
    await production.query('COMMIT').catch(() => undefined)
    report.timings.verify = elapsed(started)
    onTimeline(report, 'Compare', startedAt, Date.now() / 1000)
  }
}

/**
 * Tables compared without proof of content: a table on one side only is a mismatch (the schema
 * differs), a table on both restored; row counts differ as production's data moves on. Pure.
 */
export function judgeTablesUnproven(production: SideFigures[], restored: SideFigures[]): ReportTable[] {
  return compareTables(production, restored).map(table => {
    const onBothSides = table.difference !== 'missing from the restored copy' && table.difference !== 'not in production'
    const kindDiffers = table.difference?.startsWith('a materialized view in') || table.difference?.startsWith('a table in')
    const unreadable = table.difference?.startsWith('could not be read') || table.difference === 'row count not read'
    if (!onBothSides || kindDiffers || unreadable) return table
    const rows =
      table.derived || table.production.rows === undefined || table.restored.rows === undefined
        ? 'restored'
        : table.production.rows === table.restored.rows
          ? 'restored; same row count as production now'
          : `restored; ${table.restored.rows} rows, production has ${table.production.rows} now`
    const { difference: _difference, ...rest } = table
    void _difference
    return { ...rest, match: true, unproven: `${rows} (content not proven without a manifest)` }
  })
}

function logComparison(tables: ReportTable[], schema: SchemaDifference[]): void {
  for (const table of tables) {
    if (table.match) core.info(`✓ ${displayName(table)}: ${table.unproven}`)
    else
      core.error(`${displayName(table)}: ${table.difference}`, {
        title: "Lazarus: stored backup's tables differ from production's"
      })
  }
  for (const difference of schema) {
    core.error(
      `${difference.kind} ${difference.name}: production now ${difference.production ?? '(missing)'}; restored ${difference.restored ?? '(missing)'}`,
      { title: "Lazarus: stored backup's schema differs from production's" }
    )
  }
}
