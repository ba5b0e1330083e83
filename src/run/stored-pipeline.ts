import * as core from '@actions/core'
import { compareTables, type SideFigures } from '../verification/compare.js'
import { displayName, tableKey } from '../util/table-name.js'
import { UserError, withHint } from '../util/errors.js'
import { checkBackupFiles, describeFileProblem, formatProblem, type Manifest } from '../report/manifest.js'
import {
  amcheckRestored,
  dropOrKeep,
  readFigures,
  planRoles,
  required,
  restoreRoleOf,
  runContext,
  standInsByName,
  drillContext,
  recordRestoreRights,
  recordRolePlan,
  replayOwners,
  verifyRestored,
  type ProductionSnapshot
} from './pipeline.js'
import { elapsed, logSanitized, onTimeline } from './snapshot-stream.js'
import type {
  DatabaseDefaults,
  OpenedBackup,
  OwnersPlan,
  PrivilegeReplay,
  RestoreRights,
  Sanitizer,
  SchemaObjectDifference as SchemaDifference,
  SeamSession
} from '../engines/types.js'
import type { CleanRoom } from './cleanroom.js'
import { writeLocationCheck, type RunContext } from './run-context.js'
import { refuseUnsupportedServers } from './server-checks.js'
import {
  judgeBackupFiles,
  judgeRestored,
  judgeRestoreFailed,
  judgeVerified,
  type Report,
  type ReportTable
} from '../report/report.js'
import { requireProduction, type Settings } from './settings.js'
import { runDrill } from './drill-copies.js'
import { saveWorkDir } from '../util/leftovers.js'
import {
  assertNotManifestProduction,
  functionsAcrossMajors,
  notComparable,
  readEvidence,
  rolesNamedBy,
  snapshotFromManifest,
  type Evidence
} from './stored-evidence.js'
import { logVerification } from './copy-findings.js'
import { byKindAndName } from '../util/text-order.js'
import type { Workspace } from './workspace.js'
import { restorePointsOf } from './restore-point.js'

/**
 * Verifies a stored backup (input backup-path) instead of a fresh dump.
 * - With its manifest: the files' sha256 first (a backup that is not the one the manifest
 *   describes is a mismatch before anything is restored), the signature with verify-key; then
 *   the restored copy is compared with the manifest's figures by the fresh run's own comparison,
 *   with no connection to production at all. The drill corrupts copies of the restored stream.
 * - Without one, it is restore-tested: it must restore, and its schema and tables are compared
 *   with production as it is now; its content cannot be proven (production has moved on since
 *   the backup was taken), so the best verdict is `restored`, never `verified`.
 */
