import { type TableName, displayIdentifier, displayName } from '../../util/table-name.js'
import {
  ROGUE_TEXT_LENGTH,
  dropConstraintRewriter,
  dropIndexRewriter,
  dropRowRewriter,
  duplicateRowRewriter,
  mutateCellRewriter,
  mutateFunctionRewriter,
  nullToEmptyRewriter,
  rogueRowRewriter,
  sequenceResetRewriter,
  swapValuesRewriter,
  truncateRewriter,
  type DumpRewriter,
  type FreshKind,
  type RogueRowTarget
} from './drill-rewriters.js'
import { planChangeOwner, planDropGrant, type PrivilegePlan } from './drill-privileges.js'
import { largeObjectRewriter } from './drill-large-object.js'
import { bySchemaAndName, compareText } from '../../util/text-order.js'
import type { DetectingCheck, DrillAim, SeamDrillNoTarget } from '../types.js'

// The catalog the drill plans from, read by the engine (drill-catalog.ts).
export type {
  ColumnInfo,
  ConstraintInfo,
  FunctionInfo,
  IndexInfo,
  DrillCatalog,
  SequenceInfo,
  TableShape
} from './drill-catalog.js'
import type { ColumnInfo, ConstraintInfo, DrillCatalog, TableShape } from './drill-catalog.js'

// The rewriter contract, and what chooseRogueRowTarget returns.
export type { DumpRewriter, RogueRowTarget } from './drill-rewriters.js'

/**
 * Chaos-drill operators: each corrupts a copy of the dump in a way that still restores cleanly
 * wherever the schema allows, so that it is the verifier, not the restore, that has to notice.
 * Pure: they work on the lines of a plain dump.
 */
export const DRILL_OPERATORS = [
  'rogue-row',
  'drop-row',
  'mutate-cell',
  'swap-values',
  'duplicate-row',
  'null-to-empty',
  'truncate',
  'drop-index',
  'drop-constraint',
  'sequence-reset',
  'drop-grant',
  'change-owner',
  'mutate-large-object',
  'mutate-function'
] as const
export type DrillOperator = (typeof DRILL_OPERATORS)[number]

/** One operator aimed at one object, ready to rewrite a copy of the dump. */
export interface DrillPlan extends DrillAim {
  operator: DrillOperator
  /** Human-readable: `public.orders`, `index public.orders_customer_idx`, `sequence public.orders_id_seq`. */
  target: string
  /** The table whose comparison must flag it, when the corruption is in a table's data. */
  targetTable?: TableName
  /** The schema object that goes missing or changes, for schema operators: what a schema difference must name. */
  targetObject?: {
    kind: 'index' | 'constraint' | 'sequence' | 'large object' | 'function'
    schema: string
    table?: string
    name: string
    /** For a function: the schema fingerprint's name, `schema.name(argument types)`. */
    signature?: string
  }
  /** The owner or privileges difference that must name it, for the privilege operators. */
  targetDifference?: { kind: 'owner' | 'privileges'; name: string }
  /** A role the copy's restore needs beyond the backup's (see drill-privileges.ts). */
  extraRole?: string
  /** Its result() gives the evidence once applied: the row's key, the column, the line removed... */
  rewriter: DumpRewriter
  /** Checks that can see this corruption; the drill passes when any of them reports the target. */
  caughtBy: DetectingCheck[]
  /** When verify is 'counts', why this operator is expected to go unnoticed (undefined = counts catch it). */
  invisibleToCounts?: string
}

/**
 * Aims `operator` at the first fitting object of the catalog, in a fixed order, so that the same
 * schema always gets the same drill. Undefined when nothing in this schema can take the
 * corruption and still restore.
 */
