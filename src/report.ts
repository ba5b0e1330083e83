import type { TableComparison } from './compare.js'
import type { SanitizedDirective } from './sanitize-rules.js'
import type { SabotageOperator } from './sabotage.js'
import type { VerifyLevel } from './settings.js'

/** What a run concluded; the step fails unless it is `verified` and every sabotage was caught. */
export type Result = 'verified' | 'mismatch' | 'restore-failed' | 'error'

export type DetectingCheck = 'restore' | 'counts' | 'checksums'

export interface SabotageResult {
  operator: SabotageOperator
  /** The table it corrupted, or null when no table could take this corruption. */
  target: string | null
  /** False when the corruption could not be applied, so there was nothing to catch. */
  applied: boolean
  detected: boolean
  detectedBy: DetectingCheck | null
  evidence: string
}

export interface ToolInfo {
  path: string
  version: string
}

/** The JSON report (report-path). Documented in the README; keep them in step. */
export interface Report {
  result: Result
  /** Why the run ended in `error` or `restore-failed`. */
  error?: string
  verify: VerifyLevel
  production: { server: string; serverVersion?: string; database: string }
  cleanroom: { server: string; serverVersion?: string }
  tools?: { pg_dump: ToolInfo; psql: ToolInfo }
  dumpBytes?: number
  sanitized: SanitizedDirective[]
  tables: TableComparison[]
  sabotage: SabotageResult[]
  timings: { dump?: number; sanitize?: number; restore?: number; verify?: number; total?: number }
  startedAt: string
}

export function mismatchedTables(report: Report): TableComparison[] {
  return report.tables.filter(table => !table.match)
}

export function missedSabotage(report: Report): SabotageResult[] {
  return report.sabotage.filter(result => result.applied && !result.detected)
}

/** The step's outputs, named as in action.yml. */
export function reportOutputs(report: Report, reportPath: string): Record<string, string> {
  const seconds = (value?: number) => (value === undefined ? '' : value.toFixed(3))
  return {
    result: report.result,
    tables: String(report.tables.length),
    'mismatched-tables': String(mismatchedTables(report).length),
    'sabotage-caught': String(report.sabotage.filter(result => result.detected).length),
    'sabotage-missed': String(missedSabotage(report).length),
    'dump-seconds': seconds(report.timings.dump),
    'restore-seconds': seconds(report.timings.restore),
    'verify-seconds': seconds(report.timings.verify),
    'dump-bytes': report.dumpBytes === undefined ? '' : String(report.dumpBytes),
    'report-path': reportPath
  }
}

/** Why the step fails, or undefined when it passes. */
export function failureMessage(report: Report): string | undefined {
  const problems: string[] = []
  switch (report.result) {
    case 'verified':
      break
    case 'mismatch': {
      const tables = mismatchedTables(report)
      const named = tables.slice(0, 5).map(table => `${table.schema}.${table.name} (${table.difference})`)
      const more = tables.length > 5 ? ` and ${tables.length - 5} more` : ''
      problems.push(`The restored backup differs from production in ${tables.length} table(s): ${named.join('; ')}${more}.`)
      break
    }
    case 'restore-failed':
      problems.push(`The backup does not restore: ${report.error ?? 'psql failed'}`)
      break
    case 'error':
      problems.push(report.error ?? 'Lazarus failed.')
      break
  }
  const missed = missedSabotage(report)
  if (missed.length > 0) {
    problems.push(
      `The verifier missed ${missed.length} sabotage(s): ${missed.map(result => `${result.operator} on ${result.target}`).join(', ')}.`
    )
  }
  return problems.length > 0 ? problems.join(' ') : undefined
}
