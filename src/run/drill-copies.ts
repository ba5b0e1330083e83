import * as fs from 'node:fs'
import * as core from '@actions/core'
import type { DatabaseDefaults, DrillAim, PrivilegeReplay, SeamDrillPlan, StreamOutcome } from '../engines/types.js'
import { rewriteDump } from '../drill/rewrite.js'
import { judgeDrill as judgeAnyDrill, type CopyVerification, type DrillResult } from '../report/report.js'
import { lastLine, messageOf, withHint } from '../util/errors.js'
import { diskFullError } from '../util/work-files.js'
import type { VerifyLevel } from '../verification/compare.js'
import { writeLocationCheck, type RunContext } from './run-context.js'

/**
 * The sabotage drill's copies, for every engine: each operator corrupts its own copy of the kept
 * dump (the engine's plan and rewriter), the copy is restored into a scratch database of its own
 * (the engine's restoreDumpFile) and verified as the backup was, and the one judge says whether
 * the corruption was noticed. What only one engine does for a copy is asked of it: the roles a
 * copy needs (Engine.ownersAndPrivileges), the restore's own options and the rewriters' evidence
 * (Engine.drillCopies); the engine's restore words a failed restore (StreamOutcome.restoreError).
 */

/** What the drill reads of production's side: the catalog it aims at, and what owners and privileges need. */
export interface DrillSnapshot {
  /** What the drill corrupts copies of the dump with (Engine.readDrillCatalog); read only when a drill runs. */
  drillCatalog?: unknown
  /** Owners and privileges, when the run restores and compares them. */
  privileges?: unknown[]
  /** How owners and privileges are replayed after each copy's restore, when they are. */
  replay?: PrivilegeReplay
}

/**
 * What every drill copy is restored into and verified against, the same for each operator: the
 * run (its engine, clean room and workspace), production's side as plain data, and how the run
 * verifies a restored copy (against production's live session inside the snapshot when there is
 * one, for follow-up questions: which rows differ, the checks' rows; a stored backup's manifest
 * has none).
 */
export interface CopyContext {
  run: RunContext
  /** The engine's client programs that restore a copy. */
  tools: unknown
  /** The settings a copy is verified with (a manifest of counts only verifies by counts), and the restore's limits. */
  settings: { verify: VerifyLevel; lockTimeoutSeconds: number; serverTimeoutSeconds: number }
  snapshot: DrillSnapshot
  /** Production's database defaults: each copy's scratch database is created like it. */
  defaults: DatabaseDefaults
  /** The database name a copy's tables are reported under (the engine's withDatabase), if any. */
  reportAs?: string
  /** Verifies a restored copy as the run verified its backup (pipeline.ts verifyRestored); `side` names it in the log. */
  verify(target: unknown, side: string): Promise<JudgedCopy>
}

/** Corrupts a copy of the backup, restores and verifies it, and reports whether that was noticed. */
export async function runDrill(operator: string, backupFile: string, context: CopyContext): Promise<DrillResult> {
  const { settings, snapshot } = context
  const { cleanroom, workspace, engine } = context.run
  const catalog = snapshot.drillCatalog
  // The engine aims the operator, or says why nothing in this schema can take it.
  const plan =
    catalog !== undefined ? engine.planDrill(operator, catalog) : { operator, noTarget: "production's catalog was not read" }
  // Owners and privileges not compared (not restored; or a stored backup's manifest whose privileges
  // this clean room's major cannot compare): a corrupted owner or grant could neither be caught nor
  // be missed, even where the plan found a target.
  if (engine.drillCopies?.privilegeOperators.includes(operator) && !snapshot.privileges) {
    core.warning(
      `Sabotage ${operator}: owners and privileges are not compared in this run (see the report), so there is nothing to corrupt; drill skipped.`
    )
    return {
      operator,
      target: null,
      applied: false,
      detected: false,
      detectedBy: null,
      evidence: 'owners and privileges are not verified (see the report)'
    }
  }
  if ('noTarget' in plan) {
    const why = plan.noTarget
    core.warning(
      `Sabotage ${operator}: nothing in this schema can take this corruption and still restore (${why}); drill skipped.`
    )
    return { operator, target: null, applied: false, detected: false, detectedBy: null, evidence: `no eligible target: ${why}` }
  }
  const copyFile = workspace.file(`sabotage-${operator}.sql`)
  try {
    await rewriteDump(backupFile, copyFile, plan.rewriter).catch(error => {
      throw diskFullError(messageOf(error), 'Lazarus', 'a sabotaged copy of the dump', copyFile) ?? error
    })
    const rewritten = plan.rewriter.result()
    // The rewriter may speak the dump's bytes: its evidence is decoded once, here, by the engine.
    const injected = rewritten && {
      evidence: engine.drillCopies ? engine.drillCopies.evidence(rewritten.evidence, context.defaults) : rewritten.evidence
    }
    if (!injected) {
      core.warning(`Sabotage ${operator}: ${plan.target} was not found in the dump; drill skipped.`)
      return {
        operator,
        target: plan.target,
        applied: false,
        detected: false,
        detectedBy: null,
        evidence: 'target not found in the dump'
      }
    }
    core.info(`Sabotaged ${plan.target}: ${injected.evidence}.`)
    if (plan.extraRole) engine.ownersAndPrivileges?.addRole(cleanroom.roles, plan.extraRole)
    const verification = await verifyCopy(copyFile, operator, context)
    const result = judgeDrill(plan, injected.evidence, verification, settings.verify)
    if (result.detected) core.info(`Caught by ${result.detectedBy}: ${result.evidence}`)
    else if (result.expectedMiss)
      core.notice(`Sabotage ${operator} on ${plan.target} went unnoticed, as expected: ${result.expectedMiss}`)
    else core.error(`Sabotage ${operator} on ${plan.target} went undetected.`, { title: 'Lazarus: sabotage missed' })
    return result
  } finally {
    workspace.removeFile(copyFile)
  }
}

