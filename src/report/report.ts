import type { AmcheckResult } from '../engines/types.js'
import type { CheckResult } from '../verification/check-answers.js'
import { detectingCheck, type TableComparison, type VerifyLevel } from '../verification/compare.js'
import type { EnvironmentDifference, SanitizedConstruct } from '../engines/types.js'
import type { DetectingCheck, DrillAim } from '../engines/types.js'
import { tableKey } from '../util/table-name.js'

/**
 * What a run concluded; the step fails unless it is `verified` (or `restored`) and every sabotage
 * was caught. `restored`: a stored backup without a manifest restored and its schema matches
 * production's as it is now; its content was not proven (production has moved on since).
 */
export type Result = 'verified' | 'restored' | 'mismatch' | 'restore-failed' | 'error'

export type { DetectingCheck } from '../engines/types.js'

export interface DrillResult {
  /** One of the engine's drill operators (its drillOperators). */
  operator: string
  /** The table it corrupted, or null when no table could take this corruption. */
  target: string | null
  /** False when the corruption could not be applied, so there was nothing to catch. */
  applied: boolean
  detected: boolean
  detectedBy: DetectingCheck | null
  evidence: string
  /** Set when `verify: counts` cannot see this corruption by design: why. Such a miss does not fail the step. */
  expectedMiss?: string
}

export interface ToolInfo {
  path: string
  version: string
}

/** A client program by its name, e.g. mariadb-dump. */
export interface NamedTool extends ToolInfo {
  name: string
}

/** A schema object that differs between production and the restored copy. */
export interface SchemaDifference {
  /** table, column, index, constraint, sequence, function, ... */
  kind: string
  name: string
  /** Its definition on each side; null where it does not exist. */
  production: string | null
  restored: string | null
}

/** One differing row, by key; values only when `show-values` allowed them. */
export interface RowDifference {
  change: 'missing' | 'extra' | 'changed'
  key: string
  production?: string
  restored?: string
}

/** Which rows of a table differ, as far as they were looked up. */
export interface TableDifferences {
  missing: number
  extra: number
  changed: number
  /** The first `max-rows-reported` differing rows. */
  keys: RowDifference[]
  /** Differing rows counted but not listed. */
  notListed: number
}

/**
 * A table comparison as reported, with its differing rows when they were looked up. `unproven`:
 * its rows could not be compared (a stored backup without a manifest), only that it restored;
 * the row counts stand side by side for a reader.
 */
export type ReportTable = TableComparison & { differences?: TableDifferences; unproven?: string }

/** The stored backup a run verified (input backup-path), and what it was verified against. */
export interface StoredBackupReport {
  path: string
  /** Told by content, in the engine's words (PostgreSQL: plain (SQL), custom, directory or tar). */
  format: string
  gzip: boolean
  bytes: number
  /** The manifest it was verified against; absent without one (then content is not proven). */
  manifest?: string
  /** Whether the restored copy's content was compared with figures taken when the backup was (a manifest's). */
  contentProven: boolean
  /** The server the backup was dumped from, as its header says. */
  dumpedFrom?: string
  /** How many restore pipelines ran (several for a parallel archive restore). */
  pipelines?: number
  /** Files that are not as the manifest recorded them (missing, extra, size, sha256): a `mismatch` before any restore. */
  fileProblems?: string[]
  /** The manifest's figures this clean room could not be held to, and why (another major, another method). */
  notCompared?: { figure: string; reason: string }[]
}

/** The recovery-time objective, applied to the restore of the real backup. */
export interface RtoCheck {
  /** `rto-seconds`: the step fails above it. */
  budgetSeconds?: number
  /** `rto-warn-seconds`: the step warns above it. */
  warnSeconds?: number
  restoreSeconds: number
  exceeded: boolean
  warned: boolean
}

/** This run's restore time against the median of recent runs of the same database. */
export interface RestoreTrend {
  /** How many earlier runs the median is taken over. */
  runs: number
  medianSeconds: number
  restoreSeconds: number
  /** restoreSeconds / medianSeconds. */
  ratio: number
  /** The restore time grew sharply. */
  alarm: boolean
}

