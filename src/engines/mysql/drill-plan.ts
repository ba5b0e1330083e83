import type { SeamDrillNoTarget, SeamDrillPlan } from '../types.js'
import type { MysqlDrillCatalog } from './drill-catalog.js'
import {
  dropConstraintRewriter,
  dropIndexRewriter,
  dropRowRewriter,
  duplicateRowRewriter,
  mutateCellRewriter,
  resetAutoIncrementRewriter,
  truncateRewriter
} from './drill-rewriters.js'
import { displayIdentifier } from './schema-queries.js'

/**
 * The MySQL/MariaDB drill: which object of production's catalog each operator corrupts, and what
 * the verification must then report (the table whose figures differ, or the schema object, named
 * as schema-queries.ts names it). Pure. The names are drill/plan.ts's where the meaning is the
 * same; reset-auto-increment is this engine's own (the counter is part of a table here).
 */
export const MYSQL_DRILL_OPERATORS = [
  'drop-row',
  'duplicate-row',
  'mutate-cell',
  'truncate',
  'drop-index',
  'drop-constraint',
  'reset-auto-increment'
] as const

const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b))

// Why an operator has no target, in drill/plan.ts explainNoTarget's words where the meaning is the same.
const NO_ROWS = 'no table holds any rows'

/**
 * One operator aimed at the first fitting object (by name, so that a run is repeatable), or, when
 * nothing in the catalog can take it and still restore, why not: a data operator needs a table
 * with rows; duplicate-row a table without a key (a duplicate of a keyed row would fail the
 * restore on its key, which proves nothing about the verifier); mutate-cell a keyed table with a
 * column outside its key; the schema operators an object of their kind.
 */
export function planMysqlDrill(operator: string, catalog: MysqlDrillCatalog): SeamDrillPlan | SeamDrillNoTarget {
  const populated = catalog.tables.filter(entry => entry.rows > 0).sort((a, b) => byBytes(a.table.name, b.table.name))
  const tableTarget = (name: string) => `table ${displayIdentifier(name)}`
  const none = (noTarget: string): SeamDrillNoTarget => ({ operator, noTarget })
  switch (operator) {
    case 'drop-row': {
      const entry = populated.find(candidate => candidate.key) ?? populated[0]
      if (!entry) return none(NO_ROWS)
      return {
        operator,
        target: tableTarget(entry.table.name),
        table: entry.table,
        rewriter: dropRowRewriter({ name: entry.table.name }, entry.key)
      }
    }
    case 'duplicate-row': {
      const unique = new Set(catalog.indexes.filter(index => index.unique).map(index => index.table))
      const entry = populated.find(candidate => !candidate.key && !unique.has(candidate.table.name))
      if (!entry)
        return none(
          populated.length === 0
            ? NO_ROWS
            : 'every table with rows has a primary key or a unique index, which would reject a twin row'
        )
      return {
        operator,
        target: tableTarget(entry.table.name),
        table: entry.table,
        rewriter: duplicateRowRewriter({ name: entry.table.name })
      }
    }
    case 'mutate-cell': {
      for (const entry of populated) {
        const column = entry.key && entry.columns.find(name => !entry.key!.includes(name))
        if (!column) continue
        return {
          operator,
          target: `${tableTarget(entry.table.name)}, column ${displayIdentifier(column)}`,
          table: entry.table,
          rewriter: mutateCellRewriter({ name: entry.table.name }, column, entry.key)
        }
      }
      // The changed row is pinned by its key, and a key column changed would be a new row, not a changed one.
      if (populated.length === 0) return none(NO_ROWS)
      return none(
        populated.some(entry => entry.key)
          ? 'no table with rows has a column outside its key that the dump writes (generated columns are computed, not dumped)'
          : 'no table with rows has a key (a primary key, or a unique index over NOT NULL columns without prefixes)'
      )
    }
    case 'truncate': {
      const entry = populated[0]
      if (!entry) return none(NO_ROWS)
      return {
        operator,
        target: tableTarget(entry.table.name),
        table: entry.table,
        rewriter: truncateRewriter({ name: entry.table.name })
      }
    }
    case 'drop-index': {
      // A plain index first: a unique one is also a constraint, and one a foreign key needs is recreated by the server.
      const constrained = new Set(catalog.constraints.map(constraint => `${constraint.table}\u0000${constraint.name}`))
      const indexes = [...catalog.indexes].sort((a, b) => byBytes(a.table, b.table) || byBytes(a.name, b.name))
      const index =
        indexes.find(candidate => !candidate.unique && !constrained.has(`${candidate.table}\u0000${candidate.name}`)) ??
        indexes[0]
      if (!index) return none('the schema has no index besides primary keys')
      const name = `${displayIdentifier(index.table)}.${displayIdentifier(index.name)}`
      return {
        operator,
        target: `index ${name}`,
        object: { kind: 'index', name },
        rewriter: dropIndexRewriter({ name: index.table }, index.name)
      }
    }
    case 'drop-constraint': {
      const order = { 'FOREIGN KEY': 0, CHECK: 1, UNIQUE: 2 }
      const constraint = [...catalog.constraints].sort(
        (a, b) => order[a.type] - order[b.type] || byBytes(a.table, b.table) || byBytes(a.name, b.name)
      )[0]
      // MariaDB writes a column-level CHECK inside its column's definition: no line a rewriter could drop (drill-catalog.ts).
      if (!constraint)
        return none(
          "the schema has no foreign key, unique or table-level check constraint (a primary key is its table's key, not a constraint the drill drops)"
        )
      const name = `${displayIdentifier(constraint.table)}.${displayIdentifier(constraint.name)}`
      return {
        operator,
        target: `constraint ${name}`,
        object: { kind: 'constraint', name },
        rewriter: dropConstraintRewriter({ name: constraint.table }, constraint.name)
      }
    }
    case 'reset-auto-increment': {
      const counter = [...catalog.counters].sort((a, b) => byBytes(a.table, b.table))[0]
      if (!counter) return none('no table has an AUTO_INCREMENT column')
      // Named as schema-queries.ts readCounters names it; compareSequences reports it as a sequence.
      const name = `${displayIdentifier(counter.table)}.${displayIdentifier(counter.column)}`
      return {
        operator,
        target: `AUTO_INCREMENT of ${name}`,
        object: { kind: 'sequence', name },
        rewriter: resetAutoIncrementRewriter({ name: counter.table })
      }
    }
  }
  return none(`${operator} is not a drill operator of MySQL/MariaDB (${MYSQL_DRILL_OPERATORS.join(', ')})`)
}