export async function verifyStoredBackup(givenSettings: Settings, workspace: Workspace, report: Report): Promise<void> {
  const backupPath = givenSettings.backupPath
  if (!backupPath) throw new Error('verifyStoredBackup needs backup-path')
  // The run's context sets the lock waits and TCP safeguards of every session from the inputs, as in the fresh run.
  // Its settings are these: requireProduction below only vouches that production is there.
  const context = runContext(givenSettings, workspace, report)
  const restorePoints = restorePointsOf(context.engine)
  const backup = restorePoints.detectBackup(backupPath)
  report.backup = { path: backup.path, format: backup.format, gzip: backup.gzip, bytes: backup.bytes, contentProven: false }
  report.dumpBytes = backup.bytes
  core.info(`Stored backup ${backup.path}: ${restorePoints.describeBackup(backup)}, ${backup.bytes} bytes (told by its content).`)
  const evidence = readEvidence(givenSettings, backup.path, restorePoints.manifest)
  if (!evidence && givenSettings.sabotage.length > 0) {
    throw new UserError(
      "Input 'sabotage' needs a fresh dump or a stored backup with its manifest: without a manifest the stored backup's content " +
        'is not compared, so no corruption of it could be caught. Set sabotage to none, or verify the backup with its manifest.'
    )
  }
  const settings = evidence
    ? givenSettings
    : requireProduction(
        givenSettings,
        `to restore-test a stored backup without its manifest (there is no lazarus-manifest.json beside it, and manifest-path is empty): ` +
          `its schema is compared with production's`
      )
  if (evidence) {
    const manifest = evidence.manifest
    report.backup.manifest = evidence.source
    report.production = {
      server: manifest.production.server,
      serverVersion: manifest.production.serverVersion,
      database: manifest.production.database
    }
    core.info(
      `Manifest ${evidence.source}: production ${manifest.production.server} (PostgreSQL ${manifest.production.serverVersion}) ` +
        `at ${manifest.snapshot.takenAt}, ${manifest.figures.tables.length} table(s), verify: ${manifest.figures.verify}.`
    )
    if (settings.production) {
      core.info('production-url is not used: the manifest alone proves the backup, and Lazarus does not connect to production.')
    }
    const problems = await core.group("Check the backup's files against the manifest (sha256)", () =>
      checkBackupFiles(manifest, backup.path)
    )
    const format = formatProblem(manifest, backup)
    const fileProblems = [...(format ? [format] : []), ...problems].map(describeFileProblem)
    const files = judgeBackupFiles(fileProblems)
    if (files) {
      Object.assign(report, files)
      report.backup.fileProblems = fileProblems
      for (const problem of report.backup.fileProblems) {
        core.error(problem, { title: 'Lazarus: the stored backup is not the one its manifest describes' })
      }
      return
    }
    core.info(`All ${manifest.files.length} file(s) of the backup match the manifest's sizes and sha256.`)
  }
  // The URLs alone: a clean room that is production by its address is refused before anything connects.
  if (settings.production) context.engine.assertSeparateTargets(settings.production, settings.cleanroom)
  saveWorkDir(workspace.workDir)
  const tools = await restorePoints.findRestoreTools(backup, settings.binDir)
  report.tools = restorePoints.restorePrograms(tools)
  // A backup its reader cannot read (an archive pg_restore refuses) fails here, before any server is touched.
  const opened = await restorePoints.openBackup(backup, tools, workspace.file('empty.list'))
  if (opened.dumpedFrom) report.backup.dumpedFrom = opened.dumpedFrom
  if (opened.readBy) core.info(opened.readBy)

  // Without a manifest, production as it is now is the only reference; with one, production is never connected.
  const production = evidence ? undefined : await context.connectProduction()
  const { group } = context
  await context.run(async () => {
    const room = context.cleanroom
    // A stored backup carries owners and privileges: only an engine that restores them keeps restore points.
    const owners = required(context.engine, 'ownersAndPrivileges')
    const cleanroomMajor = await group('Check servers', () => checkServers(context, evidence))
    const rights = await owners.setUpRestoreRights(room.roles, restoreRoleOf(context))
    recordRestoreRights(rights, report)
    const defaults: DatabaseDefaults = evidence
      ? restorePoints.databaseDefaults(evidence.manifest.production)
      : await production!.databaseDefaults()
    const roles = evidence
      ? await planManifestRoles(context, evidence.manifest, room, report)
      : opened.replaysOwners === false
        ? withoutOwners(report, 'the plain dump was taken without owners (pg_dump --no-owner)')
        : await planRoles(context)
    // A plain dump replays its owners and grants whatever the plan: only a superuser can (restore-role.ts).
    if (!roles.restore && rights.mode === 'unprivileged' && opened.replaysOwners === true) {
      throw new UserError(
        `The stored plain backup carries owners and privileges (ALTER ... OWNER TO, GRANT), which only a superuser can ` +
          `replay, and the restore runs as ${rights.role} without superuser rights (restore-role: ${rights.mode}): set ` +
          `restore-role: superuser to restore it as the clean-room role, or keep backups in the custom or directory format, ` +
          `from which pg_restore leaves them out.`
      )
    }
    // The drill corrupts copies of the sanitized SQL stream (after pg_restore -f -), kept whole by sed: one pipeline then.
    const drill = settings.sabotage.length > 0
    // Restored by Lazarus's own role, the owners and grants are replayed by the clean-room role afterwards.
    const replay = owners.privilegeReplay(room.roles, roles, defaults.characterSet)
    const routedFile = replay ? workspace.file('privileged.sql') : undefined
    const filter = await context.engine.sanitizer.build(room.maintenance, {
      tools,
      workFile: name => workspace.file(name),
      standardConformingStrings: opened.standardConformingStrings,
      copyFile: drill ? workspace.backupFile : undefined,
      routedFile,
      routedRoles: replay?.onlyNaming
    })
    const target = await context.createScratchDatabase('backup', defaults)
    let snapshot: ProductionSnapshot | undefined
    let verifiedSettings: Settings = settings
    try {
      // The roles the backup names (when owners and privileges are restored), then the restore role's admission.
      await owners.prepareRestore(room.roles, target)
      const checkFile = writeLocationCheck(context, target, workspace.file('restore-check.sql'))
      const restored = await group(`Sanitize and restore the stored backup (${restorePoints.describeBackup(backup)})`, () =>
        restore(context, opened, owners.restoreTarget(room.roles, target), filter, checkFile, {
          withOwnersAndPrivileges: roles.restore,
          single: drill,
          encoding: defaults.characterSet,
          cleanroomMajor,
          rights
        })
      )
      if (!restored) return
      if (replay && !(await replayOwners(context, "the backup's", { tools, target, filter, checkFile, replay }))) return
      if (!evidence) {
        await group('Compare with production as it is now', () => compareWithProductionNow(context, target, replay))
        if (settings.checks.length > 0) {
          // A check's answer is content: production's answer now says nothing about the backup's.
          core.warning(
            `The ${settings.checks.length} check(s) of 'checks' are not run: without a manifest there is no answer from when the backup was taken to compare with.`,
            { title: 'Lazarus: checks not compared' }
          )
        }
        if (settings.amcheck) {
          report.amcheck = await group('amcheck on the restored copy', () => amcheckRestored(context, target, settings, report))
          Object.assign(report, judgeRestored(report))
        }
        return
      }
      ;({ snapshot, settings: verifiedSettings } = await group('Verify against the manifest', () =>
        compareWithManifest(context, evidence, target, cleanroomMajor, replay)
      ))
      if (settings.amcheck)
        report.amcheck = await group('amcheck on the restored copy', () => amcheckRestored(context, target, settings, report))
      if (drill) {
        // The drill's targets, from the restored copy, which the manifest has just vouched for.
        snapshot.drillCatalog = await readRestoredDrillCatalog(context, target, snapshot, roles)
      }
    } finally {
      await dropOrKeep(context, 'backup')
    }
    if (!drill || !snapshot) return
    const drillStarted = performance.now()
    const drillStartedAt = Date.now() / 1000
    for (const operator of settings.sabotage) {
      report.sabotage.push(
        await group(`Sabotage drill: ${operator}`, () =>
          runDrill(operator, workspace.backupFile, drillContext(context, tools, verifiedSettings, snapshot!, defaults))
        )
      )
    }
    report.timings.drill = elapsed(drillStarted)
    onTimeline(report, 'Drill', drillStartedAt, Date.now() / 1000)
  })
}