/** Restores an operator's sabotaged copy of the backup into its own scratch database and verifies it. */
async function verifyCopy(file: string, operator: string, context: CopyContext): Promise<JudgedCopy> {
  const { tools, settings, snapshot, defaults } = context
  // Names the scratch database (lazarus_<run id>_drill_<operator>) and the restore's directory.
  const purpose = `drill_${operator}`
  const { cleanroom, workspace, engine } = context.run
  const owners = engine.ownersAndPrivileges
  const copies = engine.drillCopies
  const name = await cleanroom.create(purpose, defaults)
  try {
    const target = engine.withDatabase(context.run.settings.cleanroom, name, context.reportAs)
    // The roles the copy names (none when owners and privileges are not restored), then the restore role's admission.
    await owners?.prepareRestore(cleanroom.roles, target)
    const checkFile = engine.locationCheck ? writeLocationCheck(context.run, target, `${file}.check.sql`) : undefined
    const options = copies?.restoreOptions({
      target,
      ...(checkFile !== undefined ? { checkFile } : {}),
      defaults,
      limits: settings,
      replay: snapshot.replay
    })
    // The restore's private directory (an engine's restore writes its option files, status and stderr there).
    const workDir = workspace.file(`${purpose}-restore`)
    fs.mkdirSync(workDir, { recursive: true, mode: 0o700 })
    let restored
    try {
      restored = await engine.restoreDumpFile({
        tools,
        file,
        restoreInto: owners ? owners.restoreTarget(cleanroom.roles, target) : target,
        workDir,
        // The engine's own options, built by its drillCopies capability for its restoreDumpFile.
        ...(options !== undefined ? { options: options as never } : {})
      })
    } finally {
      fs.rmSync(workDir, { recursive: true, force: true })
    }
    // A failure that is not the copy's (a full disk, a server): raised as it is, never judged.
    if (restored.fault) throw restored.fault
    if (!restored.ok) {
      // The engine words the restore's failure (StreamOutcome.restoreError); any other program's is the run's.
      if (restored.restoreError === undefined) throw new Error(`The drill's copy did not restore: ${describeFailure(restored)}`)
      const hint = owners?.missingRightHint(restored.restoreError, owners.restoreRights(cleanroom.roles))
      return { restoreError: copyRestoreError(restored, hint), tables: [], schema: [], checks: [] }
    }
    // The log's words for it, as its other lines name a copy: "3 of 12 drill copy (drop-row) tables read".
    return await context.verify(target, `drill copy (${operator})`)
  } finally {
    await cleanroom.drop(name)
  }
}

/**
 * Why a copy did not restore, for every engine: the restore's error in the engine's words
 * (StreamOutcome.restoreError), the right the restoring role lacks when that explains it (`hint`),
 * and where it stopped. Pure.
 */
export function copyRestoreError(outcome: Pick<StreamOutcome, 'restoreError' | 'failedAt'>, hint: string | undefined): string {
  const error = withHint(outcome.restoreError || 'the restore failed', hint)
  return outcome.failedAt ? `stopped ${outcome.failedAt}: ${error}` : error
}

/** The program of a failed stream that failed first, and its last words. */
function describeFailure(outcome: StreamOutcome): string {
  const failed = outcome.stages.find(stage => stage.exitCode !== 0)
  return failed ? `${failed.stage} (${failed.program}) failed: ${lastLine(failed.stderr)}` : 'the stream failed'
}

/** What the drill's judge reads of a copy's verification: the user's checks where the engine has them. */
export type JudgedCopy = Omit<CopyVerification, 'checks'> & Partial<Pick<CopyVerification, 'checks'>>

/**
 * Whether verifying a sabotaged copy reported the corruption: the one drill judge (report.ts
 * judgeDrill), given an engine's plan as the judge reads plans. A data operator's table must be
 * flagged (under `verify: counts` a corruption that keeps its count is an expected miss); a
 * schema operator's object must differ, named exactly as the engine's schema comparison names
 * it, a counter's (AUTO_INCREMENT) being the sequences' catch.
 */
export function judgeDrill(plan: SeamDrillPlan, injected: string, verification: JudgedCopy, verify: VerifyLevel): DrillResult {
  return judgeAnyDrill(aimOf(plan), injected, { checks: [], ...verification }, verify)
}

/** A plan as the drill judge reads it. */
function aimOf(plan: SeamDrillPlan): DrillAim {
  // An engine that states its aim exactly (PostgreSQL) is judged by it.
  if (plan.aim) return plan.aim
  const object = plan.object
  return {
    operator: plan.operator,
    target: plan.target,
    ...(plan.table ? { targetTable: plan.table } : {}),
    ...(object ? { targetObject: { kind: object.kind, name: object.name, signature: object.name } } : {}),
    // Every kind the engine names a counter by is the sequences' catch; any other object the schema's.
    caughtBy: object ? ['sequences', 'schema'] : ['counts', 'checksums'],
    invisibleToCounts: plan.table
      ? 'verify: counts compares row counts only, and this corruption keeps them; verify: checksums compares the content'
      : undefined
  }
}