/** Whether owners and privileges were restored and compared (kinds owner, privileges and default privileges in `schema`). */
export interface PrivilegesCheck {
  compared: boolean
  /** Why they were not, and how to enable it. */
  reason?: string
  /** Roles production's objects name that Lazarus created in the clean room (NOLOGIN, marked) and drops at the end. */
  rolesCreated: string[]
  /** Roles production's objects name that already existed in the clean room: used as they are, never altered or dropped. */
  rolesExisting: string[]
}

/** One stage on the run's timeline. */
export interface TimelineStage {
  stage: string
  /** Seconds since the run started. */
  start: number
  end: number
}

/** The JSON report (report-path). Documented in docs/report.md ("The JSON report"); keep them in step. */
export interface Report {
  result: Result
  /** Why the run ended in `error` or `restore-failed`. */
  error?: string
  verify: VerifyLevel
  /** The database product verified, as the production server says ("MySQL", "MariaDB"); absent for PostgreSQL. */
  engine?: string
  production: { server: string; serverVersion?: string; database: string }
  cleanroom: { server: string; serverVersion?: string }
  /**
   * The client programs under their own names, as the engine names them (ClientPrograms' byName):
   * PostgreSQL's pg_dump for a fresh run, pg_restore for a stored archive, and psql.
   */
  tools?: Partial<Record<string, ToolInfo>>
  /** Another engine's client programs (MySQL, MariaDB), by what they did: the dump and the restore. */
  programs?: { dump: NamedTool; restore: NamedTool }
  /** Set when a stored backup (backup-path) was verified instead of a fresh dump. */
  backup?: StoredBackupReport
  dumpBytes?: number
  /** MySQL/MariaDB: how long production's writers waited on the snapshot's global read lock, in seconds. */
  snapshotLockSeconds?: number
  /** What the sanitizer changed: PostgreSQL's directives, another engine's constructs (the same fields). */
  sanitized: SanitizedConstruct[]
  tables: ReportTable[]
  /** Schema objects that differ, when the schema was compared. */
  schema?: SchemaDifference[]
  /** Set once production's roles were read: whether owners and privileges were compared. */
  privileges?: PrivilegesCheck
  /**
   * Differences of the clean-room server, not of the backup (an extension it installs at another
   * version than production's). Reported, never counted as a mismatch.
   */
  environment?: EnvironmentDifference[]
  /** Who restored the dump, with which rights (restore-role.ts); set before the dump. */
  restoreRights?: { mode: 'unprivileged' | 'superuser'; role: string; superuser: boolean; description: string }
  sabotage: DrillResult[]
  /** The user's checks (input `checks`), each compared with production; absent without a checks file. */
  checks?: CheckResult[]
  /** amcheck on the restored copy; absent unless `amcheck` is true and the backup restored. */
  amcheck?: AmcheckResult
  /** Seconds per stage; `drill` is all sabotage drills together. */
  timings: {
    dump?: number
    sanitize?: number
    restore?: number
    verify?: number
    amcheck?: number
    drill?: number
    total?: number
  }
  /**
   * When each stage ran, in seconds since the run started: dump, sanitize and restore overlap (one
   * stream), and production's figures are read while the restore finishes, so their times do not add up.
   */
  timeline?: TimelineStage[]
  /**
   * For `restore-failed`: where in the dump's object list the restore stopped, e.g. "while
   * restoring TABLE DATA public.orders" (restore-failure.ts), when psql named a line.
   */
  restoreFailedAt?: string
  /** Set when `rto-seconds` or `rto-warn-seconds` is and the backup restored. */
  rto?: RtoCheck
  /** Set when earlier runs of this database were on record. */
  restoreTrend?: RestoreTrend
  /** The backup kept with its manifest (backup-dir, or upload-dump), once the manifest is written. */
  restorePoint?: RestorePointReport
  startedAt: string
}

/** A restore point in the report: where it is and what it holds. */
export interface RestorePointReport {
  /** The kept backup; '' when it only lived in the run's workspace for upload-dump. */
  backupPath: string
  manifestPath: string
  /** The restore point's directory (backup and manifest). */
  directory: string
  /** The kept backup's format, in the engine's words (PostgreSQL: custom, directory, plain). */
  format: string
  /** Size of the backup's files together. */
  bytes: number
  files: number
  /** Whether signing-key signed the manifest. */
  signed: boolean
  /** Whether it outlives the run (backup-dir). */
  kept: boolean
}