/** Owners and privileges left out of the restore and the comparison, and said so. */
function withoutOwners(report: Report, reason: string): OwnersPlan {
  report.privileges = { compared: false, reason, rolesCreated: [], rolesExisting: [] }
  core.warning(`Owners and privileges are not verified: ${reason}.`, { title: 'Lazarus: owners and privileges not verified' })
  return { restore: false, provided: [], existing: [] }
}

/**
 * Versions, the separate-cluster guard (with production's identity when production is
 * connected, else the manifest's) and the clean room's CREATEDB right; returns the clean room's major.
 */
async function checkServers(context: RunContext, evidence: Evidence | undefined): Promise<number> {
  const { settings, report, cleanroom, production, engine } = context
  const cleanroomFacts = await cleanroom.maintenance.facts()
  const productionFacts = production ? await production.facts() : undefined
  if (productionFacts) report.production.serverVersion = productionFacts.version
  report.cleanroom.serverVersion = cleanroomFacts.version
  refuseUnsupportedServers(engine, [
    ['production', productionFacts],
    ['clean room', cleanroomFacts]
  ])
  if (production && settings.production) {
    core.info(
      `Production: ${productionFacts!.product} ${productionFacts!.version} at ${engine.describe(settings.production)} (read-only session)`
    )
  }
  core.info(`Clean room: ${cleanroomFacts.product} ${cleanroomFacts.version} at ${engine.describe(settings.cleanroom)}`)
  // What the separate-servers check establishes about the clean room (its facts' instance): every restore's location check names it.
  const cleanroomIdentity = cleanroomFacts.instance
  if (production) await engine.assertSeparateServers(production, cleanroom.maintenance)
  // Without production to ask, the manifest says which server production is.
  if (evidence) assertNotManifestProduction(evidence, engine.describe(settings.cleanroom), cleanroomIdentity)
  context.cleanroomIdentity = cleanroomIdentity
  await context.assertCanCreateDatabases()
  return cleanroomFacts.major
}

/**
 * Whether the manifest's owners and privileges can be restored: only when pg_dump kept them and
 * the clean room can provide every role they name (cleanroom-roles.ts); otherwise they are left
 * out of the restore and reported as not verified.
 */
async function planManifestRoles(context: RunContext, manifest: Manifest, cleanroom: CleanRoom, report: Report) {
  const privileges = manifest.figures.privileges
  if (!manifest.dump.ownersAndPrivileges || !privileges) {
    return withoutOwners(
      report,
      'the manifest holds no owners and privileges (the run that kept the backup could not verify them)'
    )
  }
  const named = rolesNamedBy(privileges).map(name => ({ name, superuser: false }))
  const plan = await required(context.engine, 'ownersAndPrivileges').planRoles(cleanroom.roles, named)
  return recordRolePlan(plan, report, "Owners and privileges are restored and compared with the manifest's.")
}