export function planDrill(operator: DrillOperator, catalog: DrillCatalog): DrillPlan | undefined {
  switch (operator) {
    case 'rogue-row': {
      const target = chooseRogueRowTarget(catalog.tables)
      if (!target) return undefined
      const spell = spellerOf(catalog)
      const spelled = {
        schema: spell(target.schema),
        name: spell(target.name),
        freshColumns: target.freshColumns.map(column => ({ ...column, name: spell(column.name) }))
      }
      return dataPlan(operator, target, rogueRowRewriter(spelled), ROW_COUNT_CHECKS)
    }
    case 'drop-row':
      return planDropRow(catalog)
    case 'mutate-cell':
      return planMutateCell(catalog)
    case 'swap-values':
      return planSwapValues(catalog)
    case 'duplicate-row':
      return planDuplicateRow(catalog)
    case 'null-to-empty':
      return planNullToEmpty(catalog)
    case 'truncate':
      return planTruncate(catalog)
    case 'drop-index':
      return planDropIndex(catalog)
    case 'drop-constraint':
      return planDropConstraint(catalog)
    case 'sequence-reset':
      return planSequenceReset(catalog)
    case 'drop-grant':
      return privilegePlan(operator, catalog.privileges && planDropGrant(catalog.privileges))
    case 'change-owner':
      return privilegePlan(operator, catalog.privileges && planChangeOwner(catalog.privileges))
    case 'mutate-large-object':
      return planMutateLargeObject(catalog)
    case 'mutate-function':
      return planMutateFunction(catalog)
  }
}

function privilegePlan(operator: DrillOperator, plan: PrivilegePlan | undefined): DrillPlan | undefined {
  if (!plan) return undefined
  return {
    operator,
    target: plan.target,
    targetDifference: plan.difference,
    rewriter: plan.rewriter,
    caughtBy: ['privileges'],
    ...(plan.extraRole ? { extraRole: plan.extraRole } : {})
  }
}

/** PostgreSQL's plan as the seam carries it: its DrillPlan, which is also the judge's aim, and the table it corrupts. */
export type PostgresDrillPlan = DrillPlan & { aim: DrillPlan; table?: TableName }

export function isDrillOperator(operator: string): operator is DrillOperator {
  return (DRILL_OPERATORS as readonly string[]).includes(operator)
}

/**
 * The engine's planDrill (engines/types.ts): `operator` aimed at the first fitting object of the
 * catalog (planDrill), or, when nothing in this schema can take it, why not (explainNoTarget),
 * decided here so that the reason is always the planner's own.
 */
export function planOrExplain(operator: string, catalog: DrillCatalog): PostgresDrillPlan | SeamDrillNoTarget {
  if (!isDrillOperator(operator)) {
    return { operator, noTarget: `PostgreSQL's drill has no operator '${operator}' (it has ${DRILL_OPERATORS.join(', ')})` }
  }
  const plan = planDrill(operator, catalog)
  if (!plan) return { operator, noTarget: explainNoTarget(operator, catalog) }
  return { ...plan, aim: plan, ...(plan.targetTable ? { table: plan.targetTable } : {}) }
}

/**
 * Why `operator` found no target in this schema (planDrill returned undefined), in words a
 * reader can act on: what the operator needs, and that this schema has none of it.
 */
export function explainNoTarget(operator: DrillOperator, catalog: DrillCatalog): string {
  const withRows = catalog.tables.filter(table => table.rows > 0 && table.columns.length > 0)
  const noRows = 'no table holds any rows'
  switch (operator) {
    case 'rogue-row':
      return withRows.length === 0
        ? noRows
        : 'no table with rows (outside partitions and exclusion constraints) has keys Lazarus can give fresh values: ' +
            'plain integer, text or uuid key columns outside foreign keys and checks, or, without a key, one such column'
    case 'drop-row':
      return withRows.length === 0
        ? noRows
        : 'every table with rows is referenced by a foreign key, which a missing row would break'
    case 'mutate-cell':
      return withRows.length === 0
        ? noRows
        : 'no table with rows has a plain text, varchar, char, integer or numeric column outside keys, unique, expression ' +
            "and partial indexes, foreign keys, checks, exclusion constraints, partition keys and generated columns' expressions"
    case 'swap-values':
      return catalog.tables.some(table => table.rows >= 2)
        ? 'no table with two rows or more has a column outside keys, unique, expression and partial indexes, foreign keys, ' +
            "checks, exclusion constraints, partition keys and generated columns' expressions"
        : 'no table holds two rows or more'
    case 'duplicate-row':
      return withRows.length === 0
        ? noRows
        : 'every table with rows has a primary key, a unique index or an exclusion constraint, which would reject a twin row'
    case 'null-to-empty':
      return withRows.length === 0
        ? noRows
        : "no table with rows has a nullable plain text, varchar or char column outside keys, indexes' expressions, " +
            "constraints, partition keys and generated columns' expressions"
    case 'truncate':
      return 'no table holds two rows or more'
    case 'drop-index':
      return catalog.indexes.length === 0
        ? 'the schema has no index'
        : 'every index backs a constraint, serves a foreign key, belongs to a partitioned index, or is named by another ' +
            'statement of the dump (CLUSTER ON, REPLICA IDENTITY, a comment, statistics targets, an extension)'
    case 'drop-constraint':
      return catalog.constraints.length === 0
        ? 'the schema has no constraint'
        : 'every constraint is a primary key, inherited, written inside CREATE TABLE, named by a comment, or needed by ' +
            'a foreign key or an inheritance or partition tree'
    case 'sequence-reset':
      return catalog.sequences.length === 0
        ? 'the schema has no sequence'
        : 'no sequence has been used yet (or this role may not read one), so a reset would change nothing'
    case 'mutate-function':
      return (
        'no SQL or PL/pgSQL function or procedure with a string body that nothing else in the schema depends on ' +
        '(a check, default, generated column, index or view could run it during the restore)'
      )
    case 'mutate-large-object':
      return 'the database has no large object that holds data'
    case 'drop-grant':
    case 'change-owner':
      return catalog.privileges
        ? 'no object carries an owner or a grant this operator can change and the copy still restore'
        : 'owners and privileges are not restored and compared in this run (the report says why and how to enable it)'
  }
}

