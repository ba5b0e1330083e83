import { tableKey } from '../util/table-name.js'
import type { TableFigures } from '../engines/types.js'
import type { RowDifferences } from './row-diff.js'

/** How far tables are compared (input verify): row counts only, or counts and content checksums. */
export const VERIFY_LEVELS = ['counts', 'checksums'] as const
export type VerifyLevel = (typeof VERIFY_LEVELS)[number]

/** One table as seen on both sides. */
export interface TableComparison {
  schema: string
  name: string
  production: TableFigures
  restored: TableFigures
  match: boolean
  /** Why it does not match, in words. */
  difference?: string
  /** Which rows differ, when they could be pinned down. */
  differences?: RowDifferences
  /**
   * A materialized view: its rows are derived, not backed up (pg_dump writes only REFRESH
   * MATERIALIZED VIEW, so a restore computes them afresh), and they are not compared. Its
   * definition, populated state and indexes are compared with the schema.
   */
  derived?: true
  /**
   * A partitioned table compared as a whole, its partitions not one by one: a restore routes its
   * rows to partitions afresh (hash partitioning by an enum), so they may sit in other partitions.
   */
  wholeTree?: true
}

export interface SideFigures {
  schema: string
  name: string
  figures: TableFigures
  /** A materialized view, whose rows are derived and not read (see TableComparison.derived). */
  derived?: boolean
  /** A partitioned table compared as a whole (see TableComparison.wholeTree). */
  wholeTree?: boolean
}

/**
 * Pairs the tables of both sides by schema and name and compares their figures. Anything that
 * could not be read, or exists on one side only, is a mismatch: a check that compared nothing
 * must never pass.
 */
export function compareTables(production: SideFigures[], restored: SideFigures[]): TableComparison[] {
  const restoredByKey = new Map(restored.map(side => [tableKey(side), side]))
  const comparisons: TableComparison[] = []
  for (const prod of production) {
    const copy = restoredByKey.get(tableKey(prod))
    restoredByKey.delete(tableKey(prod))
    const restoredFigures = copy?.figures ?? {}
    const difference = copy ? describeDifference(prod, copy) : 'missing from the restored copy'
    comparisons.push({
      schema: prod.schema,
      name: prod.name,
      production: prod.figures,
      restored: restoredFigures,
      match: difference === undefined,
      difference,
      ...(prod.derived ? { derived: true as const } : {}),
      ...(prod.wholeTree ? { wholeTree: true as const } : {})
    })
  }
  for (const extra of restoredByKey.values()) {
    comparisons.push({
      schema: extra.schema,
      name: extra.name,
      production: {},
      restored: extra.figures,
      match: false,
      difference: 'not in production',
      ...(extra.derived ? { derived: true as const } : {})
    })
  }
  return comparisons
}

function describeDifference(productionSide: SideFigures, restoredSide: SideFigures): string | undefined {
  // A stale materialized view is a faithful backup: its rows are recomputed at restore, not restored.
  if (productionSide.derived || restoredSide.derived) {
    if (productionSide.derived && restoredSide.derived) return undefined
    return productionSide.derived
      ? 'a materialized view in production, a table in the restored copy'
      : 'a table in production, a materialized view in the restored copy'
  }
  const [production, restored] = [productionSide.figures, restoredSide.figures]
  if (production.error) return `could not be read in production: ${production.error}`
  if (restored.error) return `could not be read in the restored copy: ${restored.error}`
  if (production.rows === undefined || restored.rows === undefined) return 'row count not read'
  if (production.rows !== restored.rows) {
    return `row count differs: production ${production.rows}, restored ${restored.rows}`
  }
  if (production.checksum !== restored.checksum) return 'content checksum differs'
  return undefined
}

/** Which check spotted a table's difference, for the drill's report. */
export function detectingCheck(comparison: TableComparison): 'counts' | 'checksums' {
  return comparison.production.rows !== comparison.restored.rows ? 'counts' : 'checksums'
}
