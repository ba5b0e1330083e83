import type { CheckDefinition } from './checks-file.js'
import type { CheckDialect } from '../engines/types.js'

/**
 * Compares what production and the restored copy answered to one check. Pure. Values (the rows'
 * text) are production data: they only come in, and go out, when `show-values` allows them.
 */

/** What one side answered: figures of the whole result, never the result itself. */
export interface CheckAnswer {
  rows?: number
  /** `name type` per column, in order. */
  columns?: string[]
  /** Sum of the rows' 64-bit hashes, whatever their order (hex, modulo 2^64). */
  multisetHash?: string
  /** Sum of the rows' hashes seeded with their positions: changes when the order does. */
  orderedHash?: string
  /** The first rows as the server prints them (`(1,"a b")`), when values may be shown. */
  sample?: string[]
  /** Exactly one row whose text is the expected value's (columns are checked apart). */
  asExpected?: boolean
  /** Why the check could not run on this side: the server's message. */
  error?: string
}

/** The first row where two large results part, in the order they are compared. */
export interface FirstDifference {
  /** 1-based, in the query's order (ordered checks) or in sorted order (multisets). */
  row: number
  production: string | null
  restored: string | null
}

/** One side as the report shows it. */
export interface CheckSide {
  rows?: number
  columns?: string[]
  /** The hash compared: ordered or multiset, as the check is. */
  hash?: string
  /** The whole answer (at most max-rows-reported rows), with show-values only. */
  values?: string[]
  error?: string
}

/** One check in the report. */
export interface CheckResult {
  name: string
  /** Compared as an ordered list (the query has its own ORDER BY) or as a multiset. */
  ordered: boolean
  /** The file's `-- expect:` value (null for NULL), when it has one. */
  expect?: string | null
  production: CheckSide
  restored: CheckSide
  match: boolean
  /** Could not run on a side: the run cannot vouch for it, so it is an `error`, not a `mismatch`. */
  error?: boolean
  /** Why it does not match, in words. */
  difference?: string
  /** With show-values, the first differing row of a result too large to show whole. */
  firstDifference?: FirstDifference
}

export interface CompareOptions {
  showValues: boolean
  /** Results up to this many rows are shown whole (with show-values). */
  maxRows: number
  /** A row's text split into its values, as the engine prints rows (its `userChecks` dialect): a single column shows its value alone. */
  rowValues: CheckDialect['rowValues']
}

export function compareCheck(
  check: CheckDefinition,
  production: CheckAnswer,
  restored: CheckAnswer,
  options: CompareOptions,
  firstDifference?: FirstDifference
): CheckResult {
  const result: CheckResult = {
    name: check.name,
    ordered: check.ordered,
    production: side(check, production, options),
    restored: side(check, restored, options),
    match: false
  }
  if (check.expect !== undefined) result.expect = check.expect
  const difference = describeDifference(check, production, restored, options)
  if (difference === undefined) {
    result.match = true
    return result
  }
  result.difference = difference
  if (production.error !== undefined || restored.error !== undefined) result.error = true
  if (firstDifference && options.showValues) result.firstDifference = firstDifference
  return result
}

/** Whether the whole answer is known (and may be shown): at most maxRows rows. */
export function wholeAnswer(answer: CheckAnswer, options: CompareOptions): string[] | undefined {
  if (!options.showValues || answer.sample === undefined || answer.rows === undefined) return undefined
  return answer.rows <= options.maxRows ? answer.sample : undefined
}

function side(check: CheckDefinition, answer: CheckAnswer, options: CompareOptions): CheckSide {
  if (answer.error !== undefined) return { error: answer.error }
  const values = wholeAnswer(answer, options)
  return {
    rows: answer.rows,
    columns: answer.columns,
    hash: check.ordered ? answer.orderedHash : answer.multisetHash,
    ...(values ? { values: values.map(row => displayRow(row, answer.columns?.length, options.rowValues)) } : {})
  }
}

/**
 * A row as people read it: a single column's value on its own (NULL for SQL NULL), several
 * columns as the server prints the row.
 */
export function displayRow(text: string, columns: number | undefined, rowValues: CheckDialect['rowValues']): string {
  if (columns !== 1) return text
  const [value] = rowValues(text)
  return value ?? 'NULL'
}

function describeDifference(
  check: CheckDefinition,
  production: CheckAnswer,
  restored: CheckAnswer,
  options: CompareOptions
): string | undefined {
  const errors = [
    production.error !== undefined ? `could not run on production: ${production.error}` : '',
    restored.error !== undefined ? `could not run on the restored copy: ${restored.error}` : ''
  ].filter(Boolean)
  if (errors.length > 0) return errors.join('; ')
  const problems: string[] = []
  const productionColumns = (production.columns ?? []).join(', ')
  const restoredColumns = (restored.columns ?? []).join(', ')
  if (productionColumns !== restoredColumns) {
    problems.push(`columns differ: production (${productionColumns}), restored (${restoredColumns})`)
  }
  if (check.expect !== undefined) {
    const expected = check.expect === null ? 'NULL' : check.expect
    const misses = (['production', 'restored'] as const).filter(name => {
      const answer = name === 'production' ? production : restored
      return !(answer.asExpected && answer.rows === 1 && answer.columns?.length === 1)
    })
    for (const name of misses) {
      const answer = name === 'production' ? production : restored
      const who = name === 'production' ? 'production' : 'the restored copy'
      problems.push(`${who} did not return the expected ${expected}: ${describeAnswer(answer, check.ordered, options)}`)
    }
  }
  const hash = (answer: CheckAnswer) => (check.ordered ? answer.orderedHash : answer.multisetHash)
  if (production.rows !== restored.rows) {
    problems.push(`production returned ${count(production.rows)} row(s), the restored copy ${count(restored.rows)}`)
  } else if (hash(production) !== hash(restored)) {
    const reordered = check.ordered && production.multisetHash === restored.multisetHash
    problems.push(
      reordered
        ? 'the same rows in a different order (if the ORDER BY leaves ties, add a unique column to it)'
        : `the rows differ (${count(production.rows)} on each side)`
    )
  }
  if (problems.length === 0) return undefined
  // Both answers whole, with show-values and small results; otherwise counts and hashes.
  const answers = `production ${describeAnswer(production, check.ordered, options)}; restored ${describeAnswer(restored, check.ordered, options)}`
  return `${problems.join('; ')} — ${answers}`
}

function describeAnswer(answer: CheckAnswer, ordered: boolean, options: CompareOptions): string {
  const values = wholeAnswer(answer, options)
  if (values) {
    const rows = values.map(row => displayRow(row, answer.columns?.length, options.rowValues))
    return rows.length === 0 ? '(no rows)' : rows.join(' | ')
  }
  return `${count(answer.rows)} row(s), hash ${(ordered ? answer.orderedHash : answer.multisetHash) ?? '?'}`
}

function count(rows: number | undefined): string {
  return rows === undefined ? '?' : String(rows)
}

/** One short hex string from the server's sum of 64-bit hashes (a numeric), modulo 2^64. */
export function hashText(sum: string): string {
  return BigInt.asUintN(64, BigInt(sum)).toString(16).padStart(16, '0')
}