// A row count that changes shows in the counts, and in the checksums, which carry the count too.
const ROW_COUNT_CHECKS: DetectingCheck[] = ['counts', 'checksums']

function dataPlan(
  operator: DrillOperator,
  table: TableName,
  rewriter: DumpRewriter,
  caughtBy: DetectingCheck[],
  invisibleToCounts?: string
): DrillPlan {
  const targetTable = { schema: table.schema, name: table.name }
  const plan: DrillPlan = { operator, target: displayName(targetTable), targetTable, rewriter, caughtBy: [...caughtBy] }
  if (invisibleToCounts) plan.invisibleToCounts = invisibleToCounts
  return plan
}

// ---------------------------------------------------------------------------------------------
// Names in the dump

/**
 * A name as the dump's bytes spell it. The rewriters read the dump as bytes, one latin1 character
 * each (dump-encoding.ts), so a catalog name beyond ASCII is handed to them in that form; the
 * evidence they write comes back in it too, and the pipeline decodes it once.
 */
function spellerOf(catalog: DrillCatalog): (name: string) => string {
  return name => catalog.dumpNames?.get(name) ?? name
}

function spellTable(spell: (name: string) => string, table: TableName) {
  return { schema: spell(table.schema), name: spell(table.name) }
}

function spellObject(spell: (name: string) => string, object: { schema: string; table: string; name: string }) {
  return { schema: spell(object.schema), table: spell(object.table), name: spell(object.name) }
}

// ---------------------------------------------------------------------------------------------
// Choosing targets

function primaryKey(table: TableShape): string[] | undefined {
  const index = table.uniqueIndexes.find(candidate => candidate.primary && !candidate.expression && !candidate.partial)
  return index && index.columns.length > 0 ? index.columns : undefined
}

/** Tables holding rows, those with a primary key first (their evidence can name the row), then by name. */
function tablesByPreference(tables: TableShape[], minimumRows = 1): TableShape[] {
  return tables
    .filter(table => table.rows >= minimumRows && table.columns.length > 0)
    .sort((a, b) => Number(primaryKey(b) !== undefined) - Number(primaryKey(a) !== undefined) || bySchemaAndName(a, b))
}

/**
 * Columns whose values another row or the schema cares about: any unique index's, foreign keys',
 * checks' and exclusion constraints' columns, partition keys, and what generated columns and
 * expression or partial indexes compute from (a generated column under a unique index or a check,
 * an index expression that casts). A changed value there could make the restore fail;
 * everywhere else, any value of the column's type is accepted.
 */
function lockedColumns(table: TableShape): Set<string> {
  return new Set([
    ...table.uniqueIndexes.flatMap(index => index.columns),
    ...table.constraints.flatMap(constraint => constraint.columns),
    ...(table.partitionKey ?? []),
    ...(table.derivedFrom ?? [])
  ])
}

/** Free columns (see lockedColumns) of plain base types that `accepts`, in column order. */
function freeColumns(table: TableShape, accepts: (column: ColumnInfo) => boolean): ColumnInfo[] {
  // A unique expression index hides which columns feed it unless the catalog reader listed them.
  if (table.uniqueIndexes.some(index => (index.expression || index.partial) && index.columns.length === 0)) return []
  const locked = lockedColumns(table)
  return table.columns.filter(column => !column.generated && !locked.has(column.name) && accepts(column))
}