export function mismatchedTables(report: Report): ReportTable[] {
  return report.tables.filter(table => !table.match)
}

export function mismatchedChecks(report: Report): CheckResult[] {
  return (report.checks ?? []).filter(check => !check.match && !check.error)
}

export function failedChecks(report: Report): CheckResult[] {
  return (report.checks ?? []).filter(check => check.error)
}

/**
 * The verdict on a backup that restored and was compared: any difference (a table, the schema, a
 * check's answer, amcheck's findings) is a `mismatch`; otherwise a check that could not run
 * leaves the copy unvouched for, an `error` naming it.
 */
export function judgeVerified(report: Report): Pick<Report, 'result' | 'error'> {
  const differs =
    mismatchedTables(report).length > 0 ||
    (report.schema ?? []).length > 0 ||
    mismatchedChecks(report).length > 0 ||
    (report.amcheck?.findings ?? []).length > 0
  const failed = failedChecks(report)
  const error = failed.length > 0 ? failed.map(check => `Check '${check.name}' ${check.difference}`).join(' ') : undefined
  const result = differs ? 'mismatch' : failed.length > 0 ? 'error' : 'verified'
  return error === undefined ? { result } : { result, error }
}

/**
 * A stored backup restored without a manifest: `restored` (it restores; its content is not
 * proven), unless its comparison with production as it is now or amcheck found a difference.
 */
export function judgeRestored(report: Report): Pick<Report, 'result'> {
  const differs =
    mismatchedTables(report).length > 0 || (report.schema ?? []).length > 0 || (report.amcheck?.findings ?? []).length > 0
  return { result: differs ? 'mismatch' : 'restored' }
}

/** What verifying one restored copy (the backup's, or a drill's sabotaged one) found: what its verdict is judged from. */
export interface CopyVerification<Difference extends SchemaDifference = SchemaDifference> {
  /** Set when the copy did not restore. */
  restoreError?: string
  tables: TableComparison[]
  /** Schema objects and sequences that differ (an engine's own kinds). */
  schema: Difference[]
  /** The user's checks, each compared with production's answer. */
  checks: CheckResult[]
}

/**
 * A backup that did not restore: `restore-failed`, with the restore's error (and its hint) and,
 * when the restore named a line, where in the dump's object list it stopped.
 */
export function judgeRestoreFailed(error: string, failedAt?: string): Pick<Report, 'result' | 'error' | 'restoreFailedAt'> {
  return failedAt ? { result: 'restore-failed', error, restoreFailedAt: failedAt } : { result: 'restore-failed', error }
}

/**
 * A stored backup checked against its manifest before anything is restored: any file whose size
 * or sha256 differs (or that is missing) makes it a `mismatch`, for it is not the backup the
 * manifest vouches for; undefined when every file matches and the run goes on.
 */
export function judgeBackupFiles(fileProblems: string[]): Pick<Report, 'result'> | undefined {
  return fileProblems.length > 0 ? { result: 'mismatch' } : undefined
}

/** A run that stopped before a verdict on the backup could be reached: `error`, saying why (and, for a user's mistake, what to fix). */
export function judgeStopped(message: string): Pick<Report, 'result' | 'error'> {
  return { result: 'error', error: message }
}

/** The schema kinds that are counters (PostgreSQL's sequences, MySQL's AUTO_INCREMENT as a sequence): the sequences' catch. */
const COUNTER_KINDS = new Set(['sequence', 'auto-increment', 'auto_increment', 'counter'])

/**
 * Whether verifying a sabotaged copy reported the corruption, by which check, with what evidence:
 * the one drill judge of every engine (a plan without its own aim is mapped onto one: drill-copies.ts).
 */
