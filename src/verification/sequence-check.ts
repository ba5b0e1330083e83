import { notInExtensionSql, quoteLiteral, userNamespaceSql } from '../engines/postgres/fingerprint-queries.js'
import type { Queryable } from '../engines/postgres/queryable.js'
import { withPinnedCatalogSettings } from '../engines/postgres/schema-fingerprint.js'
import { compareText } from '../util/text-order.js'

/**
 * Sequence values cannot be compared like rows. Sequences are not transactional: pg_dump reads
 * each one's current value while it runs, not as of its snapshot, and production keeps
 * advancing them under live writes. So production is read just before and just after the dump,
 * and a restored sequence is right when it stands somewhere in between. Independently, a
 * restored sequence must not be behind the data in its own column, or the first insert after a
 * restore fails on a duplicate key.
 */

/** Where one sequence stands. Numbers are bigint, kept as strings. */
export interface SequenceValue {
  /** `schema.sequence`, quoted as PostgreSQL quotes identifiers (as in schema-fingerprint.ts). */
  name: string
  lastValue: string
  /** False until the first nextval after creation or `setval(..., false)`: the next value is lastValue itself. */
  isCalled: boolean
  /** Negative for a descending sequence. */
  increment: string
}

/** A restored sequence whose next value its owning column already holds. */
export interface SequenceBehindData {
  name: string
  /** `schema.table.column` that owns the sequence (OWNED BY, serial or identity). */
  column: string
  /** What nextval would return. */
  nextValue: string
  /** The column's largest value; its smallest for a descending sequence. */
  maxInColumn: string
}

export interface SequenceDifference {
  kind: 'sequence'
  name: string
  production: string | null
  restored: string | null
}

/** A user sequence (`c` pg_class, `n` its pg_namespace) outside extensions, whose values pg_dump does not dump. */
const USER_SEQUENCE = `c.relkind = 'S' AND ${userNamespaceSql('n')} AND ${notInExtensionSql('pg_catalog.pg_class', 'c.oid')}`

const LIST_SEQUENCES_SQL = `
SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) AS name,
       pg_catalog.format('%I.%I', n.nspname, c.relname) AS ref, s.seqincrement::text AS increment
FROM pg_catalog.pg_sequence s
JOIN pg_catalog.pg_class c ON c.oid = s.seqrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE ${USER_SEQUENCE}
ORDER BY 1`

/**
 * Sequences owned by an integer column of a table (OWNED BY, which serial sets up, deptype
 * `a`; identity columns, deptype `i`), with what it takes to find the column's extreme value.
 * The column is read without ONLY: partitions and inheritance children draw from the same sequence.
 */
const OWNED_SEQUENCES_SQL = `
SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) AS name,
       pg_catalog.format('%I.%I', n.nspname, c.relname) AS ref, s.seqincrement::text AS increment,
       pg_catalog.quote_ident(tn.nspname) || '.' || pg_catalog.quote_ident(t.relname)
         || '.' || pg_catalog.quote_ident(a.attname) AS "column",
       pg_catalog.format('%I.%I', tn.nspname, t.relname) AS "tableRef", pg_catalog.format('%I', a.attname) AS "columnRef"
FROM pg_catalog.pg_sequence s
JOIN pg_catalog.pg_class c ON c.oid = s.seqrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid
  AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjsubid > 0 AND d.deptype IN ('a', 'i')
JOIN pg_catalog.pg_class t ON t.oid = d.refobjid
JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
JOIN pg_catalog.pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
JOIN pg_catalog.pg_type ty ON ty.oid = a.atttypid
WHERE ${USER_SEQUENCE} AND t.relkind IN ('r', 'p')
  AND (CASE WHEN ty.typtype = 'd' THEN ty.typbasetype ELSE ty.oid END)
      IN ('pg_catalog.int2'::pg_catalog.regtype, 'pg_catalog.int4'::pg_catalog.regtype,
          'pg_catalog.int8'::pg_catalog.regtype, 'pg_catalog.numeric'::pg_catalog.regtype)
ORDER BY 1`

/** Sequences per statement: one UNION ALL reads a batch in one round trip. */
const BATCH = 200

/**
 * Where every user sequence stands now, sorted by name. Sequence values live outside MVCC: read
 * inside a snapshot transaction they are still today's values, which is why production is read
 * before and after the dump rather than in its snapshot. Needs SELECT on every sequence, as
 * pg_dump does.
 */
export async function readSequenceValues(db: Queryable): Promise<SequenceValue[]> {
  return withPinnedCatalogSettings(db, async () => {
    const sequences = await db.query<{ name: string; ref: string; increment: string }>(LIST_SEQUENCES_SQL)
    const values: SequenceValue[] = []
    for (let start = 0; start < sequences.length; start += BATCH) {
      const batch = sequences.slice(start, start + BATCH)
      const sql = batch
        .map(
          (sequence, index) => `SELECT ${index} AS index, last_value::text AS "lastValue", is_called AS "isCalled"
                                   FROM ${sequence.ref}`
        )
        .join('\nUNION ALL\n')
      for (const row of await db.query<{ index: number; lastValue: string; isCalled: boolean }>(sql)) {
        const { name, increment } = batch[row.index]
        values.push({ name, lastValue: row.lastValue, isCalled: row.isCalled, increment })
      }
    }
    return values.sort((a, b) => compareText(a.name, b.name))
  })
}

/**
 * Restored sequences whose owning column already holds a value at or past the sequence's next
 * value (the first insert after a restore would fail), sorted by name. Sequences whose table is
 * empty are skipped, as are owning columns that are not integers.
 */