const TEXT_TYPES = new Set(['text', 'varchar', 'bpchar'])
const NUMBER_TYPES = new Set(['int2', 'int4', 'int8', 'numeric'])

function isPlainText(column: ColumnInfo): boolean {
  return column.typtype === 'b' && TEXT_TYPES.has(column.type)
}

function isPlainNumber(column: ColumnInfo): boolean {
  return column.typtype === 'b' && NUMBER_TYPES.has(column.type)
}

/** The first table (in preference order) with candidate columns, and those columns, best first. */
function firstWithColumns(
  tables: TableShape[],
  candidates: (table: TableShape) => ColumnInfo[],
  likely: (column: ColumnInfo) => boolean
): { table: TableShape; columns: ColumnInfo[] } | undefined {
  const found = tables.map(table => ({ table, columns: candidates(table) })).filter(entry => entry.columns.length > 0)
  // Columns the statistics say hold what the operator needs go first, and so do their tables.
  const rank = (entry: { columns: ColumnInfo[] }) => Number(!entry.columns.some(likely))
  const best = found
    .map((entry, order) => ({ entry, order }))
    .sort((a, b) => rank(a.entry) - rank(b.entry) || a.order - b.order)[0]
  if (!best) return undefined
  const columns = [...best.entry.columns].sort((a, b) => Number(!likely(a)) - Number(!likely(b)))
  return { table: best.entry.table, columns }
}

function planDropRow(catalog: DrillCatalog): DrillPlan | undefined {
  // A row some foreign key may point at cannot go without breaking the restore.
  const table = tablesByPreference(catalog.tables).find(candidate => candidate.referencedBy?.length === 0)
  if (!table) return undefined
  const spell = spellerOf(catalog)
  return dataPlan('drop-row', table, dropRowRewriter(spellTable(spell, table), primaryKey(table)?.map(spell)), ROW_COUNT_CHECKS)
}

function planMutateCell(catalog: DrillCatalog): DrillPlan | undefined {
  const chosen = firstWithColumns(
    tablesByPreference(catalog.tables),
    table => freeColumns(table, column => isPlainText(column) || isPlainNumber(column)),
    column => column.nullFraction === undefined || column.nullFraction < 1
  )
  if (!chosen) return undefined
  const spell = spellerOf(catalog)
  const columns = chosen.columns.map(column => ({ name: spell(column.name), digitsOnly: isPlainNumber(column) }))
  return dataPlan(
    'mutate-cell',
    chosen.table,
    mutateCellRewriter(spellTable(spell, chosen.table), columns, primaryKey(chosen.table)?.map(spell)),
    ['checksums'],
    'one changed character leaves the row count as it was: only a content checksum sees it'
  )
}

function planSwapValues(catalog: DrillCatalog): DrillPlan | undefined {
  // Any type will do: each value moves to a row of the same column, where it was already valid.
  const chosen = firstWithColumns(
    tablesByPreference(catalog.tables, 2),
    table => freeColumns(table, () => true),
    () => true
  )
  if (!chosen) return undefined
  const spell = spellerOf(catalog)
  return dataPlan(
    'swap-values',
    chosen.table,
    swapValuesRewriter(
      spellTable(spell, chosen.table),
      chosen.columns.map(column => spell(column.name)),
      primaryKey(chosen.table)?.map(spell)
    ),
    ['checksums'],
    "two rows exchanging a value keep the row count and every column's values: only a checksum over whole rows sees it"
  )
}

function planDuplicateRow(catalog: DrillCatalog): DrillPlan | undefined {
  // Only where no unique index or exclusion constraint would reject the twin.
  const table = tablesByPreference(catalog.tables).find(
    candidate => candidate.uniqueIndexes.length === 0 && !candidate.constraints.some(constraint => constraint.type === 'x')
  )
  if (!table) return undefined
  return dataPlan('duplicate-row', table, duplicateRowRewriter(spellTable(spellerOf(catalog), table)), ROW_COUNT_CHECKS)
}