export function judgeDrill(plan: DrillAim, injected: string, verification: CopyVerification, verify: VerifyLevel): DrillResult {
  const base = { operator: plan.operator, target: plan.target, applied: true }
  if (verification.restoreError !== undefined) {
    return {
      ...base,
      detected: true,
      detectedBy: 'restore',
      evidence: `${injected}; restore failed: ${verification.restoreError}`
    }
  }
  const flagged =
    plan.targetTable && verification.tables.find(table => tableKey(table) === tableKey(plan.targetTable!) && !table.match)
  if (flagged) {
    const differences = flagged.differences
    // By key where the table has one; a table without a key says how many rows are missing and extra.
    const rows =
      differences && differences.keys.length > 0
        ? differences.keys.map(row => `${row.change} ${row.key}`).join(', ')
        : differences && `${differences.missing} row(s) missing, ${differences.extra} extra, ${differences.changed} changed`
    const checks = verification.checks.filter(result => !result.match && !result.error).map(result => `'${result.name}'`)
    const alsoChecks = checks.length > 0 ? `; also caught by check ${checks.join(', ')}` : ''
    return {
      ...base,
      detected: true,
      detectedBy: detectingCheck(flagged),
      evidence: `${injected}; ${flagged.difference}${rows ? ` (${rows})` : ''}${alsoChecks}`
    }
  }
  const wanted = plan.targetDifference
  const privilegeHit = wanted && verification.schema.find(item => item.kind === wanted.kind && item.name === wanted.name)
  if (privilegeHit) {
    return {
      ...base,
      detected: true,
      detectedBy: 'privileges',
      evidence: `${injected}; ${privilegeHit.kind} of ${privilegeHit.name}: production ${privilegeHit.production ?? '(missing)'}, restored ${privilegeHit.restored ?? '(missing)'}`
    }
  }
  const schemaHit = plan.targetObject && verification.schema.find(difference => namesTarget(difference, plan.targetObject!))
  if (schemaHit) {
    const detectedBy = COUNTER_KINDS.has(plan.targetObject!.kind) && plan.caughtBy.includes('sequences') ? 'sequences' : 'schema'
    return {
      ...base,
      detected: true,
      detectedBy,
      evidence: `${injected}; ${schemaHit.kind} ${schemaHit.name}: production ${schemaHit.production ?? '(missing)'}, restored ${schemaHit.restored ?? '(missing)'}`
    }
  }
  const check = verification.checks.find(result => !result.match && !result.error)
  if (check) {
    return { ...base, detected: true, detectedBy: 'checks', evidence: `${injected}; check '${check.name}': ${check.difference}` }
  }
  const expectedMiss = verify === 'counts' ? plan.invisibleToCounts : undefined
  return { ...base, detected: false, detectedBy: null, evidence: `${injected}; went unnoticed`, expectedMiss }
}

/**
 * Whether a schema difference is about the sabotaged object. A dropped index that backed nothing
 * shows as an index; a dropped constraint as a constraint; a reset sequence as a sequence. Names
 * are schema-qualified in the fingerprint, so the last name part must match exactly.
 */
function namesTarget(difference: SchemaDifference, object: NonNullable<DrillAim['targetObject']>): boolean {
  if (difference.kind !== object.kind) return false
  // A function is named with its argument types, as overloads are told apart.
  if (object.signature !== undefined) return difference.name === object.signature
  const last = /(?:"((?:[^"]|"")*)"|([^."]+))$/.exec(difference.name)
  const lastPart = last?.[1] !== undefined ? last[1].replace(/""/g, '"') : last?.[2]
  return lastPart === object.name
}

export function missedDrills(report: Report): DrillResult[] {
  return report.sabotage.filter(result => result.applied && !result.detected && !result.expectedMiss)
}

/** The step's outputs, named as in action.yml. */
export function reportOutputs(report: Report, reportPath: string): Record<string, string> {
  const seconds = (value?: number) => (value === undefined ? '' : value.toFixed(3))
  return {
    result: report.result,
    tables: String(report.tables.length),
    'mismatched-tables': String(mismatchedTables(report).length),
    'sabotage-caught': String(report.sabotage.filter(result => result.detected).length),
    'sabotage-missed': String(missedDrills(report).length),
    'dump-seconds': seconds(report.timings.dump),
    'restore-seconds': seconds(report.timings.restore),
    'verify-seconds': seconds(report.timings.verify),
    'dump-bytes': report.dumpBytes === undefined ? '' : String(report.dumpBytes),
    'report-path': reportPath,
    'backup-path': report.restorePoint?.backupPath ?? '',
    'manifest-path': report.restorePoint?.manifestPath ?? ''
  }
}