export async function findSequencesBehindData(db: Queryable): Promise<SequenceBehindData[]> {
  return withPinnedCatalogSettings(db, async () => {
    const owned = await db.query<{
      name: string
      ref: string
      increment: string
      column: string
      tableRef: string
      columnRef: string
    }>(OWNED_SEQUENCES_SQL)
    const behind: SequenceBehindData[] = []
    for (let start = 0; start < owned.length; start += BATCH) {
      const batch = owned.slice(start, start + BATCH)
      const sql = batch
        .map((sequence, index) => {
          const ascending = !sequence.increment.startsWith('-')
          const extreme = `(SELECT ${ascending ? 'max' : 'min'}(t.${sequence.columnRef})::numeric FROM ${sequence.tableRef} AS t)`
          return `SELECT ${index} AS index, next::text AS "nextValue", extreme::text AS "maxInColumn",
  extreme ${ascending ? '>=' : '<='} next AS behind
FROM (SELECT CASE WHEN s.is_called THEN s.last_value::numeric + ${quoteLiteral(sequence.increment)}::numeric
                  ELSE s.last_value::numeric END AS next,
             ${extreme} AS extreme
      FROM ${sequence.ref} AS s) AS q`
        })
        .join('\nUNION ALL\n')
      for (const row of await db.query<{ index: number; nextValue: string; maxInColumn: string | null; behind: boolean | null }>(
        sql
      )) {
        // An empty table has no extreme, so nothing to collide with.
        if (row.maxInColumn === null || !row.behind) continue
        const { name, column } = batch[row.index]
        behind.push({ name, column, nextValue: row.nextValue, maxInColumn: row.maxInColumn })
      }
    }
    return behind.sort((a, b) => compareText(a.name, b.name))
  })
}

/**
 * Compares restored sequences with production's, one difference per sequence at most, sorted by
 * name. `before` and `after` are production's values read just before and just after pg_dump
 * ran. A restored sequence is right when it stands within that window: pg_dump read it at some
 * moment in between. Where production moved backwards during the dump (a cycle or a setval
 * reset), anything at or past `before` or at or before `after` is accepted.
 *
 * A sequence in production throughout the dump must be restored; one that appeared or went
 * during the dump need not be. One in the restored copy only is a difference. `behind` (from
 * findSequencesBehindData on the restored copy) is always a difference, unless
 * `productionBehind` shows production was behind its data the same way: then the copy is faithful.
 */
export function compareSequences(
  before: SequenceValue[],
  after: SequenceValue[],
  restored: SequenceValue[],
  behind: SequenceBehindData[],
  productionBehind: SequenceBehindData[] = []
): SequenceDifference[] {
  const beforeByName = byName(before)
  const afterByName = byName(after)
  const restoredByName = byName(restored)
  const behindByName = byName(behind)
  const excused = new Set(productionBehind.map(sequence => sequence.name))
  const names = [...new Set([...beforeByName.keys(), ...afterByName.keys(), ...restoredByName.keys(), ...behindByName.keys()])]

  const differences: SequenceDifference[] = []
  for (const name of names.sort(compareText)) {
    const first = beforeByName.get(name)
    const last = afterByName.get(name)
    const copy = restoredByName.get(name)
    const lagging = excused.has(name) ? undefined : behindByName.get(name)
    const production = describeWindow(first, last)
    let wrong: boolean
    if (!copy) wrong = first !== undefined && last !== undefined
    else if (!first && !last) wrong = true
    else wrong = !withinWindow(copy, first, last)
    if (lagging) wrong = true
    if (!wrong) continue
    let restoredText = copy ? describeValue(copy) : null
    if (lagging) {
      const { nextValue, column, maxInColumn } = lagging
      restoredText = `${restoredText ?? 'sequence'}: next value ${nextValue}, but ${column} already holds ${maxInColumn}`
    }
    differences.push({ kind: 'sequence', name, production, restored: restoredText })
  }
  return differences
}

/** "last_value 120 (called)". */
export function describeValue(value: SequenceValue): string {
  return `last_value ${value.lastValue} (${value.isCalled ? 'called' : 'not called'})`
}

function describeWindow(first: SequenceValue | undefined, last: SequenceValue | undefined): string | null {
  if (first && last) {
    if (position(first, first) === position(last, first)) return describeValue(first)
    return `${describeValue(first)} before the dump, ${describeValue(last)} after`
  }
  if (first) return `${describeValue(first)} before the dump, gone after`
  if (last) return `created during the dump, ${describeValue(last)} after`
  return null
}

function withinWindow(copy: SequenceValue, first: SequenceValue | undefined, last: SequenceValue | undefined): boolean {
  const direction = (first ?? last ?? copy) as SequenceValue
  const at = position(copy, direction)
  const low = first ? position(first, direction) : undefined
  const high = last ? position(last, direction) : undefined
  if (low === undefined) return at <= (high as bigint)
  if (high === undefined) return at >= low
  if (low <= high) return at >= low && at <= high
  return at >= low || at <= high
}

/**
 * A sequence's states in the order nextval walks through them: for an ascending sequence,
 * "5 not called" (next is 5) comes just before "5 called" (next is 5 + increment), and both
 * after "4 called". Descending sequences walk the other way. Mapped to one bigint as
 * 2 × value (negated when descending) + called; `direction` supplies the increment's sign.
 */
function position(value: SequenceValue, direction: SequenceValue): bigint {
  const signed = direction.increment.startsWith('-') ? -BigInt(value.lastValue) : BigInt(value.lastValue)
  return 2n * signed + (value.isCalled ? 1n : 0n)
}

function byName<T extends { name: string }>(items: T[]): Map<string, T> {
  return new Map(items.map(item => [item.name, item]))
}