function planNullToEmpty(catalog: DrillCatalog): DrillPlan | undefined {
  const chosen = firstWithColumns(
    tablesByPreference(catalog.tables),
    table => freeColumns(table, column => isPlainText(column) && column.notNull === false),
    column => column.nullFraction === undefined || column.nullFraction > 0
  )
  if (!chosen) return undefined
  const spell = spellerOf(catalog)
  return dataPlan(
    'null-to-empty',
    chosen.table,
    nullToEmptyRewriter(
      spellTable(spell, chosen.table),
      chosen.columns.map(column => spell(column.name)),
      primaryKey(chosen.table)?.map(spell)
    ),
    ['checksums'],
    "a NULL turned into '' leaves the row count as it was: only a checksum that tells NULL from '' sees it"
  )
}

function planTruncate(catalog: DrillCatalog): DrillPlan | undefined {
  // The biggest table, cut in the middle of its data as by an interrupted upload.
  const table = catalog.tables
    .filter(candidate => candidate.rows >= 2 && candidate.columns.length > 0)
    .sort((a, b) => b.rows - a.rows || bySchemaAndName(a, b))[0]
  if (!table) return undefined
  const rewriter = truncateRewriter(spellTable(spellerOf(catalog), table), Math.floor(table.rows / 2))
  return dataPlan('truncate', table, rewriter, ['restore', 'counts', 'checksums'])
}

function planDropIndex(catalog: DrillCatalog): DrillPlan | undefined {
  const index = catalog.indexes
    .filter(candidate => !candidate.backsConstraint && !candidate.usedByForeignKey && !candidate.partitioned)
    .filter(candidate => !candidate.namedElsewhere)
    .sort((a, b) => Number(a.unique) - Number(b.unique) || bySchemaAndName(a, b) || compareText(a.table, b.table))[0]
  if (!index) return undefined
  return {
    operator: 'drop-index',
    target: `index ${displayName(index)}`,
    targetObject: { kind: 'index', schema: index.schema, table: index.table, name: index.name },
    rewriter: dropIndexRewriter(spellObject(spellerOf(catalog), index)),
    caughtBy: ['schema']
  }
}

// Foreign keys first: nothing else in a dump depends on one.
const CONSTRAINT_PREFERENCE = ['f', 'u', 'c', 'x'] as const

function droppableConstraint(constraint: ConstraintInfo): boolean {
  if (!constraint.local || !constraint.separate || constraint.namedElsewhere) return false
  switch (constraint.type) {
    case 'f':
      // On a partitioned table its clones on the partitions go with it, which restores fine.
      return true
    case 'u':
    case 'x':
      // A partitioned key's index is attached to its partitions' later; a foreign key needs the index.
      return !constraint.inTree && !constraint.usedByForeignKey
    case 'c':
      // Children of an inheritance tree must carry their parent's checks.
      return !constraint.inTree
    case 'p':
      return false
  }
}

function planDropConstraint(catalog: DrillCatalog): DrillPlan | undefined {
  const rank = (constraint: ConstraintInfo) =>
    CONSTRAINT_PREFERENCE.indexOf(constraint.type as (typeof CONSTRAINT_PREFERENCE)[number])
  const constraint = catalog.constraints
    .filter(droppableConstraint)
    .sort(
      (a, b) =>
        rank(a) - rank(b) || compareText(a.schema, b.schema) || compareText(a.table, b.table) || compareText(a.name, b.name)
    )[0]
  if (!constraint) return undefined
  return {
    operator: 'drop-constraint',
    target: `constraint ${displayIdentifier(constraint.name)} on ${displayName({ schema: constraint.schema, name: constraint.table })}`,
    targetObject: { kind: 'constraint', schema: constraint.schema, table: constraint.table, name: constraint.name },
    rewriter: dropConstraintRewriter({ ...constraint, ...spellObject(spellerOf(catalog), constraint) }),
    caughtBy: ['schema']
  }
}

function planSequenceReset(catalog: DrillCatalog): DrillPlan | undefined {
  // A used sequence only: one never called already sits where a reset would put it.
  const sequence = catalog.sequences
    .filter(candidate => candidate.lastValue !== null)
    .sort((a, b) => Number(b.ownerRows > 0) - Number(a.ownerRows > 0) || bySchemaAndName(a, b))[0]
  if (!sequence) return undefined
  return {
    operator: 'sequence-reset',
    target: `sequence ${displayName(sequence)}`,
    targetObject: { kind: 'sequence', schema: sequence.schema, name: sequence.name },
    rewriter: sequenceResetRewriter({ ...sequence, ...spellTable(spellerOf(catalog), sequence) }),
    caughtBy: ['sequences', 'schema']
  }
}

