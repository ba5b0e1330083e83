import { randomBytes, randomUUID } from 'node:crypto'
import { displayName } from './compare.js'

/**
 * Chaos-drill operators: each corrupts a copy of the dump in a way that still restores cleanly
 * wherever the schema allows, so that it is the verifier, not the restore, that has to notice.
 * Pure: they work on the lines of a plain dump.
 */
export const SABOTAGE_OPERATORS = [
  'rogue-row',
  'drop-row',
  'mutate-cell',
  'swap-values',
  'duplicate-row',
  'null-to-empty',
  'truncate',
  'drop-index',
  'drop-constraint',
  'sequence-reset'
] as const
export type SabotageOperator = (typeof SABOTAGE_OPERATORS)[number]

/** The verification steps that can notice a corruption, as the report names them. */
export type DetectingCheck = 'restore' | 'counts' | 'checksums' | 'schema' | 'sequences'

/** A column as the drill needs to know it to invent values the schema accepts. */
export interface ColumnInfo {
  name: string
  /** pg_type.typname of the column's type, e.g. int4, text, uuid. */
  type: string
  /** pg_type.typtype: `b` base, `d` domain, `e` enum, ... */
  typtype: string
  /** pg_attribute.atttypmod: for varchar(n), n + 4; -1 when unlimited. */
  typmod: number
  generated: boolean
  /** NOT NULL; undefined when not read, which the drill treats as "may not take a NULL's place". */
  notNull?: boolean
  /** pg_stats.null_frac when the table was analyzed: which columns are likely to hold a NULL at all. */
  nullFraction?: number
}

/** A production table's columns and constraints, from its catalog. */
export interface TableShape {
  schema: string
  name: string
  rows: number
  columns: ColumnInfo[]
  /**
   * Unique indexes. `columns` are the key columns and, where the catalog reader knows them, the
   * columns its expressions and predicate use (`partial`: it has a WHERE clause).
   */
  uniqueIndexes: { primary: boolean; expression: boolean; partial?: boolean; columns: string[] }[]
  /** Foreign-key (`f`), check (`c`) and exclusion (`x`) constraints with their columns. */
  constraints: { type: 'f' | 'c' | 'x'; columns: string[] }[]
  /** A partition: its rows must stay inside its bounds. */
  partition?: boolean
  /** Columns that route rows to partitions, in any partitioned ancestor (all columns for expression keys). */
  partitionKey?: string[]
  /** Foreign keys (`schema.table.constraint`) pointing at this table's rows, or at a partitioned ancestor's. */
  referencedBy?: string[]
}

/** An index, with what else in the dump depends on it. */
export interface IndexInfo {
  schema: string
  table: string
  name: string
  unique: boolean
  /** Backs a primary key, unique or exclusion constraint, whose ALTER TABLE creates it. */
  backsConstraint: boolean
  /** A foreign key relies on it: without it, the foreign key cannot be created. */
  usedByForeignKey: boolean
  /** A partitioned index or a partition's index, which later ATTACH PARTITION statements name. */
  partitioned: boolean
  /** Named by a later statement of the dump: CLUSTER ON, REPLICA IDENTITY, COMMENT, statistics, extension. */
  namedElsewhere: boolean
}

/** A table constraint, with what decides whether the dump still restores without it. */
export interface ConstraintInfo {
  schema: string
  table: string
  name: string
  type: 'c' | 'f' | 'p' | 'u' | 'x'
  /** Defined on this table itself, not inherited or cloned from a parent (pg_dump writes only these). */
  local: boolean
  /** Written as an ALTER TABLE ... ADD CONSTRAINT of its own; validated checks sit inside CREATE TABLE. */
  separate: boolean
  /** The table is partitioned, a partition, or part of an inheritance tree. */
  inTree: boolean
  /** A foreign key relies on this key's index. */
  usedByForeignKey: boolean
  /** Named by a later statement of the dump: COMMENT ON CONSTRAINT, or its index's CLUSTER ON / REPLICA IDENTITY. */
  namedElsewhere: boolean
}

export interface SequenceInfo {
  schema: string
  name: string
  /** Its last value as text; null when it was never used (or may not be read), so the dump sets nothing back. */
  lastValue: string | null
  startValue: string
  /** The table whose column owns it (serial or identity). */
  ownedBy?: { schema: string; name: string }
  /** Rows of the owning table; 0 when none, unknown, or not owned. */
  ownerRows: number
}

/** What production's catalog says about the objects the drill may corrupt. */
export interface SabotageCatalog {
  tables: TableShape[]
  indexes: IndexInfo[]
  constraints: ConstraintInfo[]
  sequences: SequenceInfo[]
}