/** Restores the backup; false (with the report filled) when it did not restore. An unreadable backup throws. */
async function restore(
  context: RunContext,
  backup: OpenedBackup,
  target: unknown,
  filter: Sanitizer,
  checkFile: string,
  how: {
    withOwnersAndPrivileges: boolean
    single: boolean
    encoding: string
    cleanroomMajor: number
    rights?: RestoreRights
  }
): Promise<boolean> {
  const { settings, workspace, report } = context
  const { withOwnersAndPrivileges, single } = how
  const startedAt = Date.now() / 1000
  const outcome = await backup.restore({
    target,
    sanitizer: filter,
    checkFile,
    workDir: workspace.workDir,
    jobs: settings.jobs,
    withOwnersAndPrivileges,
    single,
    limits: settings
  })
  report.timings.restore = outcome.seconds
  report.backup!.pipelines = outcome.pipelines
  onTimeline(report, 'Restore', startedAt, Date.now() / 1000)
  report.sanitized = filter.removed()
  logSanitized(report)
  if (outcome.ok) {
    core.info(
      `Sanitized and restored into ${context.cleanroom.scratchName('backup')} in ${outcome.seconds.toFixed(2)} s (${outcome.pipelines} pipeline(s)).`
    )
    return true
  }
  const stopped = filter.stopped()
  if (stopped) throw new UserError(stopped)
  if (outcome.stage !== 'restore') throw new UserError(outcome.error)
  const productionMajor = backup.dumpedFromMajor ?? how.cleanroomMajor
  const skew = context.engine.serverChecks?.explainRestoreFailure({
    error: outcome.error,
    cleanroomMajor: how.cleanroomMajor,
    productionMajor,
    dumpMajor: backup.dumpedByMajor ?? productionMajor
  })
  const hint = skew ?? required(context.engine, 'ownersAndPrivileges').missingRightHint(outcome.error, how.rights)
  const place = await outcome.failurePlace(how.encoding)
  Object.assign(report, judgeRestoreFailed(withHint(outcome.error, hint), place))
  if (place) core.info(`The restore stopped ${place}.`)
  return false
}

/**
 * Compares the restored copy with the manifest's figures, by the fresh run's comparison
 * (pipeline.ts verifyRestored) with the manifest as production's side. Figures a clean room of
 * another major cannot be held to are left out and named (notComparable), never passed silently.
 */
async function compareWithManifest(
  context: RunContext,
  evidence: Evidence,
  target: unknown,
  cleanroomMajor: number,
  /** How the owners and privileges were replayed: the restored copy's stand-ins read as the roles they play. */
  replay: PrivilegeReplay | undefined
): Promise<{ snapshot: ProductionSnapshot; settings: Settings }> {
  const { settings, report } = context
  const started = performance.now()
  const startedAt = Date.now() / 1000
  const manifest = evidence.manifest
  const skipped = notComparable(manifest, cleanroomMajor)
  for (const item of skipped) {
    core.warning(`Not compared with the manifest: ${item.figure} (${item.reason}).`, {
      title: 'Lazarus: figures of the manifest this clean room cannot compare'
    })
  }
  if (skipped.length > 0) report.backup!.notCompared = skipped
  // The manifest's level decides: counts only when it holds no checksums.
  const countsOnly = manifest.figures.verify === 'counts' || skipped.some(item => item.figure === 'row checksums')
  if (countsOnly && settings.verify === 'checksums') {
    core.warning("The manifest holds row counts only (its run used verify: counts): the tables' content is compared by count.", {
      title: 'Lazarus: row checksums not compared'
    })
  }
  const { snapshot, checks } = snapshotFromManifest(manifest, settings.checks, skipped, restorePointsOf(context.engine))
  // Before the comparison: it reads the restored copy's owners through the replay's stand-ins.
  snapshot.replay = replay
  const verified: Settings = { ...settings, verify: countsOnly ? 'counts' : settings.verify, checks }
  report.verify = verified.verify
  const verification = await verifyRestored(context, target, verified, snapshot, 'restored')
  const across = functionsAcrossMajors(
    verification.schema.filter(difference => stillCompared(difference, skipped)),
    manifest.figures.computedOn.major,
    cleanroomMajor
  )
  verification.schema = across.differences
  if (across.notCompared) {
    core.warning(`Not compared with the manifest: ${across.notCompared.figure} (${across.notCompared.reason}).`, {
      title: 'Lazarus: figures of the manifest this clean room cannot compare'
    })
    report.backup!.notCompared = [...skipped, across.notCompared]
  }
  report.timings.verify = elapsed(started)
  onTimeline(report, 'Verify', startedAt, Date.now() / 1000)
  logVerification(verification, verified)
  report.tables = verification.tables
  report.schema = verification.schema
  if (verified.checks.length > 0) report.checks = verification.checks
  Object.assign(report, judgeVerified(report))
  report.backup!.contentProven = true
  return { snapshot, settings: verified }
}