function planMutateLargeObject(catalog: DrillCatalog): DrillPlan | undefined {
  if (catalog.largeObject === undefined) return undefined
  return {
    operator: 'mutate-large-object',
    target: `large object ${catalog.largeObject}`,
    // Large objects have no schema; the comparison names them by OID.
    targetObject: { kind: 'large object', schema: '', name: catalog.largeObject },
    rewriter: largeObjectRewriter(catalog.largeObject),
    caughtBy: ['schema']
  }
}

function planMutateFunction(catalog: DrillCatalog): DrillPlan | undefined {
  const fn = catalog.functions?.[0]
  if (!fn) return undefined
  const spell = spellerOf(catalog)
  return {
    operator: 'mutate-function',
    target: `function ${displayName(fn)}(${fn.arguments})`,
    targetObject: { kind: 'function', schema: fn.schema, name: fn.name, signature: fn.signature },
    rewriter: mutateFunctionRewriter({ schema: spell(fn.schema), name: spell(fn.name), arguments: spell(fn.arguments) }),
    caughtBy: ['schema']
  }
}

// ---------------------------------------------------------------------------------------------
// Rogue row

const INTEGER_TYPES = new Set(['int2', 'int4', 'int8', 'numeric'])
const ROGUE_TEXT_TYPES = new Set(['text', 'varchar'])

function freshKind(column: ColumnInfo): FreshKind | undefined {
  if (column.typtype !== 'b' || column.generated) return undefined
  if (INTEGER_TYPES.has(column.type)) return 'integer'
  if (column.type === 'uuid') return 'uuid'
  if (ROGUE_TEXT_TYPES.has(column.type) && (column.typmod < 0 || column.typmod - 4 >= ROGUE_TEXT_LENGTH)) return 'text'
  return undefined
}

/**
 * Picks the table for a rogue row and the columns that must get fresh values. A rogue row is a
 * copy of an existing row (so every other constraint still holds) whose unique columns get
 * values nobody has; a table without keys gets one column changed so the row is new.
 * Tables are skipped where a fresh value could break the restore: keys that are foreign keys,
 * under a check or exclusion constraint, generated, expressions, or of other types; partitions,
 * whose bounds a new key could leave.
 */
export function chooseRogueRowTarget(tables: TableShape[]): RogueRowTarget | undefined {
  const candidates: { target: RogueRowTarget; hasPrimaryKey: boolean; rows: number }[] = []
  for (const table of tables) {
    if (table.rows === 0 || table.partition) continue
    const target = rogueRowPlan(table)
    if (target) candidates.push({ target, hasPrimaryKey: table.uniqueIndexes.some(index => index.primary), rows: table.rows })
  }
  candidates.sort(
    (a, b) =>
      Number(b.hasPrimaryKey) - Number(a.hasPrimaryKey) ||
      b.rows - a.rows ||
      compareText(displayName(a.target), displayName(b.target))
  )
  return candidates[0]?.target
}

function rogueRowPlan(table: TableShape): RogueRowTarget | undefined {
  if (table.constraints.some(constraint => constraint.type === 'x')) return undefined
  const constrained = new Set(
    table.constraints.filter(constraint => constraint.type !== 'x').flatMap(constraint => constraint.columns)
  )
  const columnsByName = new Map(table.columns.map(column => [column.name, column]))
  const plan = (names: string[]): RogueRowTarget['freshColumns'] | undefined => {
    const fresh: RogueRowTarget['freshColumns'] = []
    for (const name of names) {
      const column = columnsByName.get(name)
      const kind = column && !constrained.has(name) ? freshKind(column) : undefined
      if (!column || !kind) return undefined
      fresh.push({ name, kind, maxLength: column.typmod > 4 && kind === 'text' ? column.typmod - 4 : undefined })
    }
    return fresh
  }
  if (table.uniqueIndexes.length > 0) {
    if (table.uniqueIndexes.some(index => index.expression)) return undefined
    const keyColumns = [...new Set(table.uniqueIndexes.flatMap(index => index.columns))]
    const fresh = plan(keyColumns)
    return fresh ? { schema: table.schema, name: table.name, freshColumns: fresh } : undefined
  }
  for (const column of table.columns) {
    const fresh = plan([column.name])
    if (fresh) return { schema: table.schema, name: table.name, freshColumns: fresh }
  }
  return undefined
}