/** A line-by-line rewrite of a plain dump. `push` returns the lines to write in its place. */
export interface DumpRewriter {
  push(line: string): string[]
  /** What was done, once the whole dump went through; undefined when the target was never found. */
  result(): { evidence: string } | undefined
}

/** One operator aimed at one object, ready to rewrite a copy of the dump. */
export interface SabotagePlan {
  operator: SabotageOperator
  /** Human-readable: `public.orders`, `index public.orders_customer_idx`, `sequence public.orders_id_seq`. */
  target: string
  /** The table whose comparison must flag it, when the corruption is in a table's data. */
  targetTable?: { schema: string; name: string }
  /** The schema object that goes missing or changes, for schema operators: what a schema difference must name. */
  targetObject?: { kind: 'index' | 'constraint' | 'sequence'; schema: string; table?: string; name: string }
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
export function planSabotage(operator: SabotageOperator, catalog: SabotageCatalog): SabotagePlan | undefined {
  switch (operator) {
    case 'rogue-row': {
      const target = chooseRogueRowTarget(catalog.tables)
      if (!target) return undefined
      return dataPlan(operator, target, rogueRowRewriter(target), ROW_COUNT_CHECKS)
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
  }
}

// A row count that changes shows in the counts, and in the checksums, which carry the count too.
const ROW_COUNT_CHECKS: DetectingCheck[] = ['counts', 'checksums']

function dataPlan(
  operator: SabotageOperator,
  table: { schema: string; name: string },
  rewriter: DumpRewriter,
  caughtBy: DetectingCheck[],
  invisibleToCounts?: string
): SabotagePlan {
  const targetTable = { schema: table.schema, name: table.name }
  const plan: SabotagePlan = { operator, target: displayName(targetTable), targetTable, rewriter, caughtBy: [...caughtBy] }
  if (invisibleToCounts) plan.invisibleToCounts = invisibleToCounts
  return plan
}

// ---------------------------------------------------------------------------------------------
// Choosing targets

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function byName(a: { schema: string; name: string }, b: { schema: string; name: string }): number {
  return compareText(a.schema, b.schema) || compareText(a.name, b.name)
}

function primaryKey(table: TableShape): string[] | undefined {
  const index = table.uniqueIndexes.find(candidate => candidate.primary && !candidate.expression && !candidate.partial)
  return index && index.columns.length > 0 ? index.columns : undefined
}

/** Tables holding rows, those with a primary key first (their evidence can name the row), then by name. */
function tablesByPreference(tables: TableShape[], minimumRows = 1): TableShape[] {
  return tables
    .filter(table => table.rows >= minimumRows && table.columns.length > 0)
    .sort((a, b) => Number(primaryKey(b) !== undefined) - Number(primaryKey(a) !== undefined) || byName(a, b))
}

/**
 * Columns whose values another row or the schema cares about: any unique index's, foreign keys',
 * checks' and exclusion constraints' columns, and partition keys. A changed value there could
 * make the restore fail; everywhere else, any value of the column's type is accepted.
 */
function lockedColumns(table: TableShape): Set<string> {
  return new Set([
    ...table.uniqueIndexes.flatMap(index => index.columns),
    ...table.constraints.flatMap(constraint => constraint.columns),
    ...(table.partitionKey ?? [])
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
  const best = found.map((entry, order) => ({ entry, order })).sort((a, b) => rank(a.entry) - rank(b.entry) || a.order - b.order)[0]
  if (!best) return undefined
  const columns = [...best.entry.columns].sort((a, b) => Number(!likely(a)) - Number(!likely(b)))
  return { table: best.entry.table, columns }
}

function planDropRow(catalog: SabotageCatalog): SabotagePlan | undefined {
  // A row some foreign key may point at cannot go without breaking the restore.
  const table = tablesByPreference(catalog.tables).find(candidate => candidate.referencedBy?.length === 0)
  if (!table) return undefined
  return dataPlan('drop-row', table, dropRowRewriter(table, primaryKey(table)), ROW_COUNT_CHECKS)
}

function planMutateCell(catalog: SabotageCatalog): SabotagePlan | undefined {
  const chosen = firstWithColumns(
    tablesByPreference(catalog.tables),
    table => freeColumns(table, column => isPlainText(column) || isPlainNumber(column)),
    column => column.nullFraction === undefined || column.nullFraction < 1
  )
  if (!chosen) return undefined
  const columns = chosen.columns.map(column => ({ name: column.name, digitsOnly: isPlainNumber(column) }))
  return dataPlan(
    'mutate-cell',
    chosen.table,
    mutateCellRewriter(chosen.table, columns, primaryKey(chosen.table)),
    ['checksums'],
    'one changed character leaves the row count as it was: only a content checksum sees it'
  )
}

function planSwapValues(catalog: SabotageCatalog): SabotagePlan | undefined {
  // Any type will do: each value moves to a row of the same column, where it was already valid.
  const chosen = firstWithColumns(
    tablesByPreference(catalog.tables, 2),
    table => freeColumns(table, () => true),
    () => true
  )
  if (!chosen) return undefined
  return dataPlan(
    'swap-values',
    chosen.table,
    swapValuesRewriter(chosen.table, chosen.columns.map(column => column.name), primaryKey(chosen.table)),
    ['checksums'],
    'two rows exchanging a value keep the row count and every column\'s values: only a checksum over whole rows sees it'
  )
}

function planDuplicateRow(catalog: SabotageCatalog): SabotagePlan | undefined {
  // Only where no unique index or exclusion constraint would reject the twin.
  const table = tablesByPreference(catalog.tables).find(
    candidate => candidate.uniqueIndexes.length === 0 && !candidate.constraints.some(constraint => constraint.type === 'x')
  )
  if (!table) return undefined
  return dataPlan('duplicate-row', table, duplicateRowRewriter(table), ROW_COUNT_CHECKS)
}

function planNullToEmpty(catalog: SabotageCatalog): SabotagePlan | undefined {
  const chosen = firstWithColumns(
    tablesByPreference(catalog.tables),
    table => freeColumns(table, column => isPlainText(column) && column.notNull === false),
    column => column.nullFraction === undefined || column.nullFraction > 0
  )
  if (!chosen) return undefined
  return dataPlan(
    'null-to-empty',
    chosen.table,
    nullToEmptyRewriter(chosen.table, chosen.columns.map(column => column.name), primaryKey(chosen.table)),
    ['checksums'],
    "a NULL turned into '' leaves the row count as it was: only a checksum that tells NULL from '' sees it"
  )
}

function planTruncate(catalog: SabotageCatalog): SabotagePlan | undefined {
  // The biggest table, cut in the middle of its data as by an interrupted upload.
  const table = catalog.tables
    .filter(candidate => candidate.rows >= 2 && candidate.columns.length > 0)
    .sort((a, b) => b.rows - a.rows || byName(a, b))[0]
  if (!table) return undefined
  return dataPlan('truncate', table, truncateRewriter(table, Math.floor(table.rows / 2)), ['restore', 'counts', 'checksums'])
}

function planDropIndex(catalog: SabotageCatalog): SabotagePlan | undefined {
  const index = catalog.indexes
    .filter(candidate => !candidate.backsConstraint && !candidate.usedByForeignKey && !candidate.partitioned)
    .filter(candidate => !candidate.namedElsewhere)
    .sort((a, b) => Number(a.unique) - Number(b.unique) || byName(a, b) || compareText(a.table, b.table))[0]
  if (!index) return undefined
  return {
    operator: 'drop-index',
    target: `index ${displayName(index)}`,
    targetObject: { kind: 'index', schema: index.schema, table: index.table, name: index.name },
    rewriter: dropIndexRewriter(index),
    caughtBy: ['schema']
  }
}

// Foreign keys first: nothing else in a dump depends on one.
const CONSTRAINT_PREFERENCE = ['f', 'u', 'c', 'x'] as const
const CONSTRAINT_KINDS: Record<ConstraintInfo['type'], string> = {
  c: 'CHECK',
  f: 'FOREIGN KEY',
  p: 'PRIMARY KEY',
  u: 'UNIQUE',
  x: 'EXCLUDE'
}

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

function planDropConstraint(catalog: SabotageCatalog): SabotagePlan | undefined {
  const rank = (constraint: ConstraintInfo) => CONSTRAINT_PREFERENCE.indexOf(constraint.type as (typeof CONSTRAINT_PREFERENCE)[number])
  const constraint = catalog.constraints
    .filter(droppableConstraint)
    .sort(
      (a, b) =>
        rank(a) - rank(b) || compareText(a.schema, b.schema) || compareText(a.table, b.table) || compareText(a.name, b.name)
    )[0]
  if (!constraint) return undefined
  return {
    operator: 'drop-constraint',
    target: `constraint ${quoteIdentifier(constraint.name)} on ${displayName({ schema: constraint.schema, name: constraint.table })}`,
    targetObject: { kind: 'constraint', schema: constraint.schema, table: constraint.table, name: constraint.name },
    rewriter: dropConstraintRewriter(constraint),
    caughtBy: ['schema']
  }
}

function planSequenceReset(catalog: SabotageCatalog): SabotagePlan | undefined {
  // A used sequence only: one never called already sits where a reset would put it.
  const sequence = catalog.sequences
    .filter(candidate => candidate.lastValue !== null)
    .sort((a, b) => Number(b.ownerRows > 0) - Number(a.ownerRows > 0) || byName(a, b))[0]
  if (!sequence) return undefined
  return {
    operator: 'sequence-reset',
    target: `sequence ${displayName(sequence)}`,
    targetObject: { kind: 'sequence', schema: sequence.schema, name: sequence.name },
    rewriter: sequenceResetRewriter(sequence),
    caughtBy: ['sequences', 'schema']
  }
}

// ---------------------------------------------------------------------------------------------
// Rogue row

type FreshKind = 'integer' | 'text' | 'uuid'

export interface RogueRowTarget {
  schema: string
  name: string
  /** Columns given new values so the copied row is new yet unique: keys, or one plain column. */
  freshColumns: { name: string; kind: FreshKind; maxLength?: number }[]
}

const INTEGER_TYPES = new Set(['int2', 'int4', 'int8', 'numeric'])
const ROGUE_TEXT_TYPES = new Set(['text', 'varchar'])
const ROGUE_TEXT_LENGTH = 20

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
      displayName(a.target).localeCompare(displayName(b.target))
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

/**
 * Injects one rogue row at the end of the target table's COPY block: a copy of the block's first
 * row with fresh values in `freshColumns` (integers one past the block's maximum, so they are
 * unused; text and uuids random).
 */
export function rogueRowRewriter(target: RogueRowTarget): DumpRewriter {
  let columnIndexes: number[] = []
  let template: string[] | undefined
  let maxima: bigint[] = []
  let evidence: string | undefined
  return blockRewriter(target, {
    start(columns) {
      columnIndexes = target.freshColumns.map(column => columns.indexOf(column.name))
      maxima = target.freshColumns.map(() => 0n)
      return columnIndexes.every(index => index >= 0)
    },
    row(line) {
      const fields = line.split('\t')
      template ??= fields
      target.freshColumns.forEach((column, i) => {
        const value = fields[columnIndexes[i]]
        if (column.kind === 'integer' && /^-?\d+$/.test(value) && BigInt(value) > maxima[i]) maxima[i] = BigInt(value)
      })
      return [line]
    },
    end() {
      if (!template) return []
      const rogue = [...template]
      const shown: string[] = []
      target.freshColumns.forEach((column, i) => {
        const value = freshValue(column, maxima[i])
        rogue[columnIndexes[i]] = value
        shown.push(value)
      })
      evidence = `(${target.freshColumns.map(column => column.name).join(', ')})=(${shown.join(', ')})`
      return [rogue.join('\t')]
    },
    evidence: () => evidence
  })
}

function freshValue(column: RogueRowTarget['freshColumns'][number], maximum: bigint): string {
  switch (column.kind) {
    case 'integer':
      return (maximum + 1n).toString()
    case 'uuid':
      return randomUUID()
    case 'text':
      return `rogue-${randomBytes(8).toString('hex')}`.slice(0, Math.min(column.maxLength ?? ROGUE_TEXT_LENGTH, ROGUE_TEXT_LENGTH))
  }
}

// ---------------------------------------------------------------------------------------------
// Row data operators

/** How one operator edits the rows of its table's COPY block. */
interface BlockEdit {
  /** The block starts with these columns; false leaves it alone. */
  start(columns: string[]): boolean
  /** The lines to write for data row number `index` (from 1). */
  row(line: string, index: number): string[]
  /** The lines to write before the block's end marker. */
  end(): string[]
  evidence(): string | undefined
}

/** Runs `edit` over the first COPY block of `table`, leaving every other line alone. */
function blockRewriter(table: { schema: string; name: string }, edit: BlockEdit): DumpRewriter {
  const isSql = sqlLineTracker()
  let state: 'before' | 'inside' | 'after' = 'before'
  let index = 0
  return {
    push(line) {
      if (state === 'inside') {
        isSql(line)
        if (line !== '\\.') return edit.row(line, ++index)
        state = 'after'
        return [...edit.end(), line]
      }
      if (isSql(line) && state === 'before') {
        const header = parseCopyHeader(line)
        if (header && header.schema === table.schema && header.name === table.name) {
          state = edit.start(header.columns) ? 'inside' : 'after'
        }
      }
      return [line]
    },
    result() {
      const evidence = edit.evidence()
      return evidence === undefined ? undefined : { evidence }
    }
  }
}

/** Names a row for the evidence: by its primary key when the block carries it, else by position. */
function rowNamer(keyColumns: string[] | undefined): {
  start(columns: string[]): void
  name(fields: string[], index: number): string
} {
  let keyIndexes: number[] | undefined
  return {
    start(columns) {
      const indexes = keyColumns?.map(column => columns.indexOf(column))
      keyIndexes = indexes && indexes.every(i => i >= 0) ? indexes : undefined
    },
    name(fields, index) {
      if (!keyIndexes || !keyColumns) return `row ${index} of the data`
      return `row (${keyColumns.join(', ')})=(${keyIndexes.map(i => displayCopyValue(fields[i])).join(', ')})`
    }
  }
}

/** Removes the first row of the table's data. */
export function dropRowRewriter(table: { schema: string; name: string }, keyColumns?: string[]): DumpRewriter {
  const rows = rowNamer(keyColumns)
  let evidence: string | undefined
  return blockRewriter(table, {
    start(columns) {
      rows.start(columns)
      return true
    },
    row(line, index) {
      if (evidence !== undefined) return [line]
      evidence = `${rows.name(line.split('\t'), index)} removed`
      return []
    },
    end: () => [],
    evidence: () => evidence
  })
}

/**
 * Changes one character of the first value it can in `columns` (tried in order, row by row):
 * a letter or digit of text, the last digit of a number, never inside a backslash escape.
 */
export function mutateCellRewriter(
  table: { schema: string; name: string },
  columns: { name: string; digitsOnly: boolean }[],
  keyColumns?: string[]
): DumpRewriter {
  const rows = rowNamer(keyColumns)
  let indexes: number[] = []
  let evidence: string | undefined
  return blockRewriter(table, {
    start(header) {
      rows.start(header)
      indexes = columns.map(column => header.indexOf(column.name))
      return indexes.some(i => i >= 0)
    },
    row(line, index) {
      if (evidence !== undefined) return [line]
      const fields = line.split('\t')
      for (const [i, column] of columns.entries()) {
        if (indexes[i] < 0) continue
        const mutated = column.digitsOnly ? mutateLastDigit(fields[indexes[i]]) : mutateFirstCharacter(fields[indexes[i]])
        if (mutated === undefined) continue
        fields[indexes[i]] = mutated
        evidence = `one character of column ${column.name} changed in ${rows.name(fields, index)}`
        return [fields.join('\t')]
      }
      return [line]
    },
    end: () => [],
    evidence: () => evidence
  })
}

/**
 * Exchanges one column's values between the first row and the first later row where that column
 * differs, trying `columns` in order. The rows must also differ elsewhere: two rows that differ
 * in that column alone would come out as the same two rows.
 */
export function swapValuesRewriter(table: { schema: string; name: string }, columns: string[], keyColumns?: string[]): DumpRewriter {
  const rows = rowNamer(keyColumns)
  let indexes: number[] = []
  let first: { fields: string[]; index: number } | undefined
  let evidence: string | undefined
  return blockRewriter(table, {
    start(header) {
      rows.start(header)
      indexes = columns.map(column => header.indexOf(column))
      return indexes.some(i => i >= 0)
    },
    row(line, index) {
      if (evidence !== undefined) return [line]
      const fields = line.split('\t')
      // The first row waits, unwritten, for its partner; rows order does not matter to a table.
      if (!first) {
        first = { fields, index }
        return []
      }
      const held = first.fields
      for (const [i, column] of columns.entries()) {
        const at = indexes[i]
        if (at < 0 || fields[at] === held[at]) continue
        if (fields.every((value, j) => j === at || value === held[j])) continue
        evidence = `column ${column} exchanged between ${rows.name(held, first.index)} and ${rows.name(fields, index)}`
        ;[held[at], fields[at]] = [fields[at], held[at]]
        return [held.join('\t'), fields.join('\t')]
      }
      return [line]
    },
    end: () => (evidence === undefined && first ? [first.fields.join('\t')] : []),
    evidence: () => evidence
  })
}

/** Writes the first row of the table's data twice. */
export function duplicateRowRewriter(table: { schema: string; name: string }): DumpRewriter {
  let evidence: string | undefined
  return blockRewriter(table, {
    start: () => true,
    row(line, index) {
      if (evidence !== undefined) return [line]
      evidence = `row ${index} of the data written twice`
      return [line, line]
    },
    end: () => [],
    evidence: () => evidence
  })
}

/** Turns the first NULL (`\N`) it finds in `columns` (tried in order, row by row) into ''. */
export function nullToEmptyRewriter(table: { schema: string; name: string }, columns: string[], keyColumns?: string[]): DumpRewriter {
  const rows = rowNamer(keyColumns)
  let indexes: number[] = []
  let evidence: string | undefined
  return blockRewriter(table, {
    start(header) {
      rows.start(header)
      indexes = columns.map(column => header.indexOf(column))
      return indexes.some(i => i >= 0)
    },
    row(line, index) {
      if (evidence !== undefined) return [line]
      const fields = line.split('\t')
      const i = indexes.findIndex(at => at >= 0 && fields[at] === '\\N')
      if (i < 0) return [line]
      fields[indexes[i]] = ''
      evidence = `NULL in column ${columns[i]} turned into '' in ${rows.name(fields, index)}`
      return [fields.join('\t')]
    },
    end: () => [],
    evidence: () => evidence
  })
}

/**
 * Cuts the dump after `keepRows` rows of the table's data, as an interrupted upload would: that
 * row is the last line written, and everything after it, including the block's end, is lost.
 */
export function truncateRewriter(table: { schema: string; name: string }, keepRows: number): DumpRewriter {
  const isSql = sqlLineTracker()
  let state: 'before' | 'inside' | 'cut' = 'before'
  let kept = 0
  let lineNumber = 0
  let cutAt = 0
  let lost = 0
  return {
    push(line) {
      lineNumber++
      if (state === 'cut') {
        lost++
        return []
      }
      if (state === 'inside') {
        if (kept < keepRows && line !== '\\.') {
          kept++
          return [line]
        }
        state = 'cut'
        cutAt = lineNumber
        lost++
        return []
      }
      if (isSql(line)) {
        const header = parseCopyHeader(line)
        if (header && header.schema === table.schema && header.name === table.name) state = 'inside'
      }
      return [line]
    },
    result() {
      if (state !== 'cut') return undefined
      return { evidence: `dump cut after ${kept} row(s) of ${displayName(table)}'s data, at line ${cutAt}: ${lost} line(s) lost` }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Schema operators

/** Removes the `CREATE [UNIQUE] INDEX name ON [ONLY] schema.table ...;` statement of one index. */
export function dropIndexRewriter(index: { schema: string; table: string; name: string }): DumpRewriter {
  const isSql = sqlLineTracker()
  let lineNumber = 0
  let removing = false
  let evidence: string | undefined
  return {
    push(line) {
      lineNumber++
      if (removing) {
        removing = !line.endsWith(';')
        return []
      }
      if (evidence !== undefined || !isSql(line)) return [line]
      const parsed = parseCreateIndex(line)
      if (!parsed || parsed.name !== index.name || parsed.schema !== index.schema || parsed.table !== index.table) return [line]
      evidence = `CREATE INDEX ${quoteIdentifier(index.name)} removed from the dump (line ${lineNumber})`
      removing = !line.endsWith(';')
      return []
    },
    result: () => (evidence === undefined ? undefined : { evidence })
  }
}

/**
 * Removes one `ALTER TABLE [ONLY] schema.table` + `    ADD CONSTRAINT name ...;` statement,
 * which pg_dump writes on two lines (more when the definition holds a line break).
 */
export function dropConstraintRewriter(constraint: {
  schema: string
  table: string
  name: string
  type?: ConstraintInfo['type']
}): DumpRewriter {
  const isSql = sqlLineTracker()
  let lineNumber = 0
  let held: string | undefined
  let removing = false
  let evidence: string | undefined
  const kind = constraint.type ? ` (${CONSTRAINT_KINDS[constraint.type]})` : ''

  const consider = (line: string): string[] => {
    if (evidence !== undefined || !isSql(line)) return [line]
    const table = parseAlterTable(line)
    if (table && table.schema === constraint.schema && table.name === constraint.table) {
      held = line
      return []
    }
    return [line]
  }

  return {
    push(line) {
      lineNumber++
      if (removing) {
        removing = !line.endsWith(';')
        return []
      }
      if (held === undefined) return consider(line)
      const alter = held
      held = undefined
      if (parseAddConstraintName(line) === constraint.name) {
        isSql(line)
        const lines = `lines ${lineNumber - 1}-${lineNumber}`
        evidence = `ADD CONSTRAINT ${quoteIdentifier(constraint.name)}${kind} removed from the dump (${lines})`
        removing = !line.endsWith(';')
        return []
      }
      return [alter, ...consider(line)]
    },
    result: () => (evidence === undefined ? undefined : { evidence })
  }
}

/** Sets one sequence back to its start, as if never used: `setval('seq', start, false)`. */
export function sequenceResetRewriter(sequence: { schema: string; name: string; startValue: string }): DumpRewriter {
  const isSql = sqlLineTracker()
  let evidence: string | undefined
  return {
    push(line) {
      if (evidence !== undefined || !isSql(line)) return [line]
      const setval = parseSetval(line)
      if (!setval || setval.schema !== sequence.schema || setval.name !== sequence.name) return [line]
      evidence =
        `setval of ${displayName(sequence)} changed from ${setval.value}${setval.called ? '' : ' (not called)'} ` +
        `to ${sequence.startValue} (not called)`
      return [`SELECT pg_catalog.setval('${setval.literal}', ${sequence.startValue}, false);`]
    },
    result: () => (evidence === undefined ? undefined : { evidence })
  }
}

// ---------------------------------------------------------------------------------------------
// Reading dump lines

/**
 * Follows a plain dump's COPY blocks: the returned function tells, line by line in order, whether
 * a line is SQL (true) or row data (false), so that data is never mistaken for a statement.
 */
function sqlLineTracker(): (line: string) => boolean {
  let inData = false
  return line => {
    if (inData) {
      if (line === '\\.') inData = false
      return false
    }
    if (line.startsWith('COPY ') && line.endsWith(' FROM stdin;')) inData = true
    return true
  }
}

/** Parses `COPY schema.table (col, "Col") FROM stdin;` into unquoted names. */
export function parseCopyHeader(line: string): { schema: string; name: string; columns: string[] } | undefined {
  if (!line.startsWith('COPY ') || !line.endsWith(' FROM stdin;')) return undefined
  const tokens = tokenizeIdentifiers(line.slice(5, -' FROM stdin;'.length))
  if (!tokens) return undefined
  // schema . name [ ( col , col ... ) ]
  if (tokens.length < 3 || tokens[1] !== '.') return undefined
  const columns: string[] = []
  if (tokens.length > 3) {
    if (tokens[3] !== '(' || tokens[tokens.length - 1] !== ')') return undefined
    for (const token of tokens.slice(4, -1)) if (token !== ',') columns.push(unquote(token))
  }
  return { schema: unquote(tokens[0]), name: unquote(tokens[2]), columns }
}

function tokenizeIdentifiers(text: string): string[] | undefined {
  const tokens: string[] = []
  let i = 0
  while (i < text.length) {
    const char = text[i]
    if (char === ' ') {
      i++
    } else if (char === '"') {
      const end = quotedEnd(text, i)
      if (end === undefined) return undefined
      tokens.push(text.slice(i, end))
      i = end
    } else if ('.,()'.includes(char)) {
      tokens.push(char)
      i++
    } else {
      let j = i
      while (j < text.length && !' .,()"'.includes(text[j])) j++
      tokens.push(text.slice(i, j))
      i = j
    }
  }
  return tokens
}

/** The index just past the closing quote of the quoted identifier starting at `start`. */
function quotedEnd(text: string, start: number): number | undefined {
  let j = start + 1
  while (j < text.length) {
    if (text[j] === '"' && text[j + 1] === '"') j += 2
    else if (text[j] === '"') return j + 1
    else j++
  }
  return undefined
}

function unquote(token: string): string {
  return token.startsWith('"') ? token.slice(1, -1).replace(/""/g, '"') : token
}

/** Reads one identifier (quoted or bare) at `start`: its unquoted value and where it ends. */
function readIdentifier(text: string, start: number): { value: string; end: number } | undefined {
  if (text[start] === '"') {
    const end = quotedEnd(text, start)
    return end === undefined ? undefined : { value: unquote(text.slice(start, end)), end }
  }
  let end = start
  while (end < text.length && !' .,()";'.includes(text[end])) end++
  return end > start ? { value: text.slice(start, end), end } : undefined
}

/** Reads `schema.name` at `start`. */
function readQualifiedName(text: string, start: number): { schema: string; name: string; end: number } | undefined {
  const schema = readIdentifier(text, start)
  if (!schema || text[schema.end] !== '.') return undefined
  const name = readIdentifier(text, schema.end + 1)
  return name ? { schema: schema.value, name: name.value, end: name.end } : undefined
}

/** Parses `CREATE [UNIQUE] INDEX name ON [ONLY] schema.table ...`: the index lives in the table's schema. */
export function parseCreateIndex(line: string): { schema: string; table: string; name: string } | undefined {
  const prefix = /^CREATE (?:UNIQUE )?INDEX /.exec(line)
  if (!prefix) return undefined
  const name = readIdentifier(line, prefix[0].length)
  if (!name || !line.startsWith(' ON ', name.end)) return undefined
  let at = name.end + ' ON '.length
  if (line.startsWith('ONLY ', at)) at += 'ONLY '.length
  const table = readQualifiedName(line, at)
  if (!table || line[table.end] !== ' ') return undefined
  return { schema: table.schema, table: table.name, name: name.value }
}

/** Parses a line holding only `ALTER TABLE [ONLY] schema.table`, as pg_dump opens ADD CONSTRAINT. */
function parseAlterTable(line: string): { schema: string; name: string } | undefined {
  if (!line.startsWith('ALTER TABLE ')) return undefined
  let at = 'ALTER TABLE '.length
  if (line.startsWith('ONLY ', at)) at += 'ONLY '.length
  const table = readQualifiedName(line, at)
  return table && table.end === line.length ? { schema: table.schema, name: table.name } : undefined
}

function parseAddConstraintName(line: string): string | undefined {
  const prefix = '    ADD CONSTRAINT '
  if (!line.startsWith(prefix)) return undefined
  const name = readIdentifier(line, prefix.length)
  return name && line[name.end] === ' ' ? name.value : undefined
}

/** Parses `SELECT pg_catalog.setval('schema.name', N, true|false);` as pg_dump writes it. */
export function parseSetval(
  line: string
): { schema: string; name: string; literal: string; value: string; called: boolean } | undefined {
  const match = /^SELECT pg_catalog\.setval\('((?:[^']|'')*)', (-?\d+), (true|false)\);$/.exec(line)
  if (!match) return undefined
  const name = match[1].replace(/''/g, "'")
  const qualified = readQualifiedName(name, 0)
  if (!qualified || qualified.end !== name.length) return undefined
  return { schema: qualified.schema, name: qualified.name, literal: match[1], value: match[2], called: match[3] === 'true' }
}

/** How many characters the COPY text escape starting with the backslash at `at` takes. */
function escapeLength(field: string, at: number): number {
  const next = field[at + 1]
  if (next !== undefined && next >= '0' && next <= '7') {
    let end = at + 1
    while (end < field.length && end < at + 4 && field[end] >= '0' && field[end] <= '7') end++
    return end - at
  }
  if (next === 'x' && /[0-9a-fA-F]/.test(field[at + 2] ?? '')) return /[0-9a-fA-F]/.test(field[at + 3] ?? '') ? 4 : 3
  return next === undefined ? 1 : 2
}

/** Another letter of the same case or another digit: `z` becomes `y`, any other moves one up. */
function replacementFor(char: string): string | undefined {
  if (/[a-yA-Y0-8]/.test(char)) return String.fromCharCode(char.charCodeAt(0) + 1)
  if (/[zZ9]/.test(char)) return String.fromCharCode(char.charCodeAt(0) - 1)
  return undefined
}

/** One plain letter or digit of a COPY text field changed, outside escapes; undefined when it has none. */
export function mutateFirstCharacter(field: string): string | undefined {
  if (field === '\\N') return undefined
  for (let i = 0; i < field.length; i++) {
    if (field[i] === '\\') {
      i += escapeLength(field, i) - 1
      continue
    }
    const replacement = replacementFor(field[i])
    if (replacement !== undefined) return field.slice(0, i) + replacement + field.slice(i + 1)
  }
  return undefined
}

/**
 * A number's last digit changed, so precision and scale hold. Digits 0-4 go up and 5-9 go down:
 * the limits of int2, int4 and int8 end in 7 (8 when negative), so the value never overflows.
 */
export function mutateLastDigit(field: string): string | undefined {
  if (!/^-?\d+(\.\d+)?$/.test(field)) return undefined
  const at = field.length - 1
  const digit = Number(field[at])
  return field.slice(0, at) + String(digit <= 4 ? digit + 1 : digit - 1)
}

/** A COPY text field as a reader expects it: escapes decoded, NULL spelled out, UTF-8 shown as such. */
function displayCopyValue(field: string): string {
  if (field === '\\N') return 'NULL'
  let decoded = ''
  for (let i = 0; i < field.length; i++) {
    if (field[i] !== '\\') {
      decoded += field[i]
      continue
    }
    const length = escapeLength(field, i)
    const escape = field.slice(i + 1, i + length)
    const simple: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' }
    if (/^[0-7]+$/.test(escape)) decoded += String.fromCharCode(parseInt(escape, 8) & 0xff)
    else if (escape.startsWith('x') && escape.length > 1) decoded += String.fromCharCode(parseInt(escape.slice(1), 16))
    else decoded += simple[escape] ?? escape
    i += length - 1
  }
  // Lines are latin1-decoded bytes; a UTF-8 dump's key reads right once re-decoded.
  const bytes = Buffer.from(decoded, 'latin1')
  const text = bytes.toString('utf8')
  return Buffer.from(text, 'utf8').equals(bytes) ? text : decoded
}

function quoteIdentifier(identifier: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(identifier) ? identifier : `"${identifier.replace(/"/g, '""')}"`
}