/** Why the step fails, or undefined when it passes. */
export function failureMessage(report: Report): string | undefined {
  const problems: string[] = []
  switch (report.result) {
    case 'verified':
    case 'restored':
      break
    case 'mismatch': {
      const files = report.backup?.fileProblems ?? []
      if (files.length > 0) {
        const more = files.length > 5 ? ` and ${files.length - 5} more` : ''
        problems.push(
          `The stored backup is not the one its manifest describes (nothing was restored): ${files.slice(0, 5).join('; ')}${more}.`
        )
        break
      }
      const tables = mismatchedTables(report).map(table => `${table.schema}.${table.name} (${table.difference})`)
      const schema = (report.schema ?? []).map(difference => `${difference.kind} ${difference.name}`)
      const checks = mismatchedChecks(report).map(check => `check '${check.name}' (${check.difference})`)
      const amcheck = (report.amcheck?.findings ?? []).map(
        finding => `${finding.kind} ${finding.name} (amcheck: ${finding.message})`
      )
      const differences = [...tables, ...schema, ...checks, ...amcheck]
      const named = differences.slice(0, 5).join('; ')
      const more = differences.length > 5 ? ` and ${differences.length - 5} more` : ''
      const counted = [
        tables.length > 0 ? `${tables.length} table(s)` : '',
        schema.length > 0 ? `${schema.length} schema object(s)` : '',
        checks.length > 0 ? `${checks.length} check(s)` : '',
        amcheck.length > 0 ? `${amcheck.length} amcheck finding(s)` : ''
      ].filter(Boolean)
      problems.push(`The restored backup differs from production in ${counted.join(' and ')}: ${named}${more}.`)
      if (failedChecks(report).length > 0 && report.error) problems.push(report.error)
      break
    }
    case 'restore-failed': {
      const where = report.restoreFailedAt ? ` (it stopped ${report.restoreFailedAt})` : ''
      problems.push(`The backup does not restore${where}: ${report.error ?? 'psql failed'}`)
      break
    }
    case 'error':
      problems.push(report.error ?? 'Lazarus failed.')
      break
  }
  const missed = missedDrills(report)
  if (missed.length > 0) {
    problems.push(
      `The verifier missed ${missed.length} sabotage(s): ${missed.map(result => `${result.operator} on ${result.target}`).join(', ')}.`
    )
  }
  if (report.rto?.exceeded && report.rto.budgetSeconds !== undefined) {
    problems.push(
      `The backup restores, but not fast enough: restore took ${formatSeconds(report.rto.restoreSeconds)} s, ` +
        `budget ${formatSeconds(report.rto.budgetSeconds)} s (rto-seconds).`
    )
  }
  return problems.length > 0 ? problems.join(' ') : undefined
}

/**
 * Holds the restore of the real backup against `rto-seconds` and `rto-warn-seconds`. Undefined
 * when neither is set or nothing restored: a backup that does not restore already fails, and
 * its partial restore time says nothing about recovery.
 */
export function checkRto(report: Report, settings: { rtoSeconds?: number; rtoWarnSeconds?: number }): RtoCheck | undefined {
  const { rtoSeconds: budgetSeconds, rtoWarnSeconds: warnSeconds } = settings
  const restoreSeconds = report.timings.restore
  if (budgetSeconds === undefined && warnSeconds === undefined) return undefined
  if (restoreSeconds === undefined || report.result === 'restore-failed') return undefined
  const exceeded = budgetSeconds !== undefined && restoreSeconds > budgetSeconds
  const warned = !exceeded && warnSeconds !== undefined && restoreSeconds > warnSeconds
  return { budgetSeconds, warnSeconds, restoreSeconds, exceeded, warned }
}

/** The warning for a restore slower than `rto-warn-seconds` but within any budget. */
export function rtoWarning(report: Report): string | undefined {
  const rto = report.rto
  if (!rto?.warned || rto.warnSeconds === undefined) return undefined
  const budget = rto.budgetSeconds === undefined ? '' : ` (the budget, rto-seconds, is ${formatSeconds(rto.budgetSeconds)} s)`
  return (
    `The restore took ${formatSeconds(rto.restoreSeconds)} s, more than the ${formatSeconds(rto.warnSeconds)} s ` +
    `of rto-warn-seconds${budget}.`
  )
}

/** Seconds as people read them: none when whole (budgets usually are), else two decimals or two significant digits. */
export function formatSeconds(seconds: number): string {
  if (Number.isInteger(seconds)) return String(seconds)
  return Math.abs(seconds) < 0.1 ? String(Number(seconds.toPrecision(2))) : seconds.toFixed(2)
}