/** The difference kinds each figure of notComparable covers. */
const KINDS_OF: Record<string, string[]> = {
  privileges: ['owner', 'privileges', 'default privileges'],
  'large objects': ['large object'],
  sequences: ['sequence']
}
/** When the schema fingerprint is not comparable, what still is. */
const SPARED_BY_SCHEMA_SKIP = new Set(['owner', 'privileges', 'default privileges', 'large object', 'sequence'])
/** Kinds whose definitions' text is not compared under 'view definitions'; an object on one side only still is. */
const DEFINITION_KINDS = new Set(['view', 'materialized view', 'rule'])

/** Whether a schema difference stands, given the figures left out of the comparison. Pure. */
export function stillCompared(
  difference: { kind: string; name: string; production: string | null; restored: string | null },
  skipped: { figure: string }[]
): boolean {
  const figures = new Set(skipped.map(item => item.figure))
  if (figures.has('schema') && !SPARED_BY_SCHEMA_SKIP.has(difference.kind)) return false
  for (const figure of figures) if (KINDS_OF[figure]?.includes(difference.kind)) return false
  const bothSides = difference.production !== null && difference.restored !== null
  return !(figures.has('view definitions') && DEFINITION_KINDS.has(difference.kind) && bothSides)
}

/** What the drill aims at, read from the verified restored copy (production's own catalog at the snapshot, restored). */
async function readRestoredDrillCatalog(
  context: RunContext,
  target: unknown,
  snapshot: ProductionSnapshot,
  roles: OwnersPlan
): Promise<ProductionSnapshot['drillCatalog']> {
  const { workspace } = context
  // Through the run's context: watched like every other session, and closed with the run on any path.
  const sessions: SeamSession[] = []
  try {
    await context.openPinned(target, 'cleanroom', 1, sessions)
    const [session] = sessions
    const rowCounts = new Map(snapshot.figures.map(side => [tableKey(side), side.figures.rows ?? 0]))
    const catalog = await context.engine.readDrillCatalog(session, rowCounts)
    await required(context.engine, 'ownersAndPrivileges').addDrillTargets(catalog, session, roles, workspace.runId)
    return catalog
  } finally {
    for (const session of sessions) await context.release(session)
  }
}

/**
 * Compares the restored copy with production as it is now: the schema (and owners and
 * privileges, when restored) must match; tables must be the same set, their row counts are
 * shown side by side but not judged, since production has moved on since the backup was taken.
 */
async function compareWithProductionNow(context: RunContext, target: unknown, replay?: PrivilegeReplay): Promise<void> {
  const { settings, report, engine } = context
  const production = context.production!
  const started = performance.now()
  const startedAt = Date.now() / 1000
  const counting = { ...settings, verify: 'counts' as const }
  await production.pinSettings()
  await production.beginSnapshot()
  const owners = required(engine, 'ownersAndPrivileges')
  const sessions: SeamSession[] = []
  try {
    await context.openPinned(target, 'cleanroom', settings.jobs, sessions)
    const [restored] = sessions
    const productionTables = await production.listTables()
    const productionFigures = await readFigures(context.engine, [production], productionTables, counting, true, 'production')
    const restoredFigures = await readFigures(context.engine, sessions, await restored.listTables(), counting, false, 'restored')
    let differences = [
      ...engine.diffSchema(await production.readSchema(), await restored.readSchema()),
      ...(report.privileges?.compared
        ? engine.diffSchema(
            await owners.readPrivileges(production),
            await owners.readPrivileges(restored, standInsByName(replay))
          )
        : [])
    ]
    // Another major prints the same objects differently: the clean room settles those (cross-major.ts).
    if (engine.crossMajor && (await production.facts()).major !== (await restored.facts()).major) {
      differences = await engine.crossMajor.settle({ production, restored, standIns: standInsByName(replay) }, differences)
    }
    const schema = differences.sort(byKindAndName)
    report.tables = judgeTablesUnproven(productionFigures, restoredFigures)
    report.schema = schema
    Object.assign(report, judgeRestored(report))
    logComparison(report.tables, schema)
  } finally {
    for (const session of sessions) await context.release(session)
    await production.endSnapshot?.().catch(() => undefined)
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
