import * as core from '@actions/core'
import type { RowDiffSide } from '../engines/reads.js'
import type { CheckResult } from '../verification/check-answers.js'
import type { TableComparison } from '../verification/compare.js'
import { pinDifferingRows, type RowDifferences } from '../verification/row-diff.js'
import { messageOf } from '../util/errors.js'
import { displayName, tableKey, type TableName } from '../util/table-name.js'

// What a verified copy's differences become, for every run (pipeline.ts, stored-pipeline.ts):
// each differing table's rows pinned by key against production's snapshot, and one log line per
// table and one annotation per difference a person must see.

/** How many differing rows are listed, and whether their values may be shown (inputs max-rows-reported, show-values). */
export interface RowListing {
  maxRowsReported: number
  showValues: boolean
}

/**
 * Finds which rows differ in each table whose figures differ (both sides readable), by key. Both
 * sides are read through production's table (`production.tables`: its columns) and production's
 * key; `pin` asks the engine's two sides (row-diff.ts RowDiffSide) inside whatever the engine
 * needs around the reads (PostgreSQL: a savepoint, every row visible). A table the engine cannot
 * compare (`comparable`) is left as it is; a failure only loses the rows, with a warning.
 */
export async function pinDifferingTables<Ref extends TableName>(
  tables: TableComparison[],
  production: { tables: Ref[]; primaryKeys: Map<string, string[]> },
  listing: RowListing,
  pin: (
    ref: Ref,
    key: string[] | undefined,
    compare: (production: RowDiffSide, restored: RowDiffSide) => Promise<RowDifferences>
  ) => Promise<RowDifferences>,
  comparable: (ref: Ref) => boolean = () => true
): Promise<void> {
  const refs = new Map(production.tables.map(ref => [tableKey(ref), ref]))
  const options = { maxRows: listing.maxRowsReported, showValues: listing.showValues }
  for (const table of tables) {
    const ref = refs.get(tableKey(table))
    if (table.match || !ref || !comparable(ref) || table.production.rows === undefined || table.restored.rows === undefined)
      continue
    const key = production.primaryKeys.get(tableKey(table))
    try {
      table.differences = await pin(ref, key, (productionSide, restoredSide) =>
        pinDifferingRows(productionSide, restoredSide, key, options)
      )
    } catch (error) {
      core.warning(`Could not pin the differing rows of ${displayName(table)}: ${messageOf(error)}`)
    }
  }
}

/** One line per table, and one annotation per difference a person must see. */
export function logVerification(
  verification: {
    tables: TableComparison[]
    schema: { kind: string; name: string; production: string | null; restored: string | null }[]
    checks?: CheckResult[]
  },
  listing: Pick<RowListing, 'showValues'>
): void {
  for (const table of verification.tables) {
    if (table.match) {
      core.info(
        table.derived
          ? `✓ ${displayName(table)}: materialized view, rows derived (recomputed at restore, not compared); ` +
              'definition, populated state and indexes compared with the schema'
          : `✓ ${displayName(table)}: ${table.production.rows} rows match` +
              (table.wholeTree ? ' (partitions compared as a whole: a restore routes rows hashed by an enum afresh)' : '')
      )
      continue
    }
    core.error(`${displayName(table)}: ${table.difference}${describeRows(table, listing)}`, {
      title: 'Lazarus: restored table differs from production'
    })
  }
  for (const check of verification.checks ?? []) {
    if (check.match) core.info(`✓ check '${check.name}': same answer (${check.production.rows} row(s))`)
    else
      core.error(`check '${check.name}': ${check.difference}`, {
        title: 'Lazarus: a check differs between production and the restored copy'
      })
  }
  for (const difference of verification.schema) {
    core.error(
      `${difference.kind} ${difference.name}: production ${difference.production ?? '(missing)'}; restored ${difference.restored ?? '(missing)'}`,
      { title: 'Lazarus: restored schema differs from production' }
    )
  }
}

/** A differing table's pinned rows, as its annotation ends: counts, then the rows by key (values only with show-values). */
function describeRows(table: TableComparison, listing: Pick<RowListing, 'showValues'>): string {
  const rows = table.differences
  if (!rows) return ''
  const counts = [`${rows.missing} missing`, `${rows.extra} extra`, `${rows.changed} changed`].join(', ')
  const listed = rows.keys.map(row => {
    const values = listing.showValues ? ` (production ${row.production ?? '—'}, restored ${row.restored ?? '—'})` : ''
    return `${row.change} ${row.key}${values}`
  })
  const more = rows.notListed > 0 ? `; ${rows.notListed} more not listed` : ''
  return ` — ${counts}${listed.length > 0 ? ': ' + listed.join('; ') : ''}${more}`
}
